export { ASSET_LIMITS, type AssetFile, AssetsError, readManifest, readRuleFile } from './manifest.ts';
export { parseHeaders, parseRedirects, RULE_LIMITS } from './rules.ts';
export { type AssetRequest, type AssetResponse, AssetServer } from './server.ts';
