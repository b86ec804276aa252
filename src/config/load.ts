import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { parseAssets } from './assets.ts';
import { parseBindings } from './bindings/index.ts';
import { parseQueueConsumers } from './bindings/queues.ts';
import { parseBuildOptions } from './build.ts';
import { readDevVars } from './devvars.ts';
import { parseMigrations } from './durable-objects.ts';
import { deployRedirect, selectEnvironment } from './environments.ts';
import { ConfigError } from './errors.ts';
import { IGNORED_KEYS, KNOWN } from './keys.ts';
import { parseRoutes, type RouteConfig } from './routes.ts';
import { bindingsOf, type VarValue, type WorkerConfig } from './types.ts';

/** Files looked for in a project folder, in wrangler's order of preference. */
export const CONFIG_FILES = ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'] as const;

/** Unknown keys already warned about (per file), so a hot reload does not repeat the warning. */
const warned = new Set<string>();

export interface LoadOptions {
  /** Called once per file with every key Outpost does not act on (default: console.warn). */
  warn?: (message: string) => void;
  /** Read `.dev.vars` secrets (default true). */
  devVars?: boolean;
  /** `--env NAME`: apply `[env.NAME]` over the top level, as wrangler does (./environments.ts). */
  env?: string;
  /** The entry module given on the command line (`outpost dev src/index.ts`): wins over `main`. */
  main?: string;
  /** The project's folder (default: the config's); see WorkerConfig.projectDir. */
  projectDir?: string;
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
  const redirected = deployRedirect(abs);
  if (redirected) return redirected;
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

/** The project's folder: the folder given, or the folder of the config file given. */
export function projectDirOf(pathOrDir: string): string {
  const abs = resolve(pathOrDir);
  return existsSync(abs) && statSync(abs).isFile() ? dirname(abs) : abs;
}

function hasConfig(pathOrDir: string): boolean {
  try {
    findConfigFile(pathOrDir);
    return true;
  } catch {
    return false;
  }
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
  // An entry on the command line runs without a config, as `wrangler dev src/index.ts` does.
  if (options.main !== undefined && !hasConfig(pathOrDir))
    return validateConfig({}, join(resolve(pathOrDir), '(no wrangler config)'), options);
  const file = findConfigFile(pathOrDir);
  const raw = parseConfigText(file, readFileSync(file, 'utf8'));
  return validateConfig(raw, file, { projectDir: projectDirOf(pathOrDir), ...options });
}

export function validateConfig(
  raw: Record<string, unknown>,
  file: string,
  options: LoadOptions = {},
): WorkerConfig {
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const rootDir = dirname(file);
  const topName = raw.name;
  raw = selectEnvironment(raw, file, options.env);

  // wrangler accepts `name = ""` (frameworks write it); the folder's name stands in.
  let name = raw.name === undefined || raw.name === '' ? folderName(rootDir) : raw.name;
  if (
    options.env !== undefined &&
    (raw.name === undefined || raw.name === topName) &&
    typeof name === 'string'
  )
    name = `${name}-${options.env}`;
  if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/.test(name)) {
    throw new ConfigError(file, 'name', 'letters, digits, "-" or "_" (at most 63 characters)', name);
  }

  const assets = parseAssets(file, raw.assets, rootDir);
  const main = entryModule(
    file,
    rootDir,
    options.main ?? raw.main,
    options.main !== undefined,
    assets !== undefined,
  );

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

  const durableObjectClasses = parseMigrations(file, raw.migrations);
  const accountId = raw.account_id;
  if (accountId !== undefined && (typeof accountId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(accountId)))
    throw new ConfigError(
      file,
      'account_id',
      'an account id (letters, digits, "-" or "_", at most 64)',
      accountId,
    );
  const bindings = parseBindings(
    raw,
    { file, worker: name, rootDir },
    new Set(Object.keys(vars as object)),
    assets?.binding ? [{ type: 'assets', binding: assets.binding, key: 'assets.binding' }] : [],
  );
  for (const d of bindingsOf(bindings, 'do')) {
    // A class of another worker is that worker's to migrate.
    if (d.scriptName === undefined && !durableObjectClasses.some((c) => c.className === d.className))
      throw new ConfigError(
        file,
        `${d.key}.class_name`,
        `a class a migration creates (add [[migrations]] tag = "v1", new_sqlite_classes = ["${d.className}"])`,
        d.className,
      );
  }
  const build = parseBuildOptions(raw, file);

  const unknown: Record<string, unknown> = {};
  const notes: string[] = [];
  for (const key of Object.keys(raw)) {
    if (KNOWN.has(key)) continue;
    unknown[key] = raw[key];
    // Built configs spell out every key, mostly empty: only a key with something in it is news.
    if (isEmpty(raw[key])) continue;
    notes.push(`  ${key}: ${IGNORED_KEYS[key] ?? 'not a key Outpost knows; ignored'}`);
  }
  if (notes.length > 0 && !warned.has(`${file}\0${Object.keys(unknown).join()}`)) {
    warned.add(`${file}\0${Object.keys(unknown).join()}`);
    warn(`${file}: keys Outpost does not act on:\n${notes.join('\n')}`);
  }

  const projectDir = options.projectDir ?? rootDir;
  // A built config (the deploy redirect) may sit without the project's .dev.vars beside it.
  const secrets =
    options.devVars === false
      ? {}
      : (readDevVars(rootDir, options.env) ??
        (projectDir !== rootDir ? readDevVars(projectDir, options.env) : null) ??
        {});
  return {
    configPath: file,
    rootDir,
    projectDir,
    name,
    main,
    compatibilityDate,
    compatibilityFlags: flags as string[],
    vars: { ...(vars as Record<string, VarValue>), ...secrets },
    secretNames: Object.keys(secrets),
    limits: { cpuMs },
    bindings,
    assets,
    build,
    durableObjectClasses,
    accountId: accountId as string | undefined,
    tailConsumers: parseTailConsumers(file, raw.tail_consumers),
    routes: routesOf(file, raw),
    crons: cronsOf(file, raw.triggers),
    queueConsumers: parseQueueConsumers(file, raw.queues),
    unknown,
  };
}

/**
 * `triggers = { crons = ["0 * * * *"] }`: the worker's Cron Triggers. Their syntax is checked
 * where they are scheduled (src/background/cron/), naming this key.
 */
function cronsOf(file: string, triggers: unknown): string[] {
  if (triggers === undefined) return [];
  if (typeof triggers !== 'object' || triggers === null || Array.isArray(triggers))
    throw new ConfigError(file, 'triggers', 'a table with crons = ["<cron expression>", …]', triggers);
  for (const k of Object.keys(triggers))
    if (k !== 'crons') throw new ConfigError(file, `triggers.${k}`, 'one of the known keys (crons)', k);
  const crons = (triggers as { crons?: unknown }).crons ?? [];
  if (!Array.isArray(crons) || crons.some((c) => typeof c !== 'string' || c.trim() === ''))
    throw new ConfigError(file, 'triggers.crons', 'an array of cron expressions ("0 * * * *")', crons);
  return crons as string[];
}

/** `routes` (a list) or `route` (one), as wrangler reads them (src/config/routes.ts); not both. */
function routesOf(file: string, raw: Record<string, unknown>): RouteConfig[] {
  if (raw.routes !== undefined && raw.route !== undefined)
    throw new ConfigError(file, 'route', 'absent when routes is set (use routes alone)', raw.route);
  return raw.route !== undefined ? parseRoutes(raw.route, file, 'route') : parseRoutes(raw.routes, file);
}

/** `tail_consumers = [{ service = "name" }]`: the Tail Workers that get this worker's events. */
function parseTailConsumers(file: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw new ConfigError(file, 'tail_consumers', 'an array of { service = "worker-name" }', v);
  return v.map((c, i) => {
    const service = (c as Record<string, unknown> | null)?.service;
    if (typeof service !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/.test(service))
      throw new ConfigError(file, `tail_consumers[${i}].service`, 'the name of a worker', service);
    return service;
  });
}

/** `[]`, `{}` (or one holding only empty values), null, false, "": nothing to act on. */
function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as object).every(isEmpty);
  return false;
}

/** A worker name made from a folder's name (for `name = ""` or no name). */
function folderName(dir: string): string {
  const n = basename(dir)
    .replace(/[^a-zA-Z0-9_-]+/g, '-')
    .replace(/^[^a-zA-Z0-9]+/, '')
    .slice(0, 63);
  return n === '' ? 'worker' : n;
}

/** The entry module: `main`, or the command line's; none only for an assets-only project. */
function entryModule(
  file: string,
  rootDir: string,
  main: unknown,
  fromCli: boolean,
  hasAssets: boolean,
): string | undefined {
  const key = fromCli ? '(entry on the command line)' : 'main';
  if (main === undefined) {
    if (hasAssets) return undefined;
    throw new ConfigError(
      file,
      'main',
      'the path of the entry module, e.g. "src/index.ts" (or an assets table)',
    );
  }
  if (typeof main !== 'string' || main === '') throw new ConfigError(file, key, 'a non-empty string', main);
  const abs = isAbsolute(main) ? main : resolve(fromCli ? process.cwd() : rootDir, main);
  if (!existsSync(abs) || !statSync(abs).isFile())
    throw new ConfigError(file, key, 'a path to an existing file', `${main} (not found at ${abs})`);
  return abs;
}
