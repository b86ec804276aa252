/**
 * Cloudflare Cron Triggers expressions: parse, match, next firing (UTC). The syntax is
 * Cloudflare's, https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions,
 * as its parser saffron (github.com/cloudflare/saffron) reads it; see syntax.ts for sources.
 */
export { type CronSchedule, nextFirings, parseCron, parseCronTriggers } from './schedule.ts';
export {
  CRON_DOCS_URL,
  CRON_FIELD_COUNT,
  CRON_TRIGGERS_PER_ACCOUNT,
  CronError,
  type FieldName,
} from './syntax.ts';
