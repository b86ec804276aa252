// The prelude's size and what it costs an isolate: creating an isolate + context bare, vs.
// the same plus the prelude evaluated from its code cache and initialised (what the warm pool
// does before a tenant arrives), measured in the same run. Also what the lazily evaluated
// extensions weigh, since a worker pays for one only when it uses it.
import ivm from 'isolated-vm';
import { noopObserver } from '../src/observability/index.ts';
import { extensionSources } from '../src/runtime/extensions.ts';
import { createIsolate } from '../src/runtime/pool.ts';
import { preludeSource } from '../src/runtime/prelude.ts';
import { fmt, median } from './util.ts';

export async function prelude(opts: { samples: number }) {
  const source = await preludeSource();
  const exts = await extensionSources();
  // One run first so the prelude's code cache exists (as in a running PoP).
  (await createIsolate(128, noopObserver)).isolate.dispose();

  const bare: number[] = [];
  const full: number[] = [];
  const bareHeap: number[] = [];
  const fullHeap: number[] = [];
  for (let i = 0; i < opts.samples; i++) {
    // Alternate so drift hits both alike.
    let t0 = performance.now();
    const iso = new ivm.Isolate({ memoryLimit: 128 });
    await iso.createContext();
    bare.push(performance.now() - t0);
    bareHeap.push((await iso.getHeapStatistics()).used_heap_size);
    iso.dispose();

    t0 = performance.now();
    const p = await createIsolate(128, noopObserver);
    full.push(performance.now() - t0);
    fullHeap.push((await p.isolate.getHeapStatistics()).used_heap_size);
    p.isolate.dispose();
  }
  const arrays = await arrayWork(opts.samples);
  const extSizes = [...exts.entries()].sort((a, b) => b[1].length - a[1].length);
  return {
    bytes: source.length,
    bareMs: median(bare),
    fullMs: median(full),
    heapDelta: median(fullHeap) - median(bareHeap),
    arrayRatio: arrays.guarded / arrays.bare,
    table: [
      `prelude: ${fmt(source.length / 1024, 1)} KB minified; ${opts.samples} isolates each way (medians)`,
      `  isolate + context, bare                          ${fmt(median(bare), 2)} ms   heap ${fmt(median(bareHeap) / 1024, 0)} KB`,
      `  + prelude (code cache) + init + warm-up request  ${fmt(median(full), 2)} ms   heap ${fmt(median(fullHeap) / 1024, 0)} KB`,
      `  prelude cost per pooled isolate: ${fmt(median(full) - median(bare), 2)} ms, ${fmt((median(fullHeap) - median(bareHeap)) / 1024, 0)} KB of heap (paid off the request path, in the warm pool)`,
      `  array-heavy code (a 200-row table: map, filter, indexOf, includes, slice, join, concat, Array.from, sort),`,
      `    bare isolate ${fmt(arrays.bare, 1)} µs, prelude isolate ${fmt(arrays.guarded, 1)} µs per render (medians of ${opts.samples}): ${fmt(arrays.guarded / arrays.bare, 2)}x, the cost of the array guard (src/runtime/isolate/array-guard.ts)`,
      `  extensions, evaluated on first use: ${extSizes.map(([n, s]) => `${n} ${fmt(s.length / 1024, 1)} KB`).join(', ')}`,
    ],
  };
}

/** Array-heavy code, as a server-side render does it: the work the array guard sits in front of. */
const ARRAY_WORK = `(() => {
  const rows = Array.from({ length: 200 }, (_, i) => ({ id: i, name: 'item ' + i, tags: ['a', 'b', i % 3 ? 'c' : 'd'] }));
  for (let round = 0; round < 50; round++) {
    const visible = rows.filter((r) => !r.tags.includes('d')).slice(0, 150);
    const html = visible
      .map((r) => '<tr><td>' + r.id + '</td><td>' + r.name + '</td><td>' + r.tags.concat(['x']).join(' ') + '</td></tr>')
      .join('');
    const order = visible.map((r) => r.id).sort((a, b) => b - a);
    if (html.length === 0 || order.indexOf(3) === -2) throw new Error('unreachable');
  }
  return 0;
})()`;

async function arrayWork(samples: number): Promise<{ bare: number; guarded: number }> {
  const bare: number[] = [];
  const guarded: number[] = [];
  const iso = new ivm.Isolate({ memoryLimit: 128 });
  const ctx = await iso.createContext();
  const p = await createIsolate(128, noopObserver);
  // The prelude's clock stands still while code runs: time the work from the host instead.
  const timed = async (c: ivm.Context) => {
    const t = performance.now();
    for (let i = 0; i < 10; i++) await c.eval(ARRAY_WORK);
    return ((performance.now() - t) * 1000) / 10 / 50;
  };
  for (let i = 0; i < 5; i++) {
    await timed(ctx);
    await timed(p.context);
  }
  for (let i = 0; i < samples; i++) {
    bare.push(await timed(ctx));
    guarded.push(await timed(p.context));
  }
  iso.dispose();
  p.isolate.dispose();
  return { bare: median(bare), guarded: median(guarded) };
}
