/**
 * How many isolates a runtime keeps: its warm pool, the heap budget and the count past which idle
 * ones are evicted, checked.
 *
 * How many isolates one process can map. Every V8 isolate maps its heap's pages, code range and
 * stacks separately: a hello-world tenant's isolate adds ~13.1 mappings (measured, 500 tenants),
 * more for a larger heap (measured: 7 at 1.8 MB of heap, 21 at 4.4 MB, 45 at 11.4 MB). Linux
 * refuses a process more than vm.max_map_count of them (65,530 by default), and V8 then stops
 * the whole process ("Fatal process OOM ... Failed to reserve virtual memory"), every tenant with
 * it. So idle isolates are evicted before that, not the process killed: the count of live
 * isolates is capped (14 mappings each), and the runtime's eviction also sums each isolate's
 * mappings from its heap (mappingsOf) against the same budget.
 */
import { readFileSync } from 'node:fs';
import type { Observer } from '../observability/index.ts';
import { OutpostError } from './errors.ts';
import { DEFAULT_POOL_MAX } from './pool-demand.ts';

/** Mappings budgeted per isolate (the measured 13.1, and room for a larger heap). */
const PER_ISOLATE = 14;
/** Mappings left for the process itself (Node, libraries, the host heap, thread stacks). */
const RESERVE = 4096;

/**
 * The mappings an isolate with `heapBytes` of heap (total_heap_size plus external) holds, over-
 * counted: 4 and one per 256 KB page. One not measured yet counts as a hello-world tenant's.
 */
export function mappingsOf(heapBytes: number): number {
  return 4 + Math.ceil((heapBytes > 0 ? heapBytes : 2.75 * 1024 * 1024) / (256 * 1024));
}

/** The isolates this process can map, or undefined where the limit is not known (not Linux). */
export function isolatesThatFit(
  path = '/proc/sys/vm/max_map_count',
): { fit: number; maxMapCount: number; budget: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const maxMapCount = Number(text.trim());
  if (!Number.isInteger(maxMapCount) || maxMapCount <= 0) return undefined;
  const budget = Math.max(PER_ISOLATE, maxMapCount - RESERVE);
  return { fit: Math.max(1, Math.floor(budget / PER_ISOLATE)), maxMapCount, budget };
}

/**
 * The runtime's pool sizes, heap budget and isolate cap from its options, checked. The warm
 * pool's isolates are mapped too: the most it may hold after bursts (poolMax) comes off the
 * isolates that fit.
 */
export function capacityOf(
  options: { poolSize?: number; poolMax?: number; memoryBudgetMb?: number; maxIsolates?: number },
  observer: Observer,
  maxMapCountPath?: string,
): {
  poolSize: number;
  poolMax: number;
  memoryBudgetBytes: number;
  maxIsolates: number;
  mapBudget: number;
} {
  const poolSize = options.poolSize ?? 4;
  if (!Number.isInteger(poolSize) || poolSize < 0 || poolSize > 1000)
    throw new OutpostError(
      'INVALID_OPTION',
      `poolSize must be an integer from 0 to 1000, received ${poolSize}`,
    );
  // At or below poolSize (0 included), the pool does not grow; with no pool, none grows.
  const askedMax = options.poolMax ?? DEFAULT_POOL_MAX;
  if (!Number.isInteger(askedMax) || askedMax < 0 || askedMax > 1000)
    throw new OutpostError(
      'INVALID_OPTION',
      `poolMax must be an integer from 0 to 1000, received ${askedMax}`,
    );
  const poolMax = poolSize === 0 ? 0 : Math.max(askedMax, poolSize);
  const budget = options.memoryBudgetMb ?? 4096;
  if (!(budget >= 16))
    throw new OutpostError('INVALID_OPTION', `memoryBudgetMb must be at least 16, received ${budget}`);
  const asked = options.maxIsolates ?? 5000;
  if (!Number.isInteger(asked) || asked < 1)
    throw new OutpostError('INVALID_OPTION', `maxIsolates must be a positive integer, received ${asked}`);
  const fits = isolatesThatFit(maxMapCountPath);
  const mappable = fits && {
    ...fits,
    fit: Math.max(1, fits.fit - poolMax),
    budget: Math.max(PER_ISOLATE, fits.budget - poolMax * PER_ISOLATE),
  };
  if (mappable && options.maxIsolates !== undefined && asked > mappable.fit)
    observer.log({
      level: 'warn',
      source: 'outpost',
      message: `maxIsolates ${asked} is more than one process can map: vm.max_map_count ${mappable.maxMapCount} allows about ${mappable.fit} isolates, so idle ones are evicted past ${mappable.fit}. Raise vm.max_map_count (sysctl) or run more processes (outpost node --processes).`,
    });
  return {
    poolSize,
    poolMax,
    memoryBudgetBytes: budget * 1024 * 1024,
    maxIsolates: mappable ? Math.min(asked, mappable.fit) : asked,
    mapBudget: mappable ? mappable.budget : Number.POSITIVE_INFINITY,
  };
}
