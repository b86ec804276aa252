import { ConfigError } from '../errors.ts';
import { BINDING_NAME } from './name.ts';

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
