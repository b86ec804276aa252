// RSS per idle tenant with many tenants loaded; baseline: a bare isolate with a context and a
// one-line handler, measured the same way in the same run.
import { fmt, runChild } from './util.ts';

export async function memory(opts: { tenants: number }) {
  const bare = await runChild<{ perTenant: number }>(
    'memory-child.ts',
    ['bare', String(opts.tenants)],
    ['--expose-gc'],
  );
  const outpost = await runChild<{ perTenant: number; isolates: number; heapPerTenant: number }>(
    'memory-child.ts',
    ['outpost', String(opts.tenants)],
    ['--expose-gc'],
  );
  const mb = (b: number) => b / 1024 / 1024;
  return {
    bareMb: mb(bare.perTenant),
    outpostMb: mb(outpost.perTenant),
    ratio: outpost.perTenant / bare.perTenant,
    table: [
      `memory, ${opts.tenants} idle tenants in one process (RSS added per tenant)`,
      `  bare isolate + context (baseline) ${fmt(mb(bare.perTenant))} MB`,
      `  outpost tenant (prelude + worker) ${fmt(mb(outpost.perTenant))} MB   (goal <= 2 MB; V8 heap ${fmt(mb(outpost.heapPerTenant))} MB)`,
      `  ratio outpost/bare: ${fmt(outpost.perTenant / bare.perTenant)}x`,
    ],
  };
}
