/**
 * Workers Analytics Engine bindings (`analytics_engine_datasets`), host side: checks the data
 * points the isolate sent (untrusted) and hands them to the runtime's AnalyticsEngine
 * (src/analytics/), which buffers and writes them. The isolate side is
 * src/runtime/isolate/bindings/analytics.ts; it throws Cloudflare's errors where the worker
 * called writeDataPoint(), and this side checks every limit again, so tenant code calling the
 * syscall directly gets no further.
 *
 * Datasets belong to the worker's account: two workers of one account binding the same
 * dataset write to one table, as on Cloudflare; another account's dataset of the same name is
 * another table.
 */
import { AE_ERRORS, AE_LIMITS, checkPoint, type PointRow } from '../../analytics/index.ts';
import { NamedError } from '../bridge/named-error.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { HostBinding } from './types.ts';

/** Invocations whose writes are counted at once, before the finished ones are forgotten. */
const MAX_COUNTED = 1024;

/** Data points per invocation, counted per instance (invocation ids are unique in the process). */
function counter(): (o: IsolateOwner, ctx: unknown, n: number) => void {
  const counts = new Map<unknown, number>();
  return (o, ctx, n) => {
    const used = counts.get(ctx) ?? 0;
    if (used + n > AE_LIMITS.MAX_POINTS_PER_INVOCATION) throw new NamedError(AE_ERRORS.writeLimit, 'Error');
    counts.delete(ctx);
    counts.set(ctx, used + n);
    if (counts.size <= MAX_COUNTED) return;
    for (const id of counts.keys()) {
      try {
        o.requireLive(id);
      } catch {
        counts.delete(id);
      }
    }
    // Still full (long-lived invocations): the least recently written half goes.
    let drop = counts.size - MAX_COUNTED / 2;
    for (const id of counts.keys()) if (drop-- > 0) counts.delete(id);
  };
}

export const analyticsBinding: HostBinding<'analytics_engine'> = {
  describe: () => ({ type: 'analytics_engine' }),
  connect: (b, wire) => {
    const count = counter();
    const account = wire.version.account;
    return {
      write: (o, ctx, [points]) => {
        o.requireLive(ctx);
        // The length first: a sparse array of 2^32 entries is cheap to send and slow to walk.
        if (!Array.isArray(points) || points.length > AE_LIMITS.MAX_POINTS_PER_INVOCATION)
          throw new NamedError('invalid Analytics Engine call: data points', 'TypeError');
        const rows: PointRow[] = [];
        for (let i = 0; i < points.length; i++) {
          try {
            rows.push(checkPoint(points[i]));
          } catch (err) {
            throw new NamedError((err as Error).message, 'TypeError');
          }
        }
        count(o, ctx, rows.length);
        wire.analytics().write(account, b.dataset, rows);
      },
    };
  },
};
