// workerd (the `workerd` npm package's binary, Cloudflare's own runtime) serving a bench fixture,
// as the peer every per-core figure is printed against (bench/percore.ts). The fixture is bundled
// by esbuild into one module; its Durable Object classes get namespaces with in-memory storage.
// Bindings workerd cannot be given without a service behind them (KV, D1) are refused by name.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parse } from 'smol-toml';
import { freePort, pin, type Target } from './platform.ts';

const require = createRequire(import.meta.url);

/** The workerd binary, or why there is none. */
function binary(): string {
  try {
    const bin = join(require.resolve('workerd/package.json'), '..', 'bin', 'workerd');
    if (!existsSync(bin)) return '';
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
    return bin;
  } catch {
    return '';
  }
}

interface Wrangler {
  main: string;
  compatibility_date?: string;
  durable_objects?: { bindings?: { name: string; class_name: string }[] };
  kv_namespaces?: unknown[];
  d1_databases?: unknown[];
}

/** workerd on `fixture` (bench/fixtures/<name>), pinned to core 0; a string says why not. */
export async function startWorkerd(fixture: string): Promise<Target | string> {
  const bin = binary();
  if (!bin) return 'workerd is not installed (npm install workerd)';
  const dir = join(import.meta.dirname, 'fixtures', fixture);
  const config = parse(readFileSync(join(dir, 'wrangler.toml'), 'utf8')) as unknown as Wrangler;
  if (config.kv_namespaces?.length || config.d1_databases?.length)
    return `${fixture} binds KV or D1, which workerd serves only with a service behind them`;
  const out = mkdtempSync(join(tmpdir(), 'outpost-bench-workerd-'));
  await build({
    entryPoints: [join(dir, config.main)],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    outfile: join(out, 'worker.js'),
    logLevel: 'error',
  });
  const objects = config.durable_objects?.bindings ?? [];
  const port = await freePort();
  writeFileSync(
    join(out, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "${config.compatibility_date ?? '2025-06-01'}",
  bindings = [ ${objects.map((o) => `(name = "${o.name}", durableObjectNamespace = "${o.class_name}")`).join(', ')} ],
  durableObjectNamespaces = [ ${objects.map((o) => `(className = "${o.class_name}", uniqueKey = "${o.class_name}")`).join(', ')} ],
  ${objects.length ? 'durableObjectStorage = (inMemory = void),' : ''}
);
`,
  );
  const child = spawn(bin, ['serve', join(out, 'config.capnp')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  for (let i = 0; ; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      if (i === 100 || child.exitCode !== null) {
        child.kill();
        return `workerd did not start: ${err.slice(0, 500)}`;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  pin(child.pid as number, 0);
  return { label: 'workerd', port, pid: child.pid, stop: () => child.kill('SIGTERM') };
}
