/**
 * Workers Analytics Engine datasets in wrangler config, validated naming the key:
 *
 *   [[analytics_engine_datasets]]   binding, dataset?
 *
 * `dataset` is the table a query names in FROM; without one, the dataset is named after the
 * binding, as Cloudflare names it when a binding gives none. Keys wrangler does not know are
 * refused (its schema is strict); `remote` (write to the real dataset from local development)
 * is accepted and has no effect: Outpost's datasets are its own.
 */
import { ConfigError } from '../errors.ts';
import type { AnalyticsEngineBinding } from '../types.ts';
import { BINDING_NAME, isTable } from './name.ts';

/** What a dataset may be called (it is a table name in the SQL API). */
export const DATASET_NAME = /^[A-Za-z0-9_-]{1,128}$/;

const KEYS = new Set(['binding', 'dataset', 'remote']);

export function parseAnalyticsEngineDatasets(file: string, raw: unknown): AnalyticsEngineBinding[] {
  if (raw === undefined) return [];
  const key = 'analytics_engine_datasets';
  if (!Array.isArray(raw)) throw new ConfigError(file, key, 'an array of { binding, dataset }', raw);
  return raw.map((b, i) => {
    const at = `${key}[${i}]`;
    if (!isTable(b)) throw new ConfigError(file, at, 'a table { binding = "NAME", dataset = "name" }', b);
    for (const k of Object.keys(b))
      if (!KEYS.has(k))
        throw new ConfigError(
          file,
          `${at}.${k}`,
          'absent: a dataset binding takes binding and dataset',
          b[k],
        );
    if (typeof b.binding !== 'string' || !BINDING_NAME.test(b.binding))
      throw new ConfigError(file, `${at}.binding`, 'a JavaScript identifier', b.binding);
    const dataset = b.dataset ?? b.binding;
    if (typeof dataset !== 'string' || !DATASET_NAME.test(dataset))
      throw new ConfigError(
        file,
        `${at}.dataset`,
        `a dataset name of letters, digits, "_" and "-", at most 128${b.dataset === undefined ? ' (it defaults to the binding name)' : ''}`,
        dataset,
      );
    if (b.remote !== undefined && typeof b.remote !== 'boolean')
      throw new ConfigError(file, `${at}.remote`, 'true or false', b.remote);
    return { binding: b.binding, dataset };
  });
}
