export {
  EGRESS_CLASSES,
  type EgressClass,
  type EgressRule,
  ipBytes,
  parseEgressAllow,
  parseEgressRule,
} from './egress.ts';
export { ConfigError } from './errors.ts';
export {
  CONFIG_FILES,
  findConfigFile,
  type LoadOptions,
  loadConfig,
  parseConfigText,
  validateConfig,
} from './load.ts';
export {
  adminTokenFromEnv,
  type CachePolicyConfig,
  loadProxyConfig,
  matchPolicy,
  PROXY_CONFIG_FILES,
  type ProxyConfig,
  trustedProxyHeaderProblem,
  validateProxyConfig,
} from './proxy.ts';
export { DEFAULT_QUOTAS, resolveQuotas, type StorageQuotas } from './quotas.ts';
export {
  DEFAULT_CPU_MS,
  type DurableObjectBinding,
  type DurableObjectClass,
  type KvNamespaceBinding,
  type ServiceBinding,
  type VarValue,
  type WorkerConfig,
  type WorkerLimits,
} from './types.ts';
