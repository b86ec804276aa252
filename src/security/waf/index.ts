/**
 * The WAF rule engine: `[security.waf]` parsed (parseWafConfig), requests inspected (Waf) into
 * an allow/log/block verdict with an anomaly score and the rules that matched. Pure: nothing
 * here reaches the runtime or the PoP, which use it (docs/waf.md).
 */
export { MAX_INSPECT_BODY_BYTES, parseWafConfig, WAF_DEFAULTS, WafConfigError } from './config.ts';
export { MAX_LISTED_MATCHES, Waf, wafBlockHeaders } from './engine.ts';
export { MAX_VALUE_CHARS } from './normalize.ts';
export { BUILTIN_RULES, CATEGORIES as WAF_CATEGORIES } from './rules/index.ts';
export type {
  WafAction,
  WafConfig,
  WafCustomRule,
  WafExclusion,
  WafMatch,
  WafPart,
  WafRequest,
  WafVerdict,
} from './types.ts';
export { WAF_PARTS } from './types.ts';
