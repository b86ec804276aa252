/**
 * D1 bindings (`d1_databases`), host side: checks the statements the isolate sent and runs
 * them on the runtime's D1 databases (src/d1/). The isolate side is
 * src/runtime/isolate/bindings/d1.ts; failures reach the worker with D1's texts.
 */
import type { D1DatabaseBinding } from '../../config/index.ts';
import { D1_LIMITS, D1Error, type RowShape } from '../../d1/index.ts';
import { kvNamespaceOf } from '../accounts.ts';
import { NamedError } from '../bridge/named-error.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { D1Statement } from './protocol.ts';
import type { HostBinding } from './types.ts';

/**
 * The database a binding names: its `database_id` in the worker's account, or, without one, the
 * worker's own (`<tenant>:<binding>`), as KV namespaces are named (src/runtime/accounts.ts).
 */
export function d1DatabaseId(
  tenant: string,
  account: string,
  b: Pick<D1DatabaseBinding, 'id' | 'own' | 'binding'>,
): string {
  return b.own ? `${tenant}:${b.binding}` : kvNamespaceOf(account, b.id);
}

const SHAPES = new Set<RowShape>(['objects', 'raw', 'raw+columns']);

function bindable(v: unknown): boolean {
  return (
    v === null ||
    typeof v === 'string' ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    v instanceof Uint8Array
  );
}

function statements(v: unknown): D1Statement[] {
  // Lengths are checked before anything walks a list: a sparse array of 2^32 entries is cheap
  // to send and slow to walk (src/runtime/bridge/lists.ts).
  if (!Array.isArray(v) || v.length > D1_LIMITS.MAX_BATCH)
    throw new NamedError(`invalid D1 call: at most ${D1_LIMITS.MAX_BATCH} statements`, 'TypeError');
  const out: D1Statement[] = [];
  for (let i = 0; i < v.length; i++) {
    const s = v[i];
    if (
      !Array.isArray(s) ||
      s.length !== 3 ||
      typeof s[0] !== 'string' ||
      !Array.isArray(s[1]) ||
      !SHAPES.has(s[2])
    )
      throw new NamedError('invalid D1 call: statement', 'TypeError');
    const params = s[1] as unknown[];
    if (params.length > D1_LIMITS.MAX_PARAMS)
      throw new NamedError(
        `D1_ERROR: too many SQL variables (limit ${D1_LIMITS.MAX_PARAMS}): SQLITE_ERROR`,
        'Error',
      );
    for (let j = 0; j < params.length; j++) {
      const p = params[j];
      if (!bindable(p))
        throw new NamedError(
          `D1_TYPE_ERROR: Type '${typeof p}' not supported for value '${String(p)}'`,
          'Error',
        );
    }
    out.push([s[0], params, s[2]]);
  }
  return out;
}

/**
 * At most MAX_IN_FLIGHT_PER_ISOLATE calls of one isolate reach the SQL host at a time (it is
 * shared by every tenant); the others wait here, and one whose invocation has ended by its
 * turn is refused instead of run. A request firing many slow queries and returning holds the
 * host for a few of them, not all.
 */
function gate(): <T>(o: IsolateOwner, ctx: unknown, run: () => Promise<T>) => Promise<T> {
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  return async (o, ctx, run) => {
    if (inFlight >= D1_LIMITS.MAX_IN_FLIGHT_PER_ISOLATE) {
      await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        o.requireLive(ctx);
      } catch (err) {
        waiting.shift()?.();
        throw err;
      }
    }
    inFlight++;
    try {
      return await run();
    } finally {
      inFlight--;
      waiting.shift()?.();
    }
  };
}

/** D1's own errors reach the worker as `Error: D1_ERROR: …`. */
async function d1<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof D1Error) throw new NamedError(err.message, 'Error');
    throw err;
  }
}

export const d1Binding: HostBinding<'d1'> = {
  describe: () => ({ type: 'd1' }),
  connect: (b, wire) => {
    const id = d1DatabaseId(wire.version.tenant, wire.version.account, b);
    const turn = gate();
    return {
      query: (o, ctx, [list]) => {
        o.requireLive(ctx);
        const checked = statements(list);
        return turn(o, ctx, () => d1(() => wire.d1().query(id, checked)));
      },
      exec: (o, ctx, [sql]) => {
        o.requireLive(ctx);
        if (typeof sql !== 'string') throw new NamedError('D1 exec() needs SQL text', 'TypeError');
        return turn(o, ctx, () => d1(() => wire.d1().exec(id, sql)));
      },
      dump: (o, ctx) => {
        o.requireLive(ctx);
        return turn(o, ctx, async () => {
          const bytes = await d1(() => wire.d1().dump(id, D1_LIMITS.MAX_DUMP_BYTES));
          // A fresh Buffer from readFile owns its memory: handed over without another copy.
          return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
            ? (bytes.buffer as ArrayBuffer)
            : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
        });
      },
    };
  },
};
