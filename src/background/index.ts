export { type BatchOutcome, type ConsumerOptions, deliveredBatch, QueueConsumerLoop } from './consumer.ts';
export * from './cron/index.ts';
export { NatsCronClaims } from './cron-claims.ts';
export * from './queues/index.ts';
export { CronScheduler, type SchedulerClock, type SchedulerOptions } from './scheduler.ts';
export {
  backoffMs,
  type WorkflowDefinition,
  WorkflowEngine,
  type WorkflowEngineOptions,
  WorkflowError,
} from './workflows/engine.ts';
export { NatsWorkflows } from './workflows/network.ts';
export { type InstanceStatus, WorkflowStore } from './workflows/store.ts';
