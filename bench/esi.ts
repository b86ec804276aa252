/**
 * ESI at the PoP (issue: "ESI page assembly, 10 fragments, all cached, against serving the same
 * assembled page from cache, same run"): one PoP process pinned to core 0, wrk on core 1; the
 * template and its 10 fragments come from the PoP's cache and are assembled on every request,
 * against the finished page served from the same cache. Throughput with 64 connections and p50
 * latency with one, interleaved, fresh server each round.
 */
import { hasWrk, latencyP50, load, startNode } from './platform.ts';
import { fmt, median } from './util.ts';

export async function esiBench(opts: { rounds: number; seconds: number }) {
  if (!hasWrk)
    return { table: ['ESI: not measured: wrk is not installed (apt-get install -y wrk)'], ratios: {} };
  const paths = [
    { label: 'assembled page from cache', path: '/assembled' },
    { label: 'ESI: template + 10 fragments from cache', path: '/esi' },
  ];
  const rps = paths.map(() => [] as number[]);
  const lat = paths.map(() => [] as number[]);
  for (let round = 0; round < opts.rounds; round++) {
    const target = await startNode('esi', [], 'outpost');
    try {
      // Fill the cache (template, fragments, page), then measure both, in alternating order.
      for (const p of paths) await load(target.port, p.path, 1, 1000);
      const order = round % 2 ? [1, 0] : [0, 1];
      for (const k of order) {
        rps[k].push(await load(target.port, paths[k].path, opts.seconds, 1000));
        lat[k].push(latencyP50(target.port, paths[k].path, Math.max(1, Math.floor(opts.seconds / 2))));
      }
    } finally {
      target.stop();
    }
  }
  const base = median(rps[0]);
  const table = [
    `ESI at the PoP — ${opts.rounds} rounds of ${opts.seconds} s, medians; PoP on core 0, wrk on core 1`,
    '| page | req/s (64 conns) | ratio | p50 latency, 1 conn |',
    '|---|---|---|---|',
    ...paths.map(
      (p, k) =>
        `| ${p.label} | ${fmt(median(rps[k]), 0)} | ${fmt(median(rps[k]) / base)}x | ${fmt(median(lat[k]), 3)} ms |`,
    ),
  ];
  return { table, ratios: { esi: median(rps[1]) / base, esiLatencyMs: median(lat[1]) - median(lat[0]) } };
}
