export { type BatchOutcome, type ConsumerOptions, deliveredBatch, QueueConsumerLoop } from './consumer.ts';
export * from './cron/index.ts';
export * from './queues/index.ts';
export { CronScheduler, type SchedulerClock, type SchedulerOptions } from './scheduler.ts';
