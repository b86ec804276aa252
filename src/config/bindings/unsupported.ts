/**
 * Bindings wrangler documents that Outpost does not provide yet. Each still appears on `env`,
 * as an object whose every use throws an error naming the binding, its config key and what it
 * is (src/runtime/isolate/bindings/unsupported.ts), instead of `undefined` and a
 * "Cannot read properties of undefined" far from the cause.
 */
import { ConfigError } from '../errors.ts';
import type { UnsupportedBinding } from '../types.ts';
import { BINDING_NAME, isTable } from './name.ts';

type Shape =
  /** [{ binding }] (or `nameKey`) */
  | 'list'
  /** { binding } */
  | 'table'
  /** { NAME = "path" } (service-worker format) */
  | 'map';

interface Entry {
  key: string;
  what: string;
  shape: Shape;
  /** The field that holds the binding's name (default "binding"). */
  nameKey?: string;
}

export const UNSUPPORTED_BINDINGS: Entry[] = [
  { key: 'vectorize', what: 'a Vectorize index', shape: 'list' },
  { key: 'hyperdrive', what: 'a Hyperdrive configuration', shape: 'list' },
  { key: 'mtls_certificates', what: 'an mTLS certificate', shape: 'list' },
  { key: 'dispatch_namespaces', what: 'a Workers for Platforms dispatch namespace', shape: 'list' },
  { key: 'pipelines', what: 'a Pipeline', shape: 'list' },
  { key: 'secrets_store_secrets', what: 'a Secrets Store secret', shape: 'list' },
  { key: 'send_email', what: 'an Email sending binding', shape: 'list', nameKey: 'name' },
  { key: 'ai', what: 'the Workers AI binding', shape: 'table' },
  { key: 'browser', what: 'the Browser Rendering binding', shape: 'table' },
  { key: 'images', what: 'the Images binding', shape: 'table' },
  { key: 'version_metadata', what: 'the version metadata binding', shape: 'table' },
  { key: 'wasm_modules', what: 'a WebAssembly module binding (service-worker format)', shape: 'map' },
  { key: 'text_blobs', what: 'a text blob binding (service-worker format)', shape: 'map' },
  { key: 'data_blobs', what: 'a data blob binding (service-worker format)', shape: 'map' },
];

function named(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || !BINDING_NAME.test(v))
    throw new ConfigError(file, key, 'a JavaScript identifier', v);
  return v;
}

export function parseUnsupported(
  file: string,
  entry: Entry,
  raw: unknown,
): (UnsupportedBinding & { key: string })[] {
  if (raw === undefined) return [];
  const { key, what } = entry;
  const nameKey = entry.nameKey ?? 'binding';
  if (entry.shape === 'table') {
    if (!isTable(raw)) throw new ConfigError(file, key, `a table { ${nameKey} = "NAME" }`, raw);
    return [{ binding: named(file, `${key}.${nameKey}`, raw[nameKey]), key, what }];
  }
  if (entry.shape === 'map') {
    if (!isTable(raw)) throw new ConfigError(file, key, 'a table of NAME = "path"', raw);
    return Object.keys(raw).map((n) => ({
      binding: named(file, `${key}.${n}`, n),
      key: `${key}.${n}`,
      what,
    }));
  }
  if (!Array.isArray(raw)) throw new ConfigError(file, key, `an array of { ${nameKey} = "NAME", … }`, raw);
  return raw.map((b, i) => {
    if (!isTable(b)) throw new ConfigError(file, `${key}[${i}]`, `a table { ${nameKey} = "NAME", … }`, b);
    return { binding: named(file, `${key}[${i}].${nameKey}`, b[nameKey]), key: `${key}[${i}]`, what };
  });
}
