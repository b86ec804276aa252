/**
 * KV bindings, host side: checks what the isolate sent, resolves the binding to its namespace
 * and calls the PoP's KV view (src/kv/). KV's own errors reach the worker as Workers reports
 * them: `Error: KV PUT failed: 413 Value length of … exceeds limit of …`.
 */
import { KV_LIMITS, KvError, type KvPop, type KvTrace } from '../../kv/index.ts';
import {
  type Hop,
  type HopRecorder,
  type HopSpan,
  NO_METRICS,
  type PopMetrics,
} from '../../observability/index.ts';
import type { KvRead } from '../bindings/protocol.ts';
import { isStringList } from './lists.ts';
import { NamedError } from './named-error.ts';

export interface KvAccess {
  pop: KvPop;
  /** binding name → namespace id */
  namespaces: ReadonlyMap<string, string>;
  /** This isolate's slots for the binding (KvPop.slotsFor), made on its first read. */
  slots?: Int32Array;
}

const OPS: Record<string, string> = {
  get: 'GET',
  getMany: 'GET_BULK',
  put: 'PUT',
  delete: 'DELETE',
  list: 'LIST',
};

function typeError(message: string): NamedError {
  return new NamedError(message, 'TypeError');
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw typeError(`KV ${what} must be a string`);
  return v;
}

function optionalNumber(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw typeError(`KV ${what} must be a number, received ${typeof v}`);
  return v;
}

function bytes(u: Uint8Array): ArrayBuffer {
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}

export async function kvCall(
  access: KvAccess | null,
  binding: unknown,
  op: unknown,
  args: unknown[],
  hops: HopRecorder | null = null,
  metrics: PopMetrics = NO_METRICS,
): Promise<unknown> {
  if (!access) throw new NamedError('KV is not available here', 'Error');
  if (typeof binding !== 'string' || typeof op !== 'string' || !Object.hasOwn(OPS, op))
    throw typeError('invalid KV call');
  const ns = access.namespaces.get(binding);
  if (ns === undefined) throw typeError(`no KV namespace is bound as "${binding}"`);
  const trace: KvTrace = { centralTrips: 0 };
  const started = performance.now();
  try {
    const out = await run(access, ns, op, args, trace);
    metrics.kv(op, answeredBy(trace));
    if (hops) {
      const hop = kvHop(access.pop, `${OPS[op]} ${binding}`, trace, performance.now() - started);
      hops.hop(hop, kvSpan(op, binding, started, answeredBy(trace)));
    }
    return out;
  } catch (err) {
    hops?.hop(
      { name: 'kv', ms: performance.now() - started, desc: `${OPS[op]} ${binding} failed` },
      kvSpan(op, binding, started, answeredBy(trace), (err as Error).message),
    );
    if (err instanceof KvError)
      throw new NamedError(`KV ${OPS[op]} failed: ${err.status} ${err.message}`, 'Error');
    throw err;
  }
}

/** Reads one response may report as answered in the isolate (the isolate notes at most as many). */
const MAX_HITS_NOTED = 1024;

/**
 * Reads a worker's isolate answered itself from its copies of this PoP's answers
 * (src/runtime/isolate/kv-cache.ts), reported with its response: counted and recorded like a
 * read the PoP answered (Server-Timing, span), marked as answered in the isolate. `notes` is
 * "binding\u001fms\u001e" per read (ms: the isolate's clock when it read); names that are not
 * KV bindings of the worker are skipped.
 */
export function kvHits(
  kvBindings: (name: string) => boolean,
  notes: unknown,
  hops: HopRecorder | null,
  metrics: PopMetrics,
): void {
  if (typeof notes !== 'string') return;
  const wall = Date.now();
  const mono = performance.now();
  let start = 0;
  for (let i = 0; i < MAX_HITS_NOTED && start < notes.length; i++) {
    const end = notes.indexOf('\u001e', start);
    if (end < 0) break;
    const sep = notes.indexOf('\u001f', start);
    const binding = sep > start && sep < end ? notes.slice(start, sep) : '';
    const at = Number(notes.slice(sep + 1, end));
    start = end + 1;
    if (!binding || !Number.isFinite(at) || !kvBindings(binding)) continue;
    metrics.kv('get', 'isolate');
    if (!hops) continue;
    // The span only when the request's trace records (never with tracing off).
    const span = hops.trace.recording
      ? kvSpan('get', binding, mono - Math.max(0, Math.min(wall - at, 60_000)), 'isolate')
      : false;
    hops.hop({ name: 'kv', ms: 0, desc: `GET ${binding} PoP cache, in isolate` }, span);
  }
}

/** Where a KV operation was answered: this PoP's cache, the central store, or the worker's isolate. */
type AnsweredBy = 'pop' | 'central' | 'isolate';
const answeredBy = (trace: KvTrace): AnsweredBy => (trace.centralTrips > 0 ? 'central' : 'pop');

/** The span of one KV operation, named as Workers' automatic tracing names it (`kv_get`…). */
function kvSpan(op: string, binding: string, started: number, by: AnsweredBy, error?: string): HopSpan {
  return {
    name: `kv_${op === 'getMany' ? 'get' : op}`,
    started,
    attrs: {
      'db.system.name': 'cloudflare-kv',
      'db.operation.name': op,
      'cloudflare.binding.type': 'KV',
      'cloudflare.binding.name': binding,
      'outpost.kv.answered_by': by,
    },
    ...(error !== undefined ? { error } : {}),
  };
}

/**
 * The hop of one KV operation: where it was answered (this PoP's cache or the central store)
 * and what it cost; a trip the latency model only reports (simulation off) is added to the
 * measured time and marked simulated.
 */
function kvHop(pop: KvPop, what: string, trace: KvTrace, ms: number): Hop {
  const { ms: trip, wait } = pop.central;
  const modelled = !wait && trip > 0 ? trip * trace.centralTrips : 0;
  const where = trace.centralTrips > 0 ? 'central store' : 'PoP cache';
  return { name: 'kv', ms: ms + modelled, desc: `${what} ${where}`, simulated: modelled > 0 };
}

async function run(
  access: KvAccess,
  ns: string,
  op: string,
  args: unknown[],
  trace: KvTrace,
): Promise<unknown> {
  const pop = access.pop;
  if (op === 'get') {
    access.slots ??= pop.slotsFor(ns);
    const r = await pop.read(
      ns,
      str(args[0], 'key'),
      optionalNumber(args[1], 'cacheTtl'),
      trace,
      access.slots,
    );
    const v = r.value && { value: bytes(r.value.value), metadata: r.value.metadata };
    const k = r.keep;
    return [v, k.until, k.expiration, k.slots, k.slot, k.epoch] satisfies KvRead;
  }
  if (op === 'getMany') {
    const keys = args[0];
    if (!Array.isArray(keys)) throw typeError('KV keys must be an array of strings');
    // Checked before walking the list (src/runtime/bridge/lists.ts); KvPop states the limit.
    if (keys.length > KV_LIMITS.MAX_BULK_KEYS)
      throw new KvError(400, `You can request a maximum of ${KV_LIMITS.MAX_BULK_KEYS} keys`);
    if (!isStringList(keys, KV_LIMITS.MAX_BULK_KEYS)) throw typeError('KV key must be a string');
    const got = await pop.getMany(ns, keys, optionalNumber(args[1], 'cacheTtl'), trace);
    return [...got].map(([k, v]) => [k, v && { value: bytes(v.value), metadata: v.metadata }]);
  }
  if (op === 'put') {
    const [key, value, options] = args;
    if (!(value instanceof ArrayBuffer)) throw typeError('KV value must be bytes');
    const o = (options ?? {}) as Record<string, unknown>;
    if (typeof o !== 'object') throw typeError('KV put options must be an object');
    if (o.metadata !== undefined && typeof o.metadata !== 'string')
      throw typeError('KV metadata must be JSON text');
    await pop.put(ns, str(key, 'key'), new Uint8Array(value), {
      expiration: optionalNumber(o.expiration, 'expiration'),
      expirationTtl: optionalNumber(o.expirationTtl, 'expirationTtl'),
      metadata: o.metadata as string | undefined,
    });
    return null;
  }
  if (op === 'delete') {
    await pop.delete(ns, str(args[0], 'key'));
    return null;
  }
  const o = (args[0] ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object') throw typeError('KV list options must be an object');
  if (o.prefix !== undefined && o.prefix !== null && typeof o.prefix !== 'string')
    throw typeError('KV list prefix must be a string');
  if (o.cursor !== undefined && o.cursor !== null && typeof o.cursor !== 'string')
    throw typeError('KV list cursor must be a string');
  const r = await pop.list(
    ns,
    {
      prefix: o.prefix as string | null | undefined,
      cursor: o.cursor as string | null | undefined,
      limit: optionalNumber(o.limit, 'limit'),
    },
    trace,
  );
  return { keys: r.keys, list_complete: r.complete, ...(r.cursor ? { cursor: r.cursor } : {}) };
}
