export * from './cron/index.ts';
export { CronScheduler, type SchedulerClock, type SchedulerOptions } from './scheduler.ts';
