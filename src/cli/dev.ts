import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import {
  adminTokenFromEnv,
  ConfigError,
  EGRESS_CLASSES,
  findConfigFile,
  loadProxyConfig,
  PROXY_CONFIG_FILES,
  type ProxyConfig,
  parseEgressRule,
  type StorageQuotas,
  trustedProxyHeaderProblem,
} from '../config/index.ts';
import { loadTopology, parseLocation, type Topology } from '../network/index.ts';
import {
  consoleObserver,
  type LogFormat,
  type LogLevel,
  type TracingOptions,
  validateTracing,
} from '../observability/index.ts';
import { type DevOptions, type ProxyOptions, startDev, startProxy, writeAdminFile } from '../pop/index.ts';
import { CliError } from './cache.ts';
import { type Command, ISOLATE_BUDGET } from './commands.ts';

type OptionValues = Parameters<Command['run']>[1];

export const devCommand: Command = {
  name: 'dev',
  summary: 'Serve a Workers project locally, rebuilding on change',
  args: '[dir | entry file] [more dirs...]',
  options: [
    {
      name: 'env',
      short: 'e',
      type: 'string',
      help: "use the config's [env.NAME] (its bindings and vars; the worker is named <name>-<env>)",
    },
    { name: 'port', type: 'number', default: 8787, help: 'port to listen on (0 picks a free one)' },
    { name: 'ip', type: 'string', default: '127.0.0.1', help: 'address to listen on' },
    {
      name: 'production',
      type: 'boolean',
      default: false,
      help: 'production mode: plain 500 pages, no stacks',
    },
    {
      name: 'watch',
      type: 'boolean',
      default: true,
      help: 'rebuild when a source file changes (--no-watch to disable)',
    },
    {
      name: 'origin',
      type: 'string',
      help: "the site's origin, winning over outpost.toml's (ctx.passThroughOnException(), requests no route matches); in a folder without a worker project, CDN proxy mode to it",
    },
    {
      name: 'cpu-ms',
      type: 'number',
      help: 'CPU time per request, ms (wins over limits.cpu_ms in the config; default 50)',
    },
    { name: 'memory-mb', type: 'number', default: 128, help: 'heap + WebAssembly memory limit per isolate' },
    { name: 'wall-ms', type: 'number', default: 30000, help: 'wall-clock limit until response headers' },
    { name: 'subrequests', type: 'number', default: 50, help: 'subrequests allowed per request' },
    ...ISOLATE_BUDGET,
    { name: 'log-level', type: 'string', default: 'info', help: 'debug | info | warn | error' },
    {
      name: 'log-format',
      type: 'string',
      default: 'pretty',
      help: 'pretty (for people) or json (one object per line: requests with ray, PoP, worker, status, cache, ms, trace id; worker console lines tagged with their request)',
    },
    {
      name: 'trace-endpoint',
      type: 'string',
      help: 'export traces over OTLP/HTTP to this URL, e.g. http://127.0.0.1:4318/v1/traces (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces; none: tracing off)',
    },
    {
      name: 'trace-sample',
      type: 'number',
      default: 1,
      help: 'share of traces kept, 0 to 1 (errors and slow requests are always kept)',
    },
    {
      name: 'trace-slow-ms',
      type: 'number',
      default: 1000,
      help: 'a request slower than this is traced whatever --trace-sample says',
    },
    {
      name: 'tls',
      type: 'boolean',
      default: false,
      help: 'HTTPS with HTTP/2 (a development certificate in .outpost/tls)',
    },
    {
      name: 'test-scheduled',
      type: 'boolean',
      default: false,
      help: "GET /__scheduled?cron=… runs the worker's scheduled() (as wrangler dev --test-scheduled)",
    },
    {
      name: 'h2c-port',
      type: 'number',
      help: 'also HTTP/2 in the clear (h2c, prior knowledge) on this port (0 picks a free one)',
    },
    {
      name: 'trusted-proxy-header',
      type: 'string',
      help: 'take the client address from this header set by a proxy you run in front (e.g. X-Forwarded-For; wins over [trusted_proxy] in outpost.toml); default: the socket peer',
    },
    { name: 'cert', type: 'string', help: 'TLS certificate file (PEM), with --key' },
    { name: 'key', type: 'string', help: 'TLS private key file (PEM), with --cert' },
    {
      name: 'topology',
      type: 'string',
      default: 'local',
      help: 'local (one PoP), world (21 cities, 3 shields), world-large (360 cities) or a topology file',
    },
    {
      name: 'from',
      type: 'string',
      help: 'where clients are: a city, PoP code, country code or "lat,long" (per request: Outpost-Client-Location)',
    },
    {
      name: 'simulate-latency',
      type: 'boolean',
      default: false,
      help: 'responses wait the modelled client-to-PoP round trip',
    },
    {
      name: 'kv-propagation-ms',
      type: 'number',
      help: 'how long a KV write made elsewhere (the CLI, another PoP) takes to reach a PoP (default 0; 60000 with a topology)',
    },
    { name: 'kv-jitter-ms', type: 'number', default: 0, help: 'up to this much more, per write (seeded)' },
    { name: 'kv-seed', type: 'number', default: 1, help: 'seed of the KV propagation jitter' },
    {
      name: 'cache-api-tenant-mb',
      type: 'number',
      help: "MiB of Cache API entries each tenant keeps per PoP; past it, only that tenant's LRU entries go (default 32)",
    },
    {
      name: 'fetch-cache-tenant-mb',
      type: 'number',
      help: 'MiB of fetch() subrequest cache each tenant keeps per PoP and shield (default 32)',
    },
    {
      name: 'kv-namespace-quota-mb',
      type: 'number',
      help: 'MiB one KV namespace may store; a put past it fails (default 1024)',
    },
    {
      name: 'do-object-quota-mb',
      type: 'number',
      help: "MiB one Durable Object's storage may grow to; writes past it fail with SQLITE_FULL (default Cloudflare's 10 GB)",
    },
    {
      name: 'nats',
      type: 'string',
      help: 'NATS server URL: KV lives in JetStream buckets there (default: SQLite in .outpost/kv)',
    },
    {
      name: 'egress-allow',
      type: 'string',
      multiple: true,
      help: "what workers' fetch() may reach besides the internet: an address, CIDR block, host[:port] or loopback/private/link-local/cgnat (repeatable; adds to [egress] allow in outpost.toml; the single local PoP allows loopback already)",
    },
    {
      name: 'build-root',
      type: 'string',
      help: "the one folder builds read files from (default: the project's folder); a monorepo's root when projects import from above their folder",
    },
  ],
  async run(positionals, v, io) {
    const plan = devPlan(positionals, v);
    const observer = consoleObserver(plan.logLevel, plan.logFormat);
    for (const w of plan.warnings) observer.log({ level: 'warn', source: 'outpost', message: w });
    if (plan.mode === 'proxy') {
      const { config, topology } = plan;
      const proxy = await startProxy({ ...plan.proxy, observer });
      const admin = writeAdminFile(config.rootDir, proxy.url, proxy.adminToken);
      const policies = config.policies.length
        ? `, ${config.policies.length} cache polic${config.policies.length === 1 ? 'y' : 'ies'}`
        : '';
      io.out(
        `\n  Outpost dev: CDN proxy mode for ${plan.proxy.origin} on ${proxy.url} (${config.store} cache${policies}${topology ? `, ${topology.pops.length} PoPs of ${topology.name}` : ''})\n  Every response carries cf-cache-status. Purge with \`outpost cache purge\` (admin token in ${shortPath(admin)}).\n  Dashboard: ${proxy.url}/__outpost/\n  Press Ctrl+C to stop.\n\n`,
      );
      await waitForSignal();
      await proxy.close();
      return 0;
    }
    const dev = await startDev({ ...plan.dev, observer });
    io.out(
      `\n  Outpost dev: "${dev.config.name}" ready on ${dev.url}${positionals.length > 1 ? ` (with ${positionals.length - 1} more worker(s) behind service bindings)` : ''}\n${
        dev.network
          ? `  Topology ${dev.network.topology.name}: ${dev.network.topology.pops.length} PoPs; clients at ${dev.network.from.city ?? `${dev.network.from.latitude},${dev.network.from.longitude}`} by default (header Outpost-Client-Location: <city>, or Outpost-Pop: <code> for one PoP).\n`
          : ''
      }${dev.h2cUrl ? `  HTTP/2 in the clear (h2c, prior knowledge): ${dev.h2cUrl}\n` : ''}  Open ${dev.url}/ in a browser, or: curl ${dev.url}/\n  Dashboard: ${dev.url}/__outpost/\n  Press Ctrl+C to stop.\n\n`,
    );
    await waitForSignal();
    await dev.close();
    return 0;
  },
};

/** What `outpost dev` starts, decided from its arguments alone (nothing is started). */
export type DevPlan = { logLevel: LogLevel; logFormat: LogFormat; warnings: string[] } & (
  | {
      mode: 'proxy';
      config: ProxyConfig;
      topology: Topology | null;
      proxy: Omit<ProxyOptions, 'observer'>;
    }
  | { mode: 'worker'; dev: Omit<DevOptions, 'observer'> }
);

/** Options that only a Workers project uses: refused in CDN proxy mode rather than ignored. */
const WORKER_ONLY = [
  'env',
  'test-scheduled',
  'production',
  'watch',
  'cpu-ms',
  'memory-mb',
  'wall-ms',
  'subrequests',
  'memory-budget-mb',
  'max-isolates',
  'warm-pool-max',
  'tls',
  'h2c-port',
  'cert',
  'key',
  'kv-propagation-ms',
  'kv-jitter-ms',
  'kv-seed',
  'cache-api-tenant-mb',
  'fetch-cache-tenant-mb',
  'kv-namespace-quota-mb',
  'do-object-quota-mb',
  'nats',
  'build-root',
  'egress-allow',
];

/**
 * The dev command's options turned into what it starts: CDN proxy mode in a folder without a
 * worker project, else the project on one PoP or a network. Settings come from flags, then
 * OUTPOST_ADMIN_TOKEN (the admin token), then the folder's outpost.toml.
 */
export function devPlan(positionals: string[], v: OptionValues): DevPlan {
  const logLevel = String(v['log-level']);
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    throw new CliError(`--log-level must be debug, info, warn or error, received "${logLevel}"`);
  const logFormat = String(v['log-format']);
  if (logFormat !== 'pretty' && logFormat !== 'json')
    throw new CliError(`--log-format must be pretty or json, received "${logFormat}"`);
  const trusted = trustedHeader(v['trusted-proxy-header']);
  // `outpost dev src/index.ts`: the entry on the command line, the config (if any) from here.
  const entry =
    positionals[0] !== undefined && isEntryFile(positionals[0]) ? resolve(positionals[0]) : undefined;
  const dir = entry ? '.' : (positionals[0] ?? '.');
  const warnings: string[] = [];
  if (!entry && !hasProject(dir)) {
    // No worker project here: CDN proxy mode, a caching reverse proxy for every path.
    const defaults = new Map(devCommand.options.map((o) => [o.name, o.default]));
    for (const name of WORKER_ONLY)
      if (Array.isArray(v[name]) ? (v[name] as string[]).length > 0 : v[name] !== defaults.get(name))
        throw new CliError(
          `--${v[name] === false ? `no-${name}` : name} is for a Workers project; ${resolve(dir)} has no wrangler config, so this is CDN proxy mode, which does not use it`,
        );
    const config = loadProxyConfig(dir);
    const originArg = typeof v.origin === 'string' ? v.origin : config.origin;
    if (!originArg)
      throw new ConfigError(
        resolve(dir),
        '(project)',
        'a folder with a wrangler config, or an origin for CDN proxy mode (--origin URL or origin in outpost.toml)',
        'a folder with neither',
      );
    const origin = checkOrigin(originArg);
    const topology = v.topology && v.topology !== 'local' ? loadTopology(String(v.topology)) : null;
    const header = trusted ?? config.trustedProxyHeader;
    const tracing = tracingFlags(v);
    return {
      mode: 'proxy',
      logLevel: logLevel as LogLevel,
      logFormat,
      warnings,
      config,
      topology,
      proxy: {
        origin,
        host: v.ip as string,
        port: v.port as number,
        config,
        ...(header ? { trustedProxyHeader: header } : {}),
        ...(tracing ? { tracing } : {}),
        ...(topology
          ? {
              network: {
                topology,
                from: typeof v.from === 'string' ? parseLocation(v.from, topology, '--from') : undefined,
                simulateLatency: !!v['simulate-latency'],
              },
            }
          : {}),
      },
    };
  }
  // A worker project may have an outpost.toml for the admin token and the trusted proxy header.
  const root = hasProject(dir) ? dirname(findConfigFile(dir)) : resolve(dir);
  const settings = PROXY_CONFIG_FILES.some((f) => existsSync(join(root, f))) ? loadProxyConfig(root) : null;
  if (settings && settings.store === 'disk')
    warnings.push(
      `${settings.configPath}: [cache] store = "disk" applies to CDN proxy mode only; a worker project's site is cached in memory`,
    );
  const adminToken = settings ? settings.adminToken : adminTokenFromEnv();
  const tracing = tracingFlags(v);
  const egressAllow = [...(settings?.egressAllow ?? []), ...egressFlags(v['egress-allow'])];
  const header = trusted ?? settings?.trustedProxyHeader;
  return {
    mode: 'worker',
    logLevel: logLevel as LogLevel,
    logFormat,
    warnings,
    dev: {
      dir,
      ...(entry ? { main: entry } : {}),
      ...(typeof v.env === 'string' ? { env: v.env } : {}),
      // Further projects: served only through service bindings from the first.
      services: positionals.slice(1),
      port: v.port as number,
      host: v.ip as string,
      production: !!v.production,
      watch: v.watch !== false,
      origin: v.origin as string | undefined,
      ...(typeof v.cert === 'string' || typeof v.key === 'string'
        ? { tls: tlsFiles(v.cert, v.key) }
        : v.tls
          ? { tls: true as const }
          : {}),
      ...(typeof v['h2c-port'] === 'number' ? { h2cPort: v['h2c-port'] } : {}),
      ...(v['test-scheduled'] ? { testScheduled: true } : {}),
      ...(adminToken ? { adminToken } : {}),
      ...(header ? { trustedProxyHeader: header } : {}),
      ...(typeof v['build-root'] === 'string' ? { buildRoot: resolve(v['build-root']) } : {}),
      ...(egressAllow.length ? { egressAllow } : {}),
      ...(settings?.security ? { security: settings.security } : {}),
      ...(settings &&
      (settings.origin ||
        settings.zone ||
        settings.policies.length ||
        settings.experiments.length ||
        settings.configPath !== '<defaults>')
        ? {
            site: {
              ...(settings.origin ? { origin: settings.origin } : {}),
              ...(settings.zone ? { zone: settings.zone } : {}),
              policies: settings.policies,
              experiments: settings.experiments,
              esi: settings.esi,
              earlyHints: settings.earlyHints,
            },
          }
        : {}),
      ...(tracing ? { tracing } : {}),
      topology: v.topology as string,
      from: v.from as string | undefined,
      simulateLatency: !!v['simulate-latency'],
      kv: {
        ...(typeof v.nats === 'string' ? { nats: v.nats } : {}),
        propagationMs: v['kv-propagation-ms'] as number | undefined,
        jitterMs: v['kv-jitter-ms'] as number,
        seed: v['kv-seed'] as number,
      },
      runtime: {
        memoryBudgetMb: v['memory-budget-mb'] as number,
        ...(v['max-isolates'] !== undefined ? { maxIsolates: v['max-isolates'] as number } : {}),
        ...(v['warm-pool-max'] !== undefined ? { poolMax: v['warm-pool-max'] as number } : {}),
      },
      quotas: quotaFlags(v),
      // Flags win over the project's config.
      limits: {
        cpuMs: v['cpu-ms'] as number | undefined,
        memoryMb: v['memory-mb'] as number,
        wallMs: v['wall-ms'] as number,
        subrequests: v.subrequests as number,
      },
    },
  };
}

/**
 * Tracing from the flags, else OpenTelemetry's standard variables for where to export
 * (https://opentelemetry.io/docs/specs/otel/protocol/exporter/); no endpoint: tracing off.
 */
function tracingFlags(v: OptionValues): TracingOptions | null {
  const env = process.env;
  const sampleRatio = v['trace-sample'] as number;
  const slowMs = v['trace-slow-ms'] as number;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const endpoint =
    typeof v['trace-endpoint'] === 'string'
      ? v['trace-endpoint']
      : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
        (base ? `${base.replace(/\/+$/, '')}/v1/traces` : '');
  if (!endpoint) return null;
  const tracing: TracingOptions = { endpoint, sampleRatio, slowMs };
  const problem = validateTracing(tracing);
  if (problem) throw new CliError(`--trace-endpoint/--trace-sample/--trace-slow-ms: ${problem}`);
  return tracing;
}

/** The storage quota flags, MiB (fractions allowed), as bytes. */
function quotaFlags(v: OptionValues): Partial<StorageQuotas> {
  const out: Partial<StorageQuotas> = {};
  const flags: [string, keyof StorageQuotas, number][] = [
    ['cache-api-tenant-mb', 'cacheApiTenantBytes', 1024 * 1024],
    ['fetch-cache-tenant-mb', 'fetchCacheTenantBytes', 1024 * 1024],
    ['kv-namespace-quota-mb', 'kvNamespaceBytes', 1024 * 1024],
    ['do-object-quota-mb', 'durableObjectBytes', 1024 * 1024],
  ];
  for (const [flag, key, unit] of flags) {
    const n = v[flag];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
      throw new CliError(`--${flag} must be a positive number of MiB, received ${String(n)}`);
    out[key] = Math.max(1, Math.floor(n * unit));
  }
  return out;
}

/** `--egress-allow` entries, each checked (src/config/egress.ts). */
export function egressFlags(value: unknown): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];
  for (const e of list) {
    try {
      parseEgressRule(e);
    } catch (err) {
      throw new CliError(
        `--egress-allow must be an address, CIDR block, host[:port] or one of ${EGRESS_CLASSES.join(', ')}: ${(err as Error).message}`,
      );
    }
  }
  return list;
}

function trustedHeader(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const problem = trustedProxyHeaderProblem(String(value));
  if (problem) throw new CliError(`--trusted-proxy-header must be ${problem}, received "${value}"`);
  return String(value).toLowerCase();
}

/** A path relative to the working folder when it lies inside it. */
function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

function tlsFiles(cert: unknown, key: unknown): { cert: string; key: string } {
  if (typeof cert !== 'string' || typeof key !== 'string')
    throw new CliError('give both --cert FILE and --key FILE');
  return { cert, key };
}

function waitForSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

function isEntryFile(path: string): boolean {
  return /\.(m|c)?(j|t)sx?$/.test(path) && existsSync(path) && statSync(path).isFile();
}

function hasProject(dir: string): boolean {
  try {
    findConfigFile(dir);
    return true;
  } catch {
    return false;
  }
}

function checkOrigin(origin: string): string {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    throw new CliError(`--origin must be an http(s) URL, received "${origin}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new CliError(`--origin must be an http(s) URL, received "${origin}"`);
  return u.href;
}
