// Attacks on the isolate's copies of KV answers (src/runtime/isolate/kv-cache.ts): a worker that
// replaces every intrinsic they could touch finds neither the memory the host shares with its
// isolate nor the notes its response carries (so it can neither make stale copies nor forge
// reads the host counts), and whether a copy holds never changes while its code runs (the
// shared counters are no clock).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startFixture, type TestDev } from '../helpers.ts';

let dev: TestDev;
before(async () => {
  // The PoP keeps answers 300 ms: a run can outlast an entry.
  dev = await startFixture('kv-copies', { kv: { cacheTtl: 0.3 }, limits: { cpuMs: 10_000 } });
});
after(() => dev?.close());

async function isolateReads(): Promise<number> {
  const text = await (
    await fetch(`${dev.url}/__outpost/metrics`, { headers: { authorization: `Bearer ${dev.adminToken}` } })
  ).text();
  return [...text.matchAll(/^outpost_kv_operations_total\{[^}]*answered_by="isolate"[^}]*\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

it('a worker that replaces intrinsics captures no shared memory, copy entry or notes, and forges no reads', async () => {
  const before = await isolateReads();
  const res = await fetch(`${dev.url}/attack`);
  const timing = res.headers.get('server-timing') ?? '';
  assert.deepEqual(await res.json(), { captured: [] });
  // 3 rounds of 4 reads of two keys after a put: each key's first read is the PoP's, the rest copies'.
  const inIsolate = [...timing.matchAll(/desc="GET STORE PoP cache, in isolate"/g)].length;
  assert.equal(inIsolate, 10, timing);
  assert.equal((await isolateReads()) - before, inIsolate, 'every counted read was a real one');
});

it('whether a copy holds is decided once per entry into the isolate, not while code runs', async () => {
  await fetch(`${dev.url}/put?key=f&value=v`);
  // The run must outlast the PoP entry's 300 ms, and the loop's speed varies with the JIT and
  // the machine's load (1e9 spins took 276 to 700 ms): doubled until it does.
  let res: Response | undefined;
  let took = 0;
  for (let spins = 1e9; took <= 400 && spins <= 8e9; spins *= 2) {
    await new Promise((r) => setTimeout(r, 350)); // the previous entry ended
    const started = performance.now();
    res = await fetch(`${dev.url}/frozen?key=f&spins=${spins}`);
    took = performance.now() - started;
    if (took <= 400) await res.arrayBuffer();
  }
  if (!res) throw new Error('no run');
  const body = (await res.json()) as { inRun: string; afterEntry: string };
  assert.deepEqual([body.inRun, body.afterEntry], ['v', 'v']);
  const where = [
    ...(res.headers.get('server-timing') ?? '').matchAll(/kv;dur=[\d.]+;desc="GET STORE ([^"]+)"/g),
  ].map((m) => m[1]);
  assert.ok(took > 400, `the run took ${took.toFixed(0)} ms: longer than the entry's 300 ms`);
  // Reads answered in the isolate are reported with the response, after those the host recorded.
  assert.deepEqual(where, ['central store', 'central store', 'PoP cache, in isolate']);
});
