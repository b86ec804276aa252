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
export { type ControlStoreOptions, NatsControlStore } from './nats-store.ts';
