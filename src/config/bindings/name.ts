/** What a binding may be called: the name it has on `env`. */
export const BINDING_NAME = /^[A-Za-z_$][\w$]*$/;

/** A table (TOML) or object (JSON) of config, not an array or a value. */
export function isTable(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
