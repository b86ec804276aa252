// Replay of the seed's third incident: a cold start cascade. A deploy switched every PoP to new
// code at once; every isolate was evicted, and the next requests everywhere paid for the new
// version's heavy top level together (p99 from ~50 ms to 800 ms). The fix: canary PoPs first,
// then waves, each PoP loading the new version (running its top level) before switching to it.
//
// Six PoP runtimes serve steady traffic from 12 clients; a new version whose top level costs
// ~150 ms of CPU (the "heavy dependency") is deployed twice:
//   1. a global switch without pre-warming (Runtime.deploy at every PoP at once: the old isolates
//      retire, the next request at each PoP loads the new one),
//   2. waves with pre-warming (canary, then 2 PoPs, then the rest; Runtime.stage: the old version
//      serves until the new one's top level has run), as `outpost deploy` does to node processes.
// It prints the latency of the requests served while each deploy was under way.
//
//   node --no-node-snapshot --import tsx examples/incidents/cold-start.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { memoryObserver } from '../../src/observability/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';

const POPS = ['FRA', 'LHR', 'IAD', 'SFO', 'SYD', 'NRT'];
const CLIENTS = 12;
/** Workers' clocks stand still while they run, so a heavy top level is counted in additions. */
const heavy = (version: string) => `// The "heavy dependency": built at the top level, on every cold start.
const table = new Float64Array(1 << 16);
let x = 0;
for (let i = 0; i < 120_000_000; i++) x += i;
table[0] = x;
export default { fetch: () => new Response("${version} " + table[0]) };
`;

const dir = mkdtempSync(join(tmpdir(), 'outpost-cold-start-'));
async function build(version: string) {
  writeFileSync(join(dir, 'wrangler.toml'), 'name = "app"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n');
  writeFileSync(join(dir, 'index.js'), heavy(version));
  const config = loadConfig(dir, { warn: () => {} });
  return { bundle: await bundleWorker(config), config };
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : Number.NaN;
}

async function replay(mode: 'global' | 'waves'): Promise<{ steady: number[]; during: number[]; ms: number }> {
  const pops = POPS.map(() => new Runtime({ observer: memoryObserver(), poolSize: 0 }));
  const v1 = await build('v1');
  const v2 = await build('v2');
  await Promise.all(pops.map((rt) => rt.stage('app', v1.bundle, v1.config)));
  const samples: { at: number; ms: number }[] = [];
  let stop = false;
  const client = async (n: number) => {
    for (let i = n; !stop; i++) {
      const started = performance.now();
      const r = await pops[i % pops.length].handle('app', {
        method: 'GET',
        url: 'https://app.example/',
        headers: [],
        cf: {},
        body: null,
      });
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      samples.push({ at: started, ms: performance.now() - started });
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
  await new Promise((r) => setTimeout(r, 1500)); // steady state on v1
  const from = performance.now();
  if (mode === 'global') {
    for (const rt of pops) rt.deploy('app', v2.bundle, v2.config);
    // Until every PoP has loaded v2 (the first request at each does it).
    await Promise.all(pops.map((rt) => rt.warm('app')));
  } else {
    const waves = [pops.slice(0, 1), pops.slice(1, 3), pops.slice(3)]; // canary;25%;* of six PoPs
    for (const wave of waves) {
      await Promise.all(wave.map((rt) => rt.stage('app', v2.bundle, v2.config)));
      await new Promise((r) => setTimeout(r, 300)); // bake (short, for the replay)
    }
  }
  const to = performance.now();
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(clients);
  await Promise.all(pops.map((rt) => rt.close()));
  const steady = samples.filter((s) => s.at >= from - 1000 && s.at < from).map((s) => s.ms);
  const during = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.ms);
  return { steady: steady.sort((a, b) => a - b), during: during.sort((a, b) => a - b), ms: to - from };
}

try {
  const line = (label: string, s: number[]) =>
    `  ${label.padEnd(44)} ${String(s.length).padStart(6)} requests  p50 ${pct(s, 50).toFixed(1).padStart(6)} ms  p99 ${pct(s, 99).toFixed(1).padStart(6)} ms  max ${(s.at(-1) ?? Number.NaN).toFixed(1).padStart(6)} ms`;
  const global = await replay('global');
  const waves = await replay('waves');
  console.log(`Cold start cascade replay: ${POPS.length} PoPs, ${CLIENTS} clients, a new version with a ~150 ms top level`);
  console.log(line('before the deploy (steady state)', global.steady));
  console.log(line(`global switch, no pre-warm (${global.ms.toFixed(0)} ms)`, global.during));
  console.log(line(`waves with pre-warm (${waves.ms.toFixed(0)} ms)`, waves.during));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
