/** Service bindings in wrangler config, validated naming the key. */
import { ConfigError } from '../errors.ts';
import type { ServiceBinding } from '../types.ts';
import { BINDING_NAME } from './name.ts';

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
