/**
 * The output gate on an isolate's posted calls (src/durable-objects/output-gate.ts says what
 * the gate is): a Durable Object's calls that leave it — subrequests, binding calls, the Cache
 * API, outgoing WebSockets, TCP writes, `storage.sync()` — start once the writes it made before
 * them are confirmed. The isolate commits those writes before posting such a call
 * (src/runtime/isolate/bridge.ts, onBeforeLeaving). Crypto, timers and body reads do not leave
 * the object and never wait.
 *
 * While they wait the host holds their arguments, so an isolate may have at most
 * MAX_GATED_CALLS calls and MAX_GATED_BYTES of their bytes waiting; past that a call fails at
 * once. A fetch aborted while it waits never starts.
 */
import { type StagedStorage, withheld } from '../../durable-objects/index.ts';
import { NamedError } from './named-error.ts';

/** Posted calls that may leave an isolate (src/runtime/isolate/bridge.ts: TIMER 0, FETCH 1, READ 2, ASYNC 3). */
const FETCH = 1;
const ASYNC = 3;

export const MAX_GATED_CALLS = 1000;
export const MAX_GATED_BYTES = 16 * 1024 * 1024;

/** An isolate's fetches in flight (their abort controllers), and those aborted before starting. */
export class FetchAborts extends Map<number, AbortController> {
  /** Fetches waiting at the gate, and which of them were aborted meanwhile. */
  readonly waiting = new Set<number>();
  readonly #aborted = new Set<number>();

  /** The worker aborted fetch `id` before it started. */
  early(id: number): void {
    if (this.waiting.has(id)) this.#aborted.add(id);
  }

  /** Fetch `id` leaves the gate: whether it was aborted while it waited. */
  passed(id: number): boolean {
    this.waiting.delete(id);
    return this.#aborted.delete(id);
  }

  override clear(): void {
    super.clear();
    this.waiting.clear();
    this.#aborted.clear();
  }
}

/**
 * About how many bytes the host holds for a call's arguments while it waits: strings (two bytes
 * a character, V8's worst case) and buffers, at any depth. The walk is bounded: past
 * WALK_MAX values the arguments count as too large to hold.
 */
const WALK_MAX = 1_000_000;
export function heldBytes(args: unknown[]): number {
  let bytes = 0;
  let seen = 0;
  const stack: unknown[] = [args];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++seen > WALK_MAX) return Number.POSITIVE_INFINITY;
    if (typeof v === 'string') bytes += v.length * 2;
    else if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) bytes += v.byteLength;
    else if (ArrayBuffer.isView(v)) bytes += v.byteLength;
    else if (v !== null && typeof v === 'object') {
      if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
      else if (v instanceof Set) for (const x of v) stack.push(x);
      else for (const x of Object.values(v)) stack.push(x);
    }
  }
  return bytes;
}

/** The gate for one isolate's posted calls: null when a call may start now, else when it may. */
export function outputGate(
  slot: { owner: { durable: StagedStorage | null } | null },
  /** Holds the isolate's fetches in flight (made on first use). */
  fetches: { readonly aborts: FetchAborts },
): (which: number, args: unknown[]) => Promise<void> | null {
  let calls = 0;
  let bytes = 0;
  return (which, args) => {
    const durable = slot.owner?.durable;
    if (!durable || !(which === FETCH || (which === ASYNC && args[0] !== 'subtle'))) return null;
    // No commit here: the isolate committed before posting the call (onBeforeLeaving), and it
    // has run on since; what it staged after the call is not the call's to commit.
    const ready = durable.confirmed();
    if (ready === null) return null;
    ready.catch(() => {}); // observed below; a call refused here must not leave it unhandled
    const size = heldBytes(args);
    if (calls >= MAX_GATED_CALLS || bytes + size > MAX_GATED_BYTES)
      throw new NamedError(
        `Too many calls are waiting for this Durable Object's writes to be confirmed (at most ${MAX_GATED_CALLS} calls and ${MAX_GATED_BYTES / 1024 / 1024} MiB of their arguments at once): await some of them first`,
        'Error',
      );
    calls++;
    bytes += size;
    const id = which === FETCH && typeof args[0] === 'number' ? args[0] : null;
    const aborts = fetches.aborts;
    if (id !== null) aborts.waiting.add(id);
    return ready.then(
      () => {
        calls--;
        bytes -= size;
        if (id !== null && aborts.passed(id))
          throw new NamedError('The operation was aborted.', 'AbortError');
      },
      (err: unknown) => {
        calls--;
        bytes -= size;
        if (id !== null) aborts.passed(id);
        throw withheld(err, 'the call was not made');
      },
    );
  };
}
