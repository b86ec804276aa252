// Tenants across the processes of a node: `tenants` hello-world tenants (host t<i>.density.test)
// behind one port that this process holds, handing each connection to the process of its host
// (src/network/affinity.ts, what `outpost node --processes N` does). Each tenant is asked once
// (its cold start, a fresh connection each, `concurrency` at a time), then once more one at a
// time (its next request, measured from outside). Reported: the isolates each process holds (no
// tenant in two), RSS per tenant after GC against the processes' RSS before any tenant, and the
// next request's latency. Baseline in the same run: the same next request to one tenant warm
// in a loop (what a warm request costs through the same path).
import { type ChildProcess, fork } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { hostEnv } from '../bin/env.mjs';
import { processSlot, type Slot, shareByHost } from '../src/network/index.ts';
import { fmt, median, percentile } from './util.ts';

interface Figures {
  rss: number;
  isolates: number;
  evictions: number;
  heap: number;
}

/** GET / for `host` on a fresh connection; ms until the whole answer, or an error. */
function get(port: number, host: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path: '/', agent: false, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(performance.now() - started)
          : reject(new Error(`${host}: ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

export async function density(opts: { tenants: number; processes: number; concurrency?: number }) {
  const children: ChildProcess[] = [];
  const slots: Slot[] = [];
  let share: Awaited<ReturnType<typeof shareByHost>> | null = null;
  const ready: Promise<void>[] = [];
  for (let i = 0; i < opts.processes; i++) {
    const child = fork(join(import.meta.dirname, 'density-child.ts'), [], {
      execArgv: ['--no-node-snapshot', '--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...hostEnv(), DENSITY_SLOT: String(i), DENSITY_OF: String(opts.processes) },
    });
    ready.push(
      new Promise((resolve, reject) => {
        slots.push(
          processSlot(child, () => {
            share?.flush();
            resolve();
          }),
        );
        child.once('exit', (code) => reject(new Error(`density process ${i} exited with ${code}`)));
      }),
    );
    children.push(child);
  }
  const figures = () =>
    Promise.all(
      children.map(
        (c) =>
          new Promise<Figures>((resolve) => {
            const on = (m: { type?: string } & Figures) => {
              if (m?.type !== 'density:figures') return;
              c.off('message', on);
              resolve(m);
            };
            c.on('message', on);
            c.send({ type: 'density:figures' });
          }),
      ),
    );
  try {
    await Promise.all(ready);
    share = await shareByHost({ host: '127.0.0.1', port: 0, slots });
    const port = share.port;
    const before = await figures();
    const hosts = Array.from({ length: opts.tenants }, (_, i) => `t${i}.density.test`);
    // Cold: each tenant's first request, a few at a time.
    const coldStarted = performance.now();
    let next = 0;
    const cold: number[] = [];
    await Promise.all(
      Array.from({ length: opts.concurrency ?? 8 }, async () => {
        while (next < hosts.length) cold.push(await get(port, hosts[next++] as string));
      }),
    );
    const coldSeconds = (performance.now() - coldStarted) / 1000;
    const after = await figures();
    // Next request of every tenant, one at a time; the baseline: one tenant, the same way.
    const nextMs: number[] = [];
    for (const h of hosts) nextMs.push(await get(port, h));
    const base: number[] = [];
    for (let i = 0; i < Math.min(2000, hosts.length); i++) base.push(await get(port, hosts[0] as string));
    const isolates = after.map((f) => f.isolates);
    const added = after.reduce((a, f, i) => a + f.rss - (before[i] as Figures).rss, 0);
    const mb = (b: number) => b / 1024 / 1024;
    const perTenant = mb(added / opts.tenants);
    const totalGb = after.reduce((a, f) => a + f.rss, 0) / 1024 ** 3;
    return {
      tenants: opts.tenants,
      processes: opts.processes,
      isolates,
      evictions: after.reduce((a, f) => a + f.evictions, 0),
      rssPerTenantMb: perTenant,
      totalRssGb: totalGb,
      nextP50: median(nextMs),
      nextP99: percentile(nextMs, 99),
      baseP50: median(base),
      baseP99: percentile(base, 99),
      table: [
        `density, ${opts.tenants} tenants across ${opts.processes} processes of one port (connections handed by host)`,
        `  isolates per process ${isolates.join(' + ')} = ${isolates.reduce((a, b) => a + b, 0)} (evictions ${after.reduce((a, f) => a + f.evictions, 0)}); handed ${share.handed.join(' / ')}`,
        `  RSS per tenant ${fmt(perTenant)} MB (goal <= 2 MB); all processes ${fmt(totalGb)} GiB after GC`,
        `  first requests: ${fmt(coldSeconds, 1)} s for all, p50 ${fmt(median(cold))} ms, p99 ${fmt(percentile(cold, 99))} ms (${opts.concurrency ?? 8} at a time)`,
        `  next request of each tenant p50 ${fmt(median(nextMs))} / p99 ${fmt(percentile(nextMs, 99))} ms; one warm tenant, same path (baseline) p50 ${fmt(median(base))} / p99 ${fmt(percentile(base, 99))} ms`,
      ],
    };
  } finally {
    await share?.close();
    for (const c of children) c.disconnect();
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
    );
  }
}

// Alone: `node --import tsx bench/density.ts [tenants] [processes]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await density({
    tenants: Number(process.argv[2] ?? 10_000),
    processes: Number(process.argv[3] ?? 2),
  });
  console.log(r.table.join('\n'));
  process.exit(0);
}
