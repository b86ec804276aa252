/** The Analytics Engine part (../parts.ts). */
import { AnalyticsEngineDataset } from '../bindings/analytics.ts';
import { registerPart } from '../parts.ts';

registerPart('analytics', { AnalyticsEngineDataset });
