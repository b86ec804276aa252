// Every option of every command is declared once (src/cli/), documented (README.md, docs/),
// parses, and takes effect. A doc that names an option the CLI does not know fails here, and so
// does an option the CLI declares but never reads (`--h2c` was accepted and did nothing while
// the code read an undeclared `h2c-port`).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Packet } from 'dns-packet';
import type { OptionSpec } from '../src/cli/commands.ts';
import { type DevPlan, devPlan } from '../src/cli/dev.ts';
import { startGeodnsFrom } from '../src/cli/geodns.ts';
import { COMMANDS, type OptionValues, parseOptions, runCli, UsageError } from '../src/cli/program.ts';
import { dnsQuery } from '../src/network/dns-client.ts';
import { builtinTopology } from '../src/network/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { type ProxyServer, startDev, startProxy } from '../src/pop/index.ts';
import { copyFixture, startUpstream, type Upstream } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..');
const DOC_FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) =>
  f.endsWith('.md'),
);
const command = (name: string) => COMMANDS.find((c) => c.name === name)!;

/** Flags of other programs that the docs name (Node's, the bench script's, curl's, npm's for the cache suite). */
const FOREIGN = new Set([
  '--no-node-snapshot',
  '--import',
  '--only',
  '--quick',
  '--http2-prior-knowledge',
  '--omit',
  '--silent',
  '--base',
]);

interface Mention {
  where: string;
  flag: string;
  /** The outpost command the flag was written after, when the snippet names one. */
  command?: string;
}

/** Every `--flag` in code spans and code blocks of the docs, with the command it belongs to. */
function mentions(): Mention[] {
  const out: Mention[] = [];
  for (const file of DOC_FILES) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const snippets: { where: string; text: string }[] = [];
    let fenced = false;
    text.split('\n').forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      if (line.startsWith('```')) fenced = !fenced;
      else if (fenced) snippets.push({ where, text: line.replace(/\s#\s.*$/, '') });
      else for (const m of line.matchAll(/`([^`]+)`/g)) snippets.push({ where, text: m[1] });
    });
    for (const s of snippets) {
      if (/npm run bench|npm install|\bcurl\b|^node --/.test(s.text)) continue;
      const words = /\boutpost(?:\.mjs)?\s+(.*)$/.exec(s.text)?.[1].split(/\s+/) ?? [];
      let cmd: string | undefined;
      for (let n = 3; n > 0 && !cmd; n--)
        cmd = COMMANDS.find((c) => c.name === words.slice(0, n).join(' '))?.name;
      for (const m of s.text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g))
        out.push({ where: s.where, flag: m[0], ...(cmd ? { command: cmd } : {}) });
    }
  }
  return out;
}

function flagsOf(options: OptionSpec[]): Set<string> {
  const s = new Set<string>();
  for (const o of options) {
    s.add(`--${o.name}`);
    if (o.type === 'boolean') s.add(`--no-${o.name}`);
  }
  return s;
}

describe('the docs and the command declarations agree', () => {
  const all = mentions();
  it('every option the docs name is declared by its command (or by some command, when none is named)', () => {
    const known = new Set(COMMANDS.flatMap((c) => [...flagsOf(c.options)]));
    const wrong = all.filter((m) =>
      m.command
        ? !flagsOf(command(m.command).options).has(m.flag)
        : !known.has(m.flag) && !FOREIGN.has(m.flag),
    );
    assert.deepEqual(
      wrong.map((m) => `${m.where}: ${m.flag}${m.command ? ` (outpost ${m.command})` : ''}`),
      [],
      'options named in the docs that the CLI does not know',
    );
  });
  it('every declared option is documented: dev in the README option table, the others in the docs', () => {
    const readmeTable = readFileSync(join(ROOT, 'README.md'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .join('\n');
    const missing: string[] = [];
    for (const c of COMMANDS)
      for (const o of c.options) {
        const named = (text: string) => text.includes(`\`--${o.name}`) || text.includes(`--no-${o.name}`);
        if (
          c.name === 'dev'
            ? !named(readmeTable)
            : !all.some((m) => m.flag === `--${o.name}` && (m.command ?? c.name) === c.name)
        )
          missing.push(`outpost ${c.name} --${o.name}`);
      }
    assert.deepEqual(missing, []);
  });
});

/** A value of the option's type that is not its default. */
function sample(o: OptionSpec): string[] {
  if (o.type === 'boolean') return [o.default === true ? `--no-${o.name}` : `--${o.name}`];
  if (o.type === 'number') return [`--${o.name}`, String(Number(o.default ?? 0) + 7)];
  return [`--${o.name}`, `value-of-${o.name}`];
}

describe('every declared option parses', () => {
  for (const c of COMMANDS)
    it(`outpost ${c.name}`, () => {
      for (const o of c.options) {
        const { values } = parseOptions(c, sample(o));
        assert.notDeepEqual(values[o.name], o.default, `--${o.name}`);
      }
    });
  it('--h2c-port (as documented) parses; the old --h2c, which did nothing, is refused', () => {
    assert.equal(parseOptions(command('dev'), ['--h2c-port', '0']).values['h2c-port'], 0);
    assert.throws(() => parseOptions(command('dev'), ['--h2c']), UsageError);
    assert.throws(
      () => parseOptions(command('dev'), ['--h2c-port', 'x']),
      /--h2c-port must be a number, received "x"/,
    );
  });
});

/** Values with every access recorded. */
function tracked(values: OptionValues, reads: Set<string>): OptionValues {
  return new Proxy(values, {
    get(t, k) {
      if (typeof k === 'string') reads.add(k);
      return t[k as string];
    },
  });
}

describe('outpost dev: each option changes what is started', () => {
  let project: string;
  let empty: string;
  before(() => {
    project = mkdtempSync(join(tmpdir(), 'outpost-cli-'));
    writeFileSync(join(project, 'wrangler.toml'), 'name = "cli"\nmain = "w.js"\n');
    writeFileSync(
      join(project, 'w.js'),
      'export default { fetch: (r) => new Response("hi " + r.headers.get("cf-connecting-ip")) };\n',
    );
    empty = mkdtempSync(join(tmpdir(), 'outpost-cli-empty-'));
  });
  after(() => {
    rmSync(project, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });
  const dev = command('dev');
  const plan = (dir: string, args: string[], reads?: Set<string>) => {
    const { positionals, values } = parseOptions(dev, [dir, ...args]);
    return devPlan(positionals, reads ? tracked(values, reads) : values);
  };
  type Worker = Extract<DevPlan, { mode: 'worker' }>;
  type Proxy = Extract<DevPlan, { mode: 'proxy' }>;
  const w = (p: DevPlan) => (p as Worker).dev;
  const OTLP = 'http://127.0.0.1:4318/v1/traces';
  const EFFECTS: Record<string, [string[], (p: DevPlan) => unknown, unknown]> = {
    port: [['--port', '9999'], (p) => w(p).port, 9999],
    ip: [['--ip', '127.0.0.2'], (p) => w(p).host, '127.0.0.2'],
    production: [['--production'], (p) => w(p).production, true],
    watch: [['--no-watch'], (p) => w(p).watch, false],
    origin: [['--origin', 'http://127.0.0.1:1/'], (p) => w(p).origin, 'http://127.0.0.1:1/'],
    'cpu-ms': [['--cpu-ms', '75'], (p) => w(p).limits?.cpuMs, 75],
    'memory-mb': [['--memory-mb', '64'], (p) => w(p).limits?.memoryMb, 64],
    'wall-ms': [['--wall-ms', '900'], (p) => w(p).limits?.wallMs, 900],
    subrequests: [['--subrequests', '7'], (p) => w(p).limits?.subrequests, 7],
    'memory-budget-mb': [['--memory-budget-mb', '512'], (p) => w(p).runtime?.memoryBudgetMb, 512],
    'max-isolates': [['--max-isolates', '9'], (p) => w(p).runtime?.maxIsolates, 9],
    'warm-pool-max': [['--warm-pool-max', '12'], (p) => w(p).runtime?.poolMax, 12],
    'log-level': [['--log-level', 'debug'], (p) => p.logLevel, 'debug'],
    'log-format': [['--log-format', 'json'], (p) => p.logFormat, 'json'],
    'trace-endpoint': [['--trace-endpoint', OTLP], (p) => w(p).tracing?.endpoint, OTLP],
    'trace-sample': [
      ['--trace-endpoint', OTLP, '--trace-sample', '0.01'],
      (p) => w(p).tracing?.sampleRatio,
      0.01,
    ],
    'trace-slow-ms': [['--trace-endpoint', OTLP, '--trace-slow-ms', '250'], (p) => w(p).tracing?.slowMs, 250],
    tls: [['--tls'], (p) => w(p).tls, true],
    'h2c-port': [['--h2c-port', '0'], (p) => w(p).h2cPort, 0],
    'test-scheduled': [['--test-scheduled'], (p) => w(p).testScheduled, true],
    cert: [['--cert', 'c.pem', '--key', 'k.pem'], (p) => w(p).tls, { cert: 'c.pem', key: 'k.pem' }],
    key: [['--key', 'k.pem', '--cert', 'c.pem'], (p) => w(p).tls, { cert: 'c.pem', key: 'k.pem' }],
    'trusted-proxy-header': [
      ['--trusted-proxy-header', 'X-Real-IP'],
      (p) => w(p).trustedProxyHeader,
      'x-real-ip',
    ],
    topology: [['--topology', 'world'], (p) => w(p).topology, 'world'],
    from: [['--from', 'Mumbai'], (p) => w(p).from, 'Mumbai'],
    'simulate-latency': [['--simulate-latency'], (p) => w(p).simulateLatency, true],
    'kv-propagation-ms': [['--kv-propagation-ms', '5'], (p) => w(p).kv?.propagationMs, 5],
    'kv-jitter-ms': [['--kv-jitter-ms', '5'], (p) => w(p).kv?.jitterMs, 5],
    'kv-seed': [['--kv-seed', '5'], (p) => w(p).kv?.seed, 5],
    'cache-api-tenant-mb': [
      ['--cache-api-tenant-mb', '2'],
      (p) => w(p).quotas?.cacheApiTenantBytes,
      2 * 1048576,
    ],
    'fetch-cache-tenant-mb': [
      ['--fetch-cache-tenant-mb', '0.5'],
      (p) => w(p).quotas?.fetchCacheTenantBytes,
      524288,
    ],
    'kv-namespace-quota-mb': [
      ['--kv-namespace-quota-mb', '3'],
      (p) => w(p).quotas?.kvNamespaceBytes,
      3 * 1048576,
    ],
    'do-object-quota-mb': [
      ['--do-object-quota-mb', '4'],
      (p) => w(p).quotas?.durableObjectBytes,
      4 * 1048576,
    ],
    nats: [['--nats', 'nats://127.0.0.1:4222'], (p) => w(p).kv?.nats, 'nats://127.0.0.1:4222'],
    'build-root': [['--build-root', '/tmp'], (p) => w(p).buildRoot, '/tmp'],
    env: [['--env', 'staging'], (p) => w(p).env, 'staging'],
    'egress-allow': [
      ['--egress-allow', '10.0.0.0/8', '--egress-allow', 'api.internal:8080'],
      (p) => w(p).egressAllow,
      ['10.0.0.0/8', 'api.internal:8080'],
    ],
  };

  it('every option has an effect checked here', () => {
    assert.deepEqual(Object.keys(EFFECTS).sort(), dev.options.map((o) => o.name).sort());
  });
  for (const [name, [args, get, want]] of Object.entries(EFFECTS))
    it(`--${name}`, () => {
      assert.notDeepEqual(get(plan(project, [])), want, 'not so without the option');
      assert.deepEqual(get(plan(project, args)), want);
    });
  it('reads every declared option, and none it does not declare', () => {
    const reads = new Set<string>();
    plan(project, [], reads);
    plan(empty, ['--origin', 'http://127.0.0.1:1/'], reads);
    const declared = dev.options.map((o) => o.name);
    assert.deepEqual(
      [...reads].filter((r) => !declared.includes(r)),
      [],
      'read but not declared',
    );
    assert.deepEqual(
      declared.filter((d) => !reads.has(d)),
      [],
      'declared but never read',
    );
  });
  it('CDN proxy mode: origin, topology, from, latency, trusted proxy header, port, ip', () => {
    const p = plan(empty, [
      '--origin',
      'http://127.0.0.1:1/',
      '--topology',
      'world',
      '--from',
      'Mumbai',
      '--simulate-latency',
      '--trusted-proxy-header',
      'X-Forwarded-For',
      '--port',
      '9998',
      '--ip',
      '127.0.0.2',
    ]) as Proxy;
    assert.equal(p.mode, 'proxy');
    assert.equal(p.proxy.origin, 'http://127.0.0.1:1/');
    assert.equal(p.proxy.network?.topology.name, 'world');
    assert.equal(p.proxy.network?.from?.city, 'Mumbai');
    assert.equal(p.proxy.network?.simulateLatency, true);
    assert.equal(p.proxy.trustedProxyHeader, 'x-forwarded-for');
    assert.deepEqual([p.proxy.port, p.proxy.host], [9998, '127.0.0.2']);
  });
  it('CDN proxy mode traces as worker mode does: --trace-endpoint, --trace-sample, --trace-slow-ms', () => {
    const p = plan(empty, [
      '--origin',
      'http://127.0.0.1:1/',
      '--trace-endpoint',
      OTLP,
      '--trace-sample',
      '0.25',
      '--trace-slow-ms',
      '300',
    ]) as Proxy;
    assert.deepEqual(p.proxy.tracing, { endpoint: OTLP, sampleRatio: 0.25, slowMs: 300 });
    // Without a flag, the OpenTelemetry variables decide (as in worker mode): none set, no tracing.
    const saved = [process.env.OTEL_EXPORTER_OTLP_ENDPOINT, process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT];
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    try {
      assert.equal((plan(empty, ['--origin', 'http://127.0.0.1:1/']) as Proxy).proxy.tracing, undefined);
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:4318';
      assert.equal(
        (plan(empty, ['--origin', 'http://127.0.0.1:1/']) as Proxy).proxy.tracing?.endpoint,
        'http://127.0.0.1:4318/v1/traces',
      );
    } finally {
      if (saved[0] === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved[0];
      if (saved[1] !== undefined) process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = saved[1];
    }
  });
  it('CDN proxy mode refuses the options only a Workers project uses, naming them', () => {
    for (const args of [
      ['--tls'],
      ['--h2c-port', '0'],
      ['--cpu-ms', '5'],
      ['--nats', 'nats://x'],
      ['--no-watch'],
    ])
      assert.throws(
        () => plan(empty, ['--origin', 'http://127.0.0.1:1/', ...args]),
        // Named as typed (--no-watch, not --watch).
        new RegExp(`^Error: ${args[0]} is for a Workers project; .* CDN proxy mode`),
      );
  });
  it('bad values are refused, naming the option', () => {
    assert.throws(
      () => plan(project, ['--log-level', 'loud']),
      /--log-level must be debug, info, warn or error, received "loud"/,
    );
    assert.throws(
      () => plan(project, ['--log-format', 'xml']),
      /--log-format must be pretty or json, received "xml"/,
    );
    assert.throws(
      () => plan(project, ['--trusted-proxy-header', 'a b']),
      /--trusted-proxy-header must be a header name/,
    );
    assert.throws(() => plan(project, ['--cert', 'c.pem']), /give both --cert FILE and --key FILE/);
    assert.throws(
      () => plan(project, ['--trace-endpoint', 'http://127.0.0.1:4318/v1/traces', '--trace-sample', '2']),
      /--trace-endpoint\/--trace-sample\/--trace-slow-ms: sample ratio must be a number from 0 to 1, received 2/,
    );
    assert.throws(
      () => plan(project, ['--trace-endpoint', 'collector']),
      /endpoint must be a URL, received "collector"/,
    );
  });
  it('tracing follows the OpenTelemetry exporter variables when no flag says', () => {
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://collector:4318/';
    try {
      assert.equal(w(plan(project, [])).tracing?.endpoint, 'http://collector:4318/v1/traces');
      assert.equal(w(plan(project, ['--trace-endpoint', OTLP])).tracing?.endpoint, OTLP);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
    }
  });

  it('a server started from the options: --h2c-port serves HTTP/2 with prior knowledge, --trusted-proxy-header is believed', async () => {
    const p = plan(project, [
      '--port',
      '0',
      '--h2c-port',
      '0',
      '--trusted-proxy-header',
      'X-Real-IP',
      '--no-watch',
    ]) as Worker;
    const server = await startDev({
      ...p.dev,
      observer: memoryObserver(),
      runtime: { ...p.dev.runtime, poolSize: 1 },
    });
    try {
      assert.match(server.h2cUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(new URL(server.h2cUrl as string).port, String(server.port));
      const session = http2.connect(server.h2cUrl as string);
      const answer = await new Promise<{ status: unknown; body: string }>((resolve, reject) => {
        const r = session.request({ ':path': '/', 'x-real-ip': '203.0.113.77' });
        let body = '';
        let status: unknown;
        r.on('response', (h) => (status = h[':status']));
        r.on('data', (d) => (body += d));
        r.on('end', () => resolve({ status, body }));
        r.on('error', reject);
        r.end();
      });
      session.close();
      assert.deepEqual(answer, { status: 200, body: 'hi 203.0.113.77' });
      // HTTP/1.1 stays on the main port.
      assert.equal(await (await fetch(server.url)).text(), 'hi 127.0.0.1');
    } finally {
      await server.close();
    }
  });
});

/** Run the CLI in this process, capturing what it prints. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    out: (c) => {
      out += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

describe('outpost cache purge: each option takes effect', () => {
  let upstream: Upstream;
  let proxy: ProxyServer;
  let dir: string;
  const TOKEN = 'a-token-for-the-option-tests';
  before(async () => {
    upstream = await startUpstream();
    for (const path of ['/a/1', '/a/2', '/b/1'])
      upstream.routes.set(path, (_req, res) => {
        res.writeHead(200, { 'cache-control': 'max-age=600', 'cache-tag': path.split('/')[1] });
        res.end(path);
      });
    dir = mkdtempSync(join(tmpdir(), 'outpost-purge-'));
    proxy = await startProxy({
      origin: upstream.url,
      port: 0,
      observer: memoryObserver(),
      config: {
        ...(await import('../src/config/index.ts')).validateProxyConfig(
          { admin: { token: TOKEN } },
          'test',
          dir,
        ),
      },
    });
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const fill = async () => {
    for (const p of ['/a/1', '/a/2', '/b/1']) await (await fetch(`${proxy.url}${p}`)).text();
  };
  const purge = (...args: string[]) =>
    cli('cache', 'purge', dir, '--server', proxy.url, '--token', TOKEN, ...args);
  const host = () => new URL(proxy.url).host;

  const cases: [string, () => string[], RegExp][] = [
    ['--url', () => ['--url', `${proxy.url}/a/1`], /purged 1 entry/],
    ['--prefix', () => ['--prefix', `${host()}/a/`], /purged 2 entries/],
    ['--tag', () => ['--tag', 'b'], /purged 1 entry/],
    ['--everything', () => ['--everything'], /purged 3 entries/],
    ['--worker', () => ['--everything', '--worker', 'someone'], /purged 0 entries/],
  ];
  for (const [name, args, want] of cases)
    it(name, async () => {
      await fill();
      const r = await purge(...args());
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, want);
      await purge('--everything');
    });
  it('--server: without it (and no .outpost/admin.json) there is nothing to talk to', async () => {
    const r = await cli('cache', 'purge', dir, '--everything', '--token', TOKEN);
    assert.equal(r.code, 1);
    assert.match(r.err, /no running dev network found .* pass --server URL/);
  });
  it('--token: a wrong one is refused, and the message says where the token came from', async () => {
    const r = await cli(
      'cache',
      'purge',
      dir,
      '--server',
      proxy.url,
      '--token',
      'wrong-wrong-wrong-wrong',
      '--everything',
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /purge refused \(401\).*came from --token/);
  });
});

describe('outpost kv: each option takes effect', () => {
  let p: ReturnType<typeof copyFixture>;
  before(() => {
    p = copyFixture('kv');
  });
  after(() => p.cleanup());
  const kv = (...args: string[]) => cli('kv', ...args, '--project', p.dir);
  const listed = async (...args: string[]) =>
    JSON.parse((await kv('key', 'list', '--binding', 'STORE', ...args)).out) as {
      name: string;
      expiration?: number;
      metadata?: unknown;
    }[];

  it('--binding and --namespace-id pick the namespace; --project the project', async () => {
    assert.equal((await kv('key', 'put', 'k', 'store', '--binding', 'STORE')).code, 0);
    assert.equal((await kv('key', 'put', 'k', 'other', '--binding', 'OTHER')).code, 0);
    assert.equal((await kv('key', 'get', 'k', '--binding', 'STORE')).out, 'store');
    assert.equal((await kv('key', 'get', 'k', '--binding', 'OTHER')).out, 'other');
    assert.equal((await kv('key', 'get', 'k', '--namespace-id', 'store-ns')).out, 'store');
    const elsewhere = await cli(
      'kv',
      'key',
      'get',
      'k',
      '--binding',
      'STORE',
      '--project',
      join(p.dir, 'src'),
    );
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.err, /wrangler/);
  });
  it('--path, --ttl, --expiration, --metadata (put); --prefix (list); delete and bulk put', async () => {
    const file = join(p.dir, 'value.bin');
    writeFileSync(file, 'from a file');
    await kv('key', 'put', 'f/path', '--path', file, '--binding', 'STORE');
    assert.equal((await kv('key', 'get', 'f/path', '--binding', 'STORE')).out, 'from a file');
    const now = Math.floor(Date.now() / 1000);
    await kv('key', 'put', 'f/ttl', 'x', '--ttl', '3600', '--binding', 'STORE');
    await kv('key', 'put', 'f/exp', 'x', '--expiration', String(now + 7200), '--binding', 'STORE');
    await kv('key', 'put', 'f/meta', 'x', '--metadata', '{"a":1}', '--binding', 'STORE');
    const keys = await listed('--prefix', 'f/');
    assert.deepEqual(
      keys.map((k) => k.name),
      ['f/exp', 'f/meta', 'f/path', 'f/ttl'],
    );
    const by = Object.fromEntries(keys.map((k) => [k.name, k]));
    assert.ok(Math.abs((by['f/ttl'].expiration ?? 0) - (now + 3600)) < 5);
    assert.equal(by['f/exp'].expiration, now + 7200);
    assert.deepEqual(by['f/meta'].metadata, { a: 1 });
    await kv('key', 'delete', 'f/ttl', '--binding', 'STORE');
    const bulk = join(p.dir, 'bulk.json');
    writeFileSync(bulk, JSON.stringify([{ key: 'g/1', value: 'y' }]));
    await kv('bulk', 'put', bulk, '--binding', 'STORE');
    assert.deepEqual(
      (await listed('--prefix', 'g/')).map((k) => k.name),
      ['g/1'],
    );
    assert.equal((await listed('--prefix', 'f/')).length, 3);
  });
  it('--nats: the store is NATS at that address (nothing listening: a clear error)', async () => {
    const r = await kv('key', 'get', 'k', '--binding', 'STORE', '--nats', 'nats://127.0.0.1:1');
    assert.equal(r.code, 1);
    assert.match(r.err, /--nats: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('outpost geodns: each option takes effect', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-geodns-opts-'));
    writeFileSync(
      join(dir, 'addresses.json'),
      JSON.stringify({ SIN: { a: ['192.0.2.17'] }, FRA: { a: ['192.0.2.10'] } }),
    );
    writeFileSync(
      join(dir, 'networks.json'),
      JSON.stringify([{ cidr: '203.0.113.0/24', location: 'Singapore' }]),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const geodns = command('geodns');
  const start = (...args: string[]) =>
    startGeodnsFrom(
      parseOptions(geodns, [
        '--hostname',
        'edge.example.com',
        '--addresses',
        join(dir, 'addresses.json'),
        ...args,
      ]).values,
    );
  const first = (p: Packet) => p.answers?.[0] as { data: string; ttl: number } | undefined;

  it('--hostname, --addresses, --networks, --from, --ttl, --port, --ip', async () => {
    const port = await freePort();
    const { server } = await start(
      '--networks',
      join(dir, 'networks.json'),
      '--from',
      'Frankfurt',
      '--ttl',
      '7',
      '--port',
      String(port),
      '--ip',
      '127.0.0.2',
    );
    try {
      assert.equal(server.port, port);
      const ask = (name: string, ecs?: string) => dnsQuery(port, { type: 'A', name }, ecs, '127.0.0.2');
      const placed = await ask('edge.example.com', '203.0.113.0');
      assert.deepEqual(
        [first(placed)?.data, first(placed)?.ttl],
        ['192.0.2.17', 7],
        '--networks placed it; --ttl',
      );
      assert.equal(
        first(await ask('edge.example.com'))?.data,
        '192.0.2.10',
        '--from for clients nothing places',
      );
      assert.equal(
        ((await ask('other.example.com')) as Packet & { rcode?: string }).rcode,
        'REFUSED',
        '--hostname',
      );
    } finally {
      await server.close();
    }
  });
  it('--topology: the PoPs --addresses may name', async () => {
    const world = new Set(builtinTopology('world')?.pops.map((p) => p.id));
    const only = builtinTopology('world-large')?.pops.find((p) => !world.has(p.id))?.id as string;
    const file = join(dir, 'large.json');
    writeFileSync(file, JSON.stringify({ [only]: { a: ['192.0.2.99'] } }));
    await assert.rejects(
      start('--addresses', file, '--port', '0'),
      new RegExp(`--addresses names "${only}", not a PoP of world`),
    );
    const { server } = await start('--addresses', file, '--topology', 'world-large', '--port', '0');
    await server.close();
  });
  it('--maxmind: the database is read (an unreadable one is named); not together with --networks', async () => {
    await assert.rejects(
      start('--maxmind', join(dir, 'missing.mmdb'), '--port', '0'),
      /--maxmind .*missing\.mmdb is not a readable MaxMind database/,
    );
    await assert.rejects(
      start('--maxmind', join(dir, 'missing.mmdb'), '--networks', join(dir, 'networks.json')),
      /give --maxmind FILE or --networks FILE, not both/,
    );
  });
});
