/**
 * D1 bindings (`d1_databases`), host side: checks the statements the isolate sent and runs
 * them on the runtime's D1 databases (src/d1/). The isolate side is
 * src/runtime/isolate/bindings/d1.ts; failures reach the worker with D1's texts.
 */
import type { D1DatabaseBinding } from '../../config/index.ts';
import { D1Error, type RowShape } from '../../d1/index.ts';
import { kvNamespaceOf } from '../accounts.ts';
import { NamedError } from '../bridge/named-error.ts';
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
  if (!Array.isArray(v)) throw new NamedError('invalid D1 call: statements', 'TypeError');
  return v.map((s) => {
    if (!Array.isArray(s) || typeof s[0] !== 'string' || !Array.isArray(s[1]) || !SHAPES.has(s[2]))
      throw new NamedError('invalid D1 call: statement', 'TypeError');
    for (const p of s[1])
      if (!bindable(p))
        throw new NamedError(
          `D1_TYPE_ERROR: Type '${typeof p}' not supported for value '${String(p)}'`,
          'Error',
        );
    return [s[0], s[1], s[2]] as D1Statement;
  });
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
    return {
      query: (o, ctx, [list]) => {
        o.requireLive(ctx);
        const checked = statements(list);
        return d1(() => wire.d1().query(id, checked));
      },
      exec: (o, ctx, [sql]) => {
        o.requireLive(ctx);
        if (typeof sql !== 'string') throw new NamedError('D1 exec() needs SQL text', 'TypeError');
        return d1(() => wire.d1().exec(id, sql));
      },
      dump: (o, ctx) => {
        o.requireLive(ctx);
        const bytes = wire.d1().dump(id);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      },
    };
  },
};
