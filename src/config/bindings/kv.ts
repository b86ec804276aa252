import { ConfigError } from '../errors.ts';
import type { KvNamespaceBinding } from '../types.ts';
import { BINDING_NAME } from './name.ts';

/**
 * `kv_namespaces = [{ binding, id }]` (https://developers.cloudflare.com/kv/concepts/kv-bindings/).
 * Cloudflare requires an id; locally a binding without one gets a namespace of its worker's own,
 * `<worker name>:<binding>` (the runtime uses the tenant it deploys, the same in `outpost dev`).
 * It used to be the binding name alone, so every worker with a `STORE` binding and no id read and
 * wrote the same data. An id with ":" is refused: those are the ones made here, and naming one
 * would reach another worker's namespace; so is one with "/", which names another account's
 * (src/runtime/accounts.ts).
 */
export function parseKvNamespaces(file: string, raw: unknown, workerName: string): KvNamespaceBinding[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(file, 'kv_namespaces', 'an array of { binding, id }', raw);
  return raw.map((s, i) => {
    const key = `kv_namespaces[${i}]`;
    if (!s || typeof s !== 'object' || Array.isArray(s))
      throw new ConfigError(file, key, 'a table { binding = "NAME", id = "namespace id" }', s);
    const { binding, id, preview_id: previewId } = s as Record<string, unknown>;
    if (typeof binding !== 'string' || !BINDING_NAME.test(binding))
      throw new ConfigError(file, `${key}.binding`, 'a JavaScript identifier', binding);
    if (id !== undefined && (typeof id !== 'string' || id === '' || id.length > 256))
      throw new ConfigError(file, `${key}.id`, 'a namespace id (a non-empty string)', id);
    if (typeof id === 'string' && (id.includes(':') || id.includes('/')))
      throw new ConfigError(
        file,
        `${key}.id`,
        'a namespace id without ":" or "/" (Outpost names the namespace of a binding without an id "<worker>:<binding>", and one of another account "<account>/<id>")',
        id,
      );
    if (previewId !== undefined && (typeof previewId !== 'string' || previewId === ''))
      throw new ConfigError(file, `${key}.preview_id`, 'a namespace id (a non-empty string)', previewId);
    return id === undefined
      ? { binding, id: `${workerName}:${binding}`, own: true }
      : { binding, id: id as string };
  });
}
