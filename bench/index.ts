// `npm run bench`: every figure is measured in this run, next to a baseline from the same run.
// Not part of `npm test`. Options: --quick (shorter rounds),
// --only percore|percore:<path>|nodes|do-nodes|throughput|hono|stream|cache1k|cache100k|kvread|kv|network|durable|assets|d1|tracing|policies|esi|cron|queues|workflows|streaming|scrape|dashboard|coldstart|memory|prelude|inprocess|density (density only when asked).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { hostEnv, MALLOC_ENV } from '../bin/env.mjs';

// Measure under the same allocator settings the launcher gives a real deployment.
if (Object.keys(MALLOC_ENV).some((k) => process.env[k] === undefined)) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: hostEnv(),
  });
  process.exit(r.status ?? 1);
}

import { coldstart } from './coldstart.ts';
import { cronBench } from './cron.ts';
import { dashboardBench } from './dashboard.ts';
import { density } from './density.ts';
import { durableBench } from './durable.ts';
import { durableNodesBench } from './durable-nodes.ts';
import { esiBench } from './esi.ts';
import { inProcessBench } from './inprocess.ts';
import { kvBench } from './kv.ts';
import { memory } from './memory.ts';
import { networkBench } from './network.ts';
import { nodesBench } from './nodes.ts';
import { perCoreBench } from './percore.ts';
import { assetsBench, d1Bench, tracingBench } from './platform.ts';
import { policiesBench } from './policies.ts';
import { prelude } from './prelude.ts';
import { queuesBench } from './queues.ts';
import { scrapeBench } from './scrape.ts';
import { streamingBench } from './streaming.ts';
import { SCENARIOS, throughput } from './throughput.ts';
import { workflowsBench } from './workflows.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' } } });
const quick = !!values.quick;
const want = (name: string) => !values.only || values.only === name;

console.log(
  `Outpost bench — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}\n`,
);
const results: Record<string, unknown> = {};
// Per core first (each server pinned to one core, wrk on the other); the unpinned tables after.
if (!values.only || values.only.startsWith('percore')) {
  const only = values.only?.split(':')[1];
  const r = await perCoreBench({ rounds: quick ? 2 : 3, seconds: quick ? 3 : 5, only });
  console.log(r.table.join('\n'), '\n');
  results.percore = r;
}
for (const scenario of SCENARIOS) {
  const key = scenario.name === 'hello' ? 'throughput' : scenario.name;
  if (!want(key)) continue;
  const r = await throughput({ seconds: quick ? 3 : 6, rounds: quick ? 2 : 6, connections: 32 }, scenario);
  console.log(r.table.join('\n'), '\n');
  results[key] = r;
}
if (want('kv')) {
  const r = await kvBench({ reads: quick ? 20_000 : 100_000, writes: quick ? 2_000 : 10_000 });
  console.log(r.table.join('\n'), '\n');
  results.kv = r;
}
if (want('durable')) {
  const r = await durableBench({
    seconds: quick ? 3 : 6,
    rounds: quick ? 2 : 5,
    ops: quick ? 5_000 : 20_000,
  });
  console.log(r.table.join('\n'), '\n');
  results.durable = r;
}
if (want('do-nodes')) {
  const r = await durableNodesBench({ calls: quick ? 200 : 1000, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results['do-nodes'] = r;
}
if (want('nodes')) {
  const r = await nodesBench({
    pops: quick ? 6 : 21,
    starts: quick ? 2 : 5,
    seconds: quick ? 3 : 5,
    rounds: quick ? 2 : 3,
    deploys: quick ? 2 : 5,
  });
  console.log(r.table.join('\n'), '\n');
  results.nodes = r;
}
if (want('network')) {
  const r = await networkBench({ seconds: quick ? 3 : 6, rounds: quick ? 2 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.network = r;
}
if (want('assets')) {
  const r = await assetsBench({ rounds: quick ? 2 : 5, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.assets = r;
}
if (want('d1')) {
  const r = await d1Bench({ rounds: quick ? 2 : 5, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.d1 = r;
}
if (want('tracing')) {
  const r = await tracingBench({ rounds: quick ? 2 : 7, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.tracing = r;
}
if (want('policies')) {
  const r = await policiesBench({ rounds: quick ? 2 : 7, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.policies = r;
}
if (want('esi')) {
  const r = await esiBench({ rounds: quick ? 2 : 5, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.esi = r;
}
if (want('streaming')) {
  const r = await streamingBench({ requests: quick ? 40 : 200, delayMs: 100, inFlight: [1, 16] });
  console.log(r.table.join('\n'), '\n');
  results.streaming = r;
}
if (want('cron')) {
  const r = await cronBench({ ticks: 100, tickMs: 100 });
  console.log(r.table.join('\n'), '\n');
  results.cron = r;
}
if (want('queues')) {
  const r = await queuesBench({ messages: quick ? 2_000 : 10_000, rounds: quick ? 2 : 3 });
  console.log(r.table.join('\n'), '\n');
  results.queues = r;
}
if (want('workflows')) {
  const r = await workflowsBench({ instances: 10, steps: quick ? 100 : 500, rounds: quick ? 2 : 3 });
  console.log(r.table.join('\n'), '\n');
  results.workflows = r;
}
if (want('dashboard')) {
  const r = await dashboardBench({ rounds: quick ? 2 : 5, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.dashboard = r;
}
if (want('scrape')) {
  const r = await scrapeBench({ workers: quick ? 200 : 1000, scrapes: quick ? 10 : 30 });
  console.log(r.table.join('\n'), '\n');
  results.scrape = r;
}
if (want('inprocess')) {
  const r = await inProcessBench({ rounds: quick ? 2 : 3, seconds: quick ? 3 : 5 });
  console.log(r.table.join('\n'), '\n');
  results.inprocess = r;
}
if (want('prelude')) {
  const r = await prelude({ samples: quick ? 20 : 60 });
  console.log(r.table.join('\n'), '\n');
  results.prelude = r;
}
if (want('coldstart')) {
  const r = await coldstart({ tenants: quick ? 100 : 500, gapMs: 25 });
  console.log(r.table.join('\n'), '\n');
  results.coldstart = r;
}
if (want('memory')) {
  const r = await memory({ tenants: quick ? 200 : 1000 });
  console.log(r.table.join('\n'), '\n');
  results.memory = r;
}
// Not in the default run (it needs ~21 GiB of RAM and ~3 minutes at 10,000 tenants): asked for.
if (values.only === 'density') {
  const r = await density({ tenants: quick ? 1000 : 10_000, processes: 3 });
  console.log(r.table.join('\n'), '\n');
  results.density = r;
}
process.exit(0);
