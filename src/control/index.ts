export { type AgentOptions, DeployAgent, type Served, type Switch } from './agent.ts';
export {
  ARTIFACT_FORMAT,
  type Artifact,
  ArtifactError,
  decodeArtifact,
  encodeArtifact,
  MAX_ARTIFACT_BYTES,
  makeArtifact,
  materialize,
} from './artifact.ts';
export {
  checkSplits,
  DeployError,
  type Deployment,
  type DeploymentStatus,
  deploymentId,
  pickSplit,
  type Split,
  servedAt,
  stickyRoll,
  type VersionInfo,
  WORKER_NAME,
} from './deployment.ts';
export { HealthBook, type VersionHealth } from './health.ts';
export { type ControlStoreOptions, NatsControlStore } from './nats-store.ts';
export { type RolloutOptions, rollout } from './rollout.ts';
export { deploymentsView, rollbackWorker, type WorkerDeployments } from './status.ts';
export { DEFAULT_WAVES, type GateOptions, judge, planWaves, type Verdict } from './waves.ts';
