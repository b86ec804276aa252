/**
 * Config errors name the file, the key and what was expected, so a user can fix the
 * file without reading Outpost's source. `code` is stable for programs.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly key: string,
    readonly expected: string,
    readonly received?: unknown,
  ) {
    const got = received === undefined ? '' : `, received ${describe(received)}`;
    super(`${file}: "${key}" must be ${expected}${got}`);
    this.name = 'ConfigError';
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
