/** Bindings in wrangler config: service bindings and KV namespaces, validated naming the key. */
import { ConfigError } from './errors.ts';
import type { KvNamespaceBinding, ServiceBinding } from './types.ts';

export const BINDING_NAME = /^[A-Za-z_$][\w$]*$/;

/** `services = [{ binding, service, entrypoint? }]` (https://developers.cloudflare.com/workers/wrangler/configuration/#service-bindings). */
export function parseServices(file: string, raw: unknown): ServiceBinding[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(file, 'services', 'an array of { binding, service }', raw);
  return raw.map((s, i) => {
    const key = `services[${i}]`;
    if (!s || typeof s !== 'object' || Array.isArray(s))
      throw new ConfigError(file, key, 'a table { binding = "NAME", service = "worker-name" }', s);
    const { binding, service, entrypoint } = s as Record<string, unknown>;
    if (typeof binding !== 'string' || !BINDING_NAME.test(binding))
      throw new ConfigError(file, `${key}.binding`, 'a JavaScript identifier', binding);
    if (typeof service !== 'string' || service === '')
      throw new ConfigError(file, `${key}.service`, 'the name of a worker', service);
    if (entrypoint !== undefined && (typeof entrypoint !== 'string' || !BINDING_NAME.test(entrypoint)))
      throw new ConfigError(
        file,
        `${key}.entrypoint`,
        'the name of an exported WorkerEntrypoint class',
        entrypoint,
      );
    return { binding, service, entrypoint: entrypoint as string | undefined };
  });
}

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

/**
 * `[[unsafe.bindings]] name = "UNSAFE_EVAL", type = "unsafe_eval"`: workerd's and Miniflare's
 * binding for evaluating code from strings after startup (test harnesses). The only `unsafe`
 * binding type Outpost knows; others name themselves in the error.
 */
export function parseUnsafeBindings(file: string, raw: unknown): string[] {
  if (raw === undefined) return [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(file, 'unsafe', 'a table with bindings = [{ name, type = "unsafe_eval" }]', raw);
  const { bindings, ...rest } = raw as Record<string, unknown>;
  for (const key of Object.keys(rest))
    throw new ConfigError(
      file,
      `unsafe.${key}`,
      'nothing: only unsafe.bindings is supported by Outpost',
      rest[key],
    );
  if (bindings === undefined) return [];
  if (!Array.isArray(bindings))
    throw new ConfigError(file, 'unsafe.bindings', 'an array of { name, type = "unsafe_eval" }', bindings);
  return bindings.map((b, i) => {
    const key = `unsafe.bindings[${i}]`;
    const { name, type } = (b ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !BINDING_NAME.test(name))
      throw new ConfigError(file, `${key}.name`, 'a JavaScript identifier', name);
    if (type !== 'unsafe_eval')
      throw new ConfigError(
        file,
        `${key}.type`,
        '"unsafe_eval" (the only unsafe binding Outpost supports)',
        type,
      );
    return name;
  });
}
