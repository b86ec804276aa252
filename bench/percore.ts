// Requests/s per core: every server under test on core 0 (all its threads: Outpost's isolate
// threads share the core with its main thread), one at a time, and wrk (C, one thread, 64
// connections) on core 1, so the load generator is never the limit and no server borrows the
// other core. Each path is measured on Outpost, plain node:http doing the same work and workerd
// (Cloudflare's runtime, from the `workerd` npm package) on the same worker code; cache hits
// against nginx serving the same bytes as a static file. Rounds rotate the order of the servers;
// figures are medians. Each row also gives CPU per request (each server's threads and child
// processes, read from /proc around each round): steadier than requests/s when other work on
// the machine takes the server's core now and then. Without wrk this table is not measured (autocannon, in Node, would be the
// bottleneck); without taskset it says so.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMicros, hasWrk, load, loadCounted, pin, startNginx, startNode, type Target } from './platform.ts';
import { fmt, median } from './util.ts';
import { startWorkerd } from './workerd.ts';

interface PerCore {
  key: string;
  label: string;
  path: string;
  /** Bytes each response must carry at least (checked by the load generator). */
  bytes: number;
  headers?: string[];
  /** Outpost first, then what it is measured against; a string says why a peer is missing. */
  targets: () => Promise<(Target | string)[]>;
  /** Goals: ratio of Outpost to the target with this label. */
  goals: Record<string, number>;
}

/** What a browser sends on a navigation (the header echo's input). */
const BROWSER = [
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language: en-GB,en;q=0.9',
  'Accept-Encoding: gzip, deflate, br',
  'Cookie: session=0123456789abcdef; theme=dark',
  'Referer: https://example.com/',
];

const node = (mode: string) => startNode('plain', [mode], 'node:http');
const outpost = (project: string, label = 'Outpost') => startNode('outpost', [project], label);

async function nginxServing(bytes: number): Promise<Target | string> {
  const root = mkdtempSync(join(tmpdir(), 'outpost-bench-static-'));
  // nginx's worker runs as an unprivileged user: the folder and file must be readable to it.
  chmodSync(root, 0o755);
  writeFileSync(join(root, 'asset'), Buffer.alloc(bytes, 97), { mode: 0o644 });
  return startNginx(root);
}

/** One hot Durable Object (bench/fixtures/durable) against a constant worker and workerd. */
function durableObject(key: string, by: string, path: string): PerCore {
  return {
    key,
    label: `one Durable Object by ${by}`,
    path,
    bytes: 1,
    targets: async () => [
      await outpost('durable'),
      await outpost('hello', 'constant worker'),
      await startWorkerd('durable'),
    ],
    goals: { 'constant worker': 0.5 },
  };
}

/** Cache hits of `bytes` in CDN proxy mode against nginx's static file and node:http's memory. */
function cacheHits(key: string, size: string, bytes: number): PerCore {
  return {
    key,
    label: `CDN proxy mode, cache hits, ${size}`,
    path: '/asset',
    bytes,
    targets: async () => [
      await startNode('proxy', [String(bytes)], 'Outpost'),
      await nginxServing(bytes),
      await node(key),
    ],
    goals: { nginx: 1.0 },
  };
}

export const PER_CORE: PerCore[] = [
  {
    key: 'hello',
    label: 'hello world',
    path: '/',
    bytes: 12,
    targets: async () => [await outpost('hello'), await node('hello'), await startWorkerd('hello')],
    goals: { 'node:http': 0.5, workerd: 1.2 },
  },
  {
    key: 'echo',
    label: 'request headers echoed as JSON',
    path: '/',
    bytes: 300,
    headers: BROWSER,
    targets: async () => [await outpost('echo'), await node('echo'), await startWorkerd('echo')],
    goals: { 'node:http': 0.5, workerd: 1.2 },
  },
  {
    key: 'hono',
    label: 'Hono JSON route',
    path: '/api/users/42?fields=name',
    bytes: 38,
    targets: async () => [await outpost('hono'), await node('hono'), await startWorkerd('hono')],
    goals: { 'node:http': 0.5 },
  },
  {
    key: 'kvread',
    label: 'a worker answering with a KV value',
    path: '/',
    bytes: 12,
    targets: async () => [
      await outpost('kv'),
      await outpost('hello', 'constant worker'),
      // One await of a settled promise: the least a read answered in the isolate can cost.
      await outpost('await', 'awaiting a constant'),
    ],
    goals: { 'constant worker': 0.9 },
  },
  durableObject('dorpc', 'RPC', '/rpc'),
  durableObject('dofetch', 'stub.fetch()', '/fetch'),
  {
    // Every answer waits for its write to be on the disk: the cost of the output gate's fsyncs
    // (shared by concurrent calls: src/durable-objects/wal-sync.ts). workerd is left out: its
    // Durable Objects here keep storage in memory.
    key: 'dowrite',
    label: 'one Durable Object by RPC, writing one key per call',
    path: '/write',
    bytes: 1,
    targets: async () => [await outpost('durable'), await outpost('hello', 'constant worker')],
    goals: {},
  },
  {
    // The same with the row written by SQL: the SQL host process commits, the main thread waits.
    key: 'dosqlwrite',
    label: 'one Durable Object by RPC, writing one row by SQL per call',
    path: '/sqlwrite',
    bytes: 1,
    targets: async () => [await outpost('durable'), await outpost('hello', 'constant worker')],
    goals: {},
  },
  cacheHits('cache1k', '1 KB', 1024),
  cacheHits('cache100k', '100 KB', 100 * 1024),
  {
    // What handing connections by host costs (src/network/affinity.ts): a connection per request
    // to two processes behind one port, against Node's cluster (round-robin). Nothing per request
    // after a connection's first.
    key: 'handoff',
    label: 'a connection per request, 2 processes',
    path: '/',
    bytes: 12,
    headers: ['Connection: close', 'Host: t1.example'],
    targets: async () => [
      await startNode('handoff', ['affinity'], 'handed by host'),
      await startNode('handoff', ['cluster'], "Node's cluster"),
    ],
    goals: {},
  },
];

export async function perCoreBench(opts: { rounds: number; seconds: number; only?: string }) {
  if (!hasWrk)
    return {
      table: ['Per core: not measured: wrk is not installed (Debian: apt-get install -y wrk)'],
      ratios: {},
    };
  const pinned = pin(process.pid, 1);
  const table = [
    `Requests/s per core: each server alone on core 0${pinned ? '' : ' (taskset missing: NOT pinned)'}, wrk -t1 -c64 on core 1, ` +
      `${opts.rounds} rounds × ${opts.seconds} s in rotating order, medians`,
  ];
  const ratios: Record<string, Record<string, number>> = {};
  for (const s of PER_CORE) {
    if (opts.only && opts.only !== s.key) continue;
    const started = await s.targets();
    const targets = started.filter((t): t is Target => typeof t !== 'string');
    const missing = started.filter((t): t is string => typeof t === 'string');
    try {
      for (const t of targets) await load(t.port, s.path, 1, s.bytes, s.headers).catch(() => 0); // warm
      const rps = new Map<Target, number[]>(targets.map((t) => [t, []]));
      // CPU per request, µs, of each server (its threads and children), read from /proc.
      const cpu = new Map<Target, number[]>(targets.map((t) => [t, []]));
      const failures: string[] = [];
      for (let i = 0; i < opts.rounds; i++) {
        // Rotate, and reverse every other round: whatever favours a position hits all alike.
        const order = targets.map((_, k) => targets[(k + i) % targets.length]);
        if (i % 2) order.reverse();
        for (const t of order)
          try {
            const before = t.pid === undefined ? null : cpuMicros(t.pid);
            const r = await loadCounted(t.port, s.path, opts.seconds, s.bytes, s.headers);
            const after = t.pid === undefined ? null : cpuMicros(t.pid);
            rps.get(t)?.push(r.rps);
            const used =
              before !== null && after !== null && r.requests > 0 ? (after - before) / r.requests : NaN;
            if (Number.isFinite(used)) cpu.get(t)?.push(used);
          } catch (err) {
            // A round with errors (e.g. requests past wrk's 2 s timeout) is reported, not counted.
            const first = /Socket errors:[^\n]*|Non-2xx[^\n]*/.exec(String((err as Error).message))?.[0];
            failures.push(`${t.label} round ${i + 1}: ${first ?? (err as Error).message.split('\n')[0]}`);
          }
      }
      const [mine, ...peers] = targets;
      const m = median(rps.get(mine) ?? []);
      ratios[s.key] = {};
      const parts = [`${mine.label} ${fmt(m, 0)}`];
      for (const p of peers) {
        const r = m / median(rps.get(p) ?? []);
        ratios[s.key][p.label] = r;
        const goal = s.goals[p.label];
        parts.push(
          `${p.label} ${fmt(median(rps.get(p) ?? []), 0)} (${fmt(r)}x${goal ? `, goal ≥ ${fmt(goal)}x` : ''})`,
        );
      }
      table.push(`  ${s.label.padEnd(36)} ${parts.join('   ')}`);
      // The same comparison as CPU per request: peer's over Outpost's (above 1: Outpost spends less).
      const mineCpu = median(cpu.get(mine) ?? []);
      if (Number.isFinite(mineCpu) && mineCpu > 0) {
        const cpuParts = [`${mine.label} ${fmt(mineCpu, 1)} µs`];
        for (const p of peers) {
          const theirs = median(cpu.get(p) ?? []);
          if (!Number.isFinite(theirs) || theirs <= 0) continue;
          ratios[s.key][`${p.label} (CPU)`] = theirs / mineCpu;
          cpuParts.push(`${p.label} ${fmt(theirs, 1)} µs (${fmt(theirs / mineCpu)}x)`);
        }
        table.push(`  ${'  CPU per request'.padEnd(36)} ${cpuParts.join('   ')}`);
      }
      for (const why of missing) table.push(`    not measured against a peer: ${why}`);
      for (const f of failures) table.push(`    errors, round not counted: ${f}`);
    } finally {
      for (const t of targets) t.stop();
    }
  }
  return { table, ratios };
}
