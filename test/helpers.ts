import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { memoryObserver } from '../src/observability/index.ts';
import { type DevOptions, type DevServer, startDev } from '../src/pop/index.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export interface Upstream {
  url: string;
  records: string[];
  hits: Map<string, number>;
  /** Extra paths a test serves (checked before the built-in ones). */
  routes: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
  close(): Promise<void>;
}

/** A small origin for subrequest tests, on 127.0.0.1 with an ephemeral port. */
export async function startUpstream(): Promise<Upstream> {
  const records: string[] = [];
  const hits = new Map<string, number>();
  const routes: Upstream['routes'] = new Map();
  const server: Server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    hits.set(u.pathname, (hits.get(u.pathname) ?? 0) + 1);
    const route = routes.get(u.pathname);
    if (route) return route(req, res);
    if (u.pathname === '/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ query: u.search, sent: req.headers['x-sent'] ?? null }));
    }
    if (u.pathname === '/echo') {
      let body = '';
      for await (const c of req) body += c;
      return res.end(`${req.method} ${body}`);
    }
    if (u.pathname === '/redirect') {
      res.writeHead(302, { location: '/json?redirected=1' });
      return res.end();
    }
    if (u.pathname === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 97);
      for (let i = 0; i < 16; i++) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      return res.end();
    }
    if (u.pathname === '/slow') {
      const t = setTimeout(() => res.end('slow'), 2000);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (u.pathname === '/record') {
      records.push(u.searchParams.get('id') ?? '');
      return res.end('ok');
    }
    res.writeHead(404);
    res.end('upstream 404');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records,
    hits,
    routes,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export type TestDev = DevServer & { logs: ReturnType<typeof memoryObserver>['entries'] };

/** Start `outpost dev` in-process on an ephemeral port against a fixture (or any folder). */
export async function startFixture(nameOrDir: string, options: Partial<DevOptions> = {}): Promise<TestDev> {
  const observer = memoryObserver();
  const dir = nameOrDir.startsWith('/') ? nameOrDir : join(FIXTURES, nameOrDir);
  // Integration tests check behaviour; the CPU limit has its own tests (which pass their own).
  // A generous default keeps a loaded CI machine from failing first requests: isolated-vm's
  // cpuTime runs on while an isolate's thread is descheduled (docs/runtime.md).
  const limits = { cpuMs: 1000, ...options.limits };
  const dev = await startDev({
    dir,
    port: 0,
    watch: false,
    observer,
    // A pool that does not grow after bursts of tenants (src/runtime/pool-demand.ts): tests
    // measuring CPU or memory must not meet its background work.
    runtime: { poolSize: 1, poolMax: 0 },
    ...options,
    limits,
  });
  return Object.assign(dev, { logs: observer.entries });
}

/**
 * `outpost dev <dir>` in a child process on an ephemeral port — the CLI itself, not
 * bin/outpost.mjs, so SIGKILL reaches the process that serves — resolved once it prints its URL.
 * `output()` is everything it printed so far.
 */
export function startDevProcess(
  dir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; url: string; output(): string }> {
  const main = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--import', 'tsx', main, 'dev', dir, '--port', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`outpost dev did not start: ${out}`)), 30_000);
    const seen = (d: Buffer) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[0], output: () => out });
      }
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`outpost dev exited with ${code}: ${out}`)));
  });
}

/** Copy a fixture into a temp folder (for tests that edit files). */
export function copyFixture(name: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `outpost-${name}-`));
  // Not the state a test serving the fixture in place left behind (.outpost/): a copy starts fresh.
  cpSync(join(FIXTURES, name), dir, {
    recursive: true,
    filter: (src) => !src.split(sep).includes('.outpost'),
  });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The Durable Objects fixture (test/fixtures/durable) copied and served by `outpost dev`, with
 * `rpc(name, method, ...args)`: a method of the object named `name`, through the worker.
 */
export async function startDurableFixture(): Promise<{
  dev: TestDev;
  rpc(name: string, method: string, ...args: unknown[]): Promise<any>;
  close(): Promise<void>;
}> {
  const project = copyFixture('durable');
  const dev = await startFixture(project.dir);
  return {
    dev,
    rpc: async (name, method, ...args) => {
      const q = new URLSearchParams({ name, method, args: JSON.stringify(args) });
      return (await fetch(`${dev.url}/rpc?${q}`)).json();
    },
    close: async () => {
      await dev.close();
      project.cleanup();
    },
  };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Run `attack` while tenant `neighbour` of `net` is asked `path` (answering 204), one request
 * after another: the neighbour answers every time, at a sane median latency (generous: 2
 * shared cores, and a heap bomb's GC holds one of them).
 */
export async function neighbourAnswers<T>(
  net: { fetchAs(tenant: string, path: string): Promise<Response> },
  attack: () => Promise<T>,
  neighbour = 'neighbour',
  path = '/status?s=204',
): Promise<T> {
  let done = false;
  const latencies: number[] = [];
  const probe = (async () => {
    while (!done || latencies.length < 5) {
      const t0 = performance.now();
      const res = await net.fetchAs(neighbour, path);
      assert.equal(res.status, 204, 'the neighbour answered');
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    return await attack();
  } finally {
    done = true;
    await probe;
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)];
    assert.ok(p50 < 250, `neighbour p50 ${p50.toFixed(1)} ms over ${latencies.length} requests`);
  }
}

import { loadConfig } from '../src/config/index.ts';
import { DurableObjects, ObjectDirectory } from '../src/durable-objects/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { devCf, type PopServer, startPopServer } from '../src/pop/index.ts';
import { bundleWorker, type Limits, Runtime, type RuntimeOptions } from '../src/runtime/index.ts';

export interface TestNetwork {
  url: string;
  runtime: Runtime;
  logs: ReturnType<typeof memoryObserver>['entries'];
  /** fetch on the PoP as a tenant (routed by the `outpost-tenant` header). */
  fetchAs(tenant: string, path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** Several fixture projects served by one PoP, one tenant each, routed by header. */
export async function startTenants(
  tenants: Record<string, string | { fixture: string; limits: Partial<Limits> }>,
  runtime: RuntimeOptions = {},
): Promise<TestNetwork> {
  const observer = memoryObserver();
  // Workers here fetch origins the tests start on 127.0.0.1: this PoP opts in to loopback egress,
  // as `outpost dev` does (the default refuses it; test/security/egress.test.ts passes its own).
  const rt = new Runtime({ observer, poolSize: 2, poolMax: 0, egress: { allow: ['loopback'] }, ...runtime });
  for (const [tenant, spec] of Object.entries(tenants)) {
    const { fixture, limits } = typeof spec === 'string' ? { fixture: spec, limits: {} } : spec;
    const config = loadConfig(join(FIXTURES, fixture), { warn: () => {} });
    rt.deploy(tenant, await bundleWorker(config), config, limits);
    await rt.warm(tenant);
  }
  return serve(rt, observer, (req) => String(req.headers['outpost-tenant'] ?? ''));
}

/** `rt` served by one PoP on an ephemeral port; `cleanup` runs after both have closed. */
async function serve(
  rt: Runtime,
  observer: ReturnType<typeof memoryObserver>,
  route: (req: { headers: Record<string, string | string[] | undefined> }) => string,
  cleanup: () => void = () => {},
): Promise<TestNetwork> {
  const server: PopServer = await startPopServer({
    runtime: rt,
    route,
    port: 0,
    dev: true,
    cf: devCf,
    observer,
  });
  return {
    url: server.url,
    runtime: rt,
    logs: observer.entries,
    fetchAs: (tenant, path, init = {}) =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: { ...(init.headers as object), 'outpost-tenant': tenant },
      }),
    close: async () => {
      await server.close();
      await rt.close();
      cleanup();
    },
  };
}

/**
 * One worker from its source (a temporary project of one module), served by one PoP; `toml` is
 * appended to its wrangler.toml (bindings).
 */
export async function startWorkerSource(
  code: string,
  runtime: RuntimeOptions = {},
  toml = '',
): Promise<TestNetwork> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-source-'));
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "source"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n${toml}`,
  );
  writeFileSync(join(dir, 'index.js'), code);
  const observer = memoryObserver();
  const rt = new Runtime({ observer, poolSize: 1, poolMax: 0, ...runtime });
  const config = loadConfig(dir, { warn: () => {} });
  rt.deploy('source', await bundleWorker(config), config);
  return serve(
    rt,
    observer,
    () => 'source',
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

/**
 * startWorkerSource with Durable Objects kept in a temporary directory (`toml` declares their
 * bindings and migrations); closing the network closes them too.
 */
export async function startWorkerWithObjects(
  code: string,
  runtime: RuntimeOptions,
  toml: string,
): Promise<TestNetwork> {
  let rt: Runtime | undefined;
  const objects = new DurableObjects({
    directory: new ObjectDirectory(mkdtempSync(join(tmpdir(), 'outpost-objects-'))),
    observer: noopObserver,
    runtimeFor: () => rt as Runtime,
  });
  const net = await startWorkerSource(code, { objects, ...runtime }, toml);
  rt = net.runtime;
  return {
    ...net,
    close: async () => {
      await net.close();
      await objects.close();
    },
  };
}
