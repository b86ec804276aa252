export { type AssetsConfig, HTML_HANDLING, NOT_FOUND_HANDLING } from './assets.ts';
export { BINDING_KEYS } from './bindings/index.ts';
export type { BuildOptions, ModuleRule, RuleType } from './build.ts';
export {
  type CachePolicyConfig,
  type CacheSettings,
  policiesForPath,
} from './cache-policies.ts';
export {
  EGRESS_CLASSES,
  type EgressClass,
  type EgressRule,
  ipBytes,
  parseEgressAllow,
  parseEgressRule,
} from './egress.ts';
export { ConfigError } from './errors.ts';
export { type ExperimentConfig, parseExperiments } from './experiments.ts';
export {
  type EarlyHintsConfig,
  type EsiConfig,
  parseEarlyHints,
  parseEsi,
} from './frontend.ts';
export {
  CONFIG_FILES,
  findConfigFile,
  type LoadOptions,
  loadConfig,
  parseConfigText,
  projectDirOf,
  validateConfig,
} from './load.ts';
export { isCasFailure, jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers, streamExists } from './nats.ts';
export {
  adminTokenFromEnv,
  loadProxyConfig,
  PROXY_CONFIG_FILES,
  type ProxyConfig,
  trustedProxyHeaderProblem,
  validateProxyConfig,
} from './proxy.ts';
export { DEFAULT_QUOTAS, resolveQuotas, type StorageQuotas } from './quotas.ts';
export {
  type HostPattern,
  hostInZone,
  parseRoutePattern,
  parseRoutes,
  type RouteConfig,
  type RoutePattern,
} from './routes.ts';
export {
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  type JwtKeySource,
  type JwtPolicyConfig,
  parseSecurity,
  type SecurityConfig,
} from './security.ts';
export {
  type AnalyticsEngineBinding,
  type BindingConfig,
  type BindingOf,
  type BindingType,
  bindingsOf,
  type D1DatabaseBinding,
  DEFAULT_CPU_MS,
  type DurableObjectBinding,
  type DurableObjectClass,
  type KvNamespaceBinding,
  type QueueConsumer,
  type QueueProducerBinding,
  type R2BucketBinding,
  type ServiceBinding,
  type VarValue,
  type WorkerConfig,
  type WorkerLimits,
} from './types.ts';
