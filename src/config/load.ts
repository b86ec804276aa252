import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { parseKvNamespaces, parseServices, parseUnsafeBindings } from './bindings.ts';
import { readDevVars } from './devvars.ts';
import { parseDurableObjectBindings, parseMigrations } from './durable-objects.ts';
import { ConfigError } from './errors.ts';
import type { VarValue, WorkerConfig } from './types.ts';

/** Files looked for in a project folder, in wrangler's order of preference. */
export const CONFIG_FILES = ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'] as const;

/** Keys this part interprets; everything else is kept in `unknown` for later parts. */
const KNOWN = new Set([
  'name',
  'main',
  'compatibility_date',
  'compatibility_flags',
  'vars',
  'limits',
  'services',
  'kv_namespaces',
  'unsafe',
  'account_id',
  'durable_objects',
  'migrations',
]);

/** Unknown keys already warned about (per file), so a hot reload does not repeat the warning. */
const warned = new Set<string>();

export interface LoadOptions {
  /** Called once per unknown top-level key (default: console.warn). */
  warn?: (message: string) => void;
  /** Read `.dev.vars` secrets (default true). */
  devVars?: boolean;
}

/** Find the config file of a project folder, or accept a path to the file itself. */
export function findConfigFile(pathOrDir: string): string {
  const abs = resolve(pathOrDir);
  if (!existsSync(abs)) {
    throw new ConfigError(
      abs,
      '(project)',
      'a folder holding wrangler.toml, wrangler.json or wrangler.jsonc',
      'a path that does not exist',
    );
  }
  if (statSync(abs).isFile()) return abs;
  for (const name of CONFIG_FILES) {
    const candidate = join(abs, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new ConfigError(
    abs,
    '(project)',
    `a folder holding one of ${CONFIG_FILES.join(', ')}`,
    'a folder with none of them',
  );
}

/** Parse the raw text of a config file according to its extension. */
export function parseConfigText(file: string, text: string): Record<string, unknown> {
  let raw: unknown;
  if (file.endsWith('.toml')) {
    try {
      raw = parseToml(text);
    } catch (err) {
      throw new ConfigError(file, '(syntax)', 'valid TOML', (err as Error).message.split('\n')[0]);
    }
  } else {
    const errors: ParseError[] = [];
    raw = parseJsonc(text, errors, { allowTrailingComma: true });
    if (errors.length > 0) {
      const e = errors[0];
      const line = text.slice(0, e.offset).split('\n').length;
      throw new ConfigError(
        file,
        '(syntax)',
        'valid JSON with comments',
        `${printParseErrorCode(e.error)} at line ${line}`,
      );
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, '(root)', 'a table/object', raw);
  }
  return raw as Record<string, unknown>;
}

/** Load and validate a Workers project config. */
export function loadConfig(pathOrDir: string, options: LoadOptions = {}): WorkerConfig {
  const file = findConfigFile(pathOrDir);
  const raw = parseConfigText(file, readFileSync(file, 'utf8'));
  return validateConfig(raw, file, options);
}

export function validateConfig(
  raw: Record<string, unknown>,
  file: string,
  options: LoadOptions = {},
): WorkerConfig {
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const rootDir = dirname(file);

  const name = raw.name ?? basename(rootDir);
  if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/.test(name)) {
    throw new ConfigError(file, 'name', 'letters, digits, "-" or "_" (at most 63 characters)', name);
  }

  if (raw.main === undefined)
    throw new ConfigError(file, 'main', 'the path of the entry module, e.g. "src/index.ts"');
  if (typeof raw.main !== 'string' || raw.main === '')
    throw new ConfigError(file, 'main', 'a non-empty string', raw.main);
  const main = isAbsolute(raw.main) ? raw.main : resolve(rootDir, raw.main);
  if (!existsSync(main) || !statSync(main).isFile()) {
    throw new ConfigError(file, 'main', 'a path to an existing file', `${raw.main} (not found at ${main})`);
  }

  const compatibilityDate = raw.compatibility_date;
  if (
    compatibilityDate !== undefined &&
    (typeof compatibilityDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(compatibilityDate))
  ) {
    throw new ConfigError(file, 'compatibility_date', 'a date "YYYY-MM-DD"', compatibilityDate);
  }

  const flags = raw.compatibility_flags ?? [];
  if (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string')) {
    throw new ConfigError(file, 'compatibility_flags', 'an array of strings', flags);
  }

  const vars = raw.vars ?? {};
  if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) {
    throw new ConfigError(file, 'vars', 'a table of name = value', vars);
  }
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined || typeof v === 'function' || typeof v === 'bigint')
      throw new ConfigError(file, `vars.${k}`, 'a string, number, boolean or JSON value', v);
    if (v instanceof Date)
      throw new ConfigError(
        file,
        `vars.${k}`,
        'a string, number, boolean or JSON value (quote dates)',
        'a TOML date',
      );
  }

  const limits = raw.limits ?? {};
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
    throw new ConfigError(file, 'limits', 'a table such as { cpu_ms = 50 }', limits);
  }
  const cpuMs = (limits as Record<string, unknown>).cpu_ms;
  if (
    cpuMs !== undefined &&
    (typeof cpuMs !== 'number' || !Number.isFinite(cpuMs) || cpuMs <= 0 || cpuMs > 300_000)
  ) {
    throw new ConfigError(file, 'limits.cpu_ms', 'a number of milliseconds between 1 and 300000', cpuMs);
  }

  const services = parseServices(file, raw.services);
  const kvNamespaces = parseKvNamespaces(file, raw.kv_namespaces, name);
  const durableObjects = parseDurableObjectBindings(file, raw.durable_objects);
  const durableObjectClasses = parseMigrations(file, raw.migrations);
  const unsafeEval = parseUnsafeBindings(file, raw.unsafe);
  const accountId = raw.account_id;
  if (accountId !== undefined && (typeof accountId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(accountId)))
    throw new ConfigError(
      file,
      'account_id',
      'an account id (letters, digits, "-" or "_", at most 64)',
      accountId,
    );
  durableObjects.forEach((d, i) => {
    // A class of another worker is that worker's to migrate.
    if (d.scriptName === undefined && !durableObjectClasses.some((c) => c.className === d.className))
      throw new ConfigError(
        file,
        `durable_objects.bindings[${i}].class_name`,
        `a class a migration creates (add [[migrations]] tag = "v1", new_sqlite_classes = ["${d.className}"])`,
        d.className,
      );
  });
  const taken = new Set(Object.keys(vars as object));
  for (const [b, key] of [
    ...services.map((x, i) => [x.binding, `services[${i}].binding`]),
    ...kvNamespaces.map((x, i) => [x.binding, `kv_namespaces[${i}].binding`]),
    ...durableObjects.map((x, i) => [x.binding, `durable_objects.bindings[${i}].name`]),
    ...unsafeEval.map((x, i) => [x, `unsafe.bindings[${i}].name`]),
  ]) {
    if (taken.has(b)) throw new ConfigError(file, key, 'a name no other binding or var uses', b);
    taken.add(b);
  }

  const unknown: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (KNOWN.has(key)) continue;
    unknown[key] = raw[key];
    if (warned.has(`${file}\0${key}`)) continue;
    warned.add(`${file}\0${key}`);
    warn(`${file}: "${key}" is not supported by Outpost yet; ignored`);
  }

  const secrets = options.devVars === false ? {} : readDevVars(rootDir);
  return {
    configPath: file,
    rootDir,
    name,
    main,
    compatibilityDate,
    compatibilityFlags: flags as string[],
    vars: { ...(vars as Record<string, VarValue>), ...secrets },
    secretNames: Object.keys(secrets),
    limits: { cpuMs },
    services,
    kvNamespaces,
    durableObjects,
    durableObjectClasses,
    accountId: accountId as string | undefined,
    unsafeEval,
    unknown,
  };
}
