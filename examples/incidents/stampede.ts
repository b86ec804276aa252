// Replay of the seed's first incident: a cache stampede. Every PoP of the `world` topology holds
// the same popular resource with the same TTL; it expires everywhere at once and every PoP's
// traffic misses together. Without tiering each PoP goes to the origin; with regional shields,
// an upper tier and coalescing at each, the origin sees one request.
//
//   node --no-node-snapshot --import tsx examples/incidents/stampede.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { memoryObserver } from '../../src/observability/index.ts';
import { startDev } from '../../src/pop/index.ts';
import { builtinTopology } from '../../src/network/index.ts';

const world = builtinTopology('world')!;
let originRequests = 0;
const origin = createServer((_req, res) => {
  originRequests++;
  // A slow origin: the misses pile up while it answers.
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ popular: true, served: originRequests }));
  }, 200);
});
await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

async function replay(tieredCache: boolean): Promise<{ fill: number; stampede: number }> {
  const dev = await startDev({
    dir: join(import.meta.dirname, 'stampede-worker'),
    port: 0,
    watch: false,
    observer: memoryObserver(),
    topology: 'world',
    tieredCache,
    runtime: { poolSize: 0 },
    limits: { cpuMs: 1000 },
    // The origin is on this machine: a network's workers reach loopback only when allowed.
    egressAllow: ['loopback'],
  });
  const hit = (pop: string) =>
    fetch(`${dev.url}/?origin=${encodeURIComponent(originUrl)}`, { headers: { 'outpost-pop': pop } }).then((r) => r.text());
  try {
    originRequests = 0;
    for (const p of world.pops) await hit(p.id); // every PoP caches it
    const fill = originRequests;
    await new Promise((r) => setTimeout(r, 2100)); // …and it expires everywhere at once
    originRequests = 0;
    // Ten users at every PoP ask for it in the same instant.
    await Promise.all(world.pops.flatMap((p) => Array.from({ length: 10 }, () => hit(p.id))));
    return { fill, stampede: originRequests };
  } finally {
    await dev.close();
  }
}

const without = await replay(false);
const withTiers = await replay(true);
origin.close();
console.log(`Cache stampede replay: ${world.pops.length} PoPs × 10 users, synchronized expiry of one resource`);
console.log(`  without shields (each PoP coalesces its own misses): origin saw ${without.stampede} requests`);
console.log(`  with regional shields, an upper tier and coalescing:  origin saw ${withTiers.stampede} request(s)`);
process.exit(withTiers.stampede === 1 ? 0 : 1);
