/**
 * wrangler's bundling keys (https://developers.cloudflare.com/workers/wrangler/bundling/,
 * https://developers.cloudflare.com/workers/wrangler/configuration/#bundling), read into plain
 * options for the bundler (src/runtime/bundle.ts):
 *
 *   [[rules]] type = "Text" | "Data" | "CompiledWasm" | "ESModule" | "CommonJS",
 *             globs = ["**\/*.md"], fallthrough = false
 *   alias = { "foo" = "./src/foo-shim.js" }     define = { "DEBUG" = "false" }
 *   minify, keep_names
 */
import { isTable } from './bindings/name.ts';
import { ConfigError } from './errors.ts';

export const RULE_TYPES = ['Text', 'Data', 'CompiledWasm', 'ESModule', 'CommonJS'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export interface ModuleRule {
  type: RuleType;
  globs: string[];
  fallthrough: boolean;
}

export interface BuildOptions {
  rules: ModuleRule[];
  /** Import specifier → replacement (a package or a path relative to the config's folder). */
  alias: Record<string, string>;
  /** Identifier → JavaScript expression, replaced at build time. */
  define: Record<string, string>;
  minify: boolean;
  keepNames: boolean;
}

function stringTable(file: string, key: string, v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isTable(v) || Object.values(v).some((x) => typeof x !== 'string'))
    throw new ConfigError(file, key, 'a table of name = "string"', v);
  return v as Record<string, string>;
}

function flag(file: string, key: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(file, key, 'true or false', v);
  return v;
}

export function parseBuildOptions(raw: Record<string, unknown>, file: string): BuildOptions {
  const rules = raw.rules ?? [];
  if (!Array.isArray(rules)) throw new ConfigError(file, 'rules', 'an array of { type, globs }', rules);
  return {
    rules: rules.map((r, i) => {
      const key = `rules[${i}]`;
      if (!isTable(r)) throw new ConfigError(file, key, 'a table { type = "Text", globs = ["**/*.md"] }', r);
      if (typeof r.type !== 'string' || !(RULE_TYPES as readonly string[]).includes(r.type))
        throw new ConfigError(file, `${key}.type`, `one of ${RULE_TYPES.join(', ')}`, r.type);
      if (
        !Array.isArray(r.globs) ||
        r.globs.length === 0 ||
        r.globs.some((g) => typeof g !== 'string' || g === '')
      )
        throw new ConfigError(file, `${key}.globs`, 'a non-empty array of glob patterns', r.globs);
      return {
        type: r.type as RuleType,
        globs: r.globs as string[],
        fallthrough: flag(file, `${key}.fallthrough`, r.fallthrough, false),
      };
    }),
    alias: stringTable(file, 'alias', raw.alias),
    define: stringTable(file, 'define', raw.define),
    minify: flag(file, 'minify', raw.minify, false),
    keepNames: flag(file, 'keep_names', raw.keep_names, true),
  };
}
