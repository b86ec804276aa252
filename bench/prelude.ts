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
  const extSizes = [...exts.entries()].sort((a, b) => b[1].length - a[1].length);
  return {
    bytes: source.length,
    bareMs: median(bare),
    fullMs: median(full),
    heapDelta: median(fullHeap) - median(bareHeap),
    table: [
      `prelude: ${fmt(source.length / 1024, 1)} KB minified; ${opts.samples} isolates each way (medians)`,
      `  isolate + context, bare                          ${fmt(median(bare), 2)} ms   heap ${fmt(median(bareHeap) / 1024, 0)} KB`,
      `  + prelude (code cache) + init + warm-up request  ${fmt(median(full), 2)} ms   heap ${fmt(median(fullHeap) / 1024, 0)} KB`,
      `  prelude cost per pooled isolate: ${fmt(median(full) - median(bare), 2)} ms, ${fmt((median(fullHeap) - median(bareHeap)) / 1024, 0)} KB of heap (paid off the request path, in the warm pool)`,
      `  extensions, evaluated on first use: ${extSizes.map(([n, s]) => `${n} ${fmt(s.length / 1024, 1)} KB`).join(', ')}`,
    ],
  };
}
