export * from './cron/index.ts';
