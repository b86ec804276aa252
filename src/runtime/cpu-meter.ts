/**
 * The CPU clock of one worker isolate and how it is shared among the invocations in it (the
 * watchdog's arithmetic; src/runtime/instance.ts decides what a breach does).
 *
 * The clock is the isolate's own CPU time plus host work done for it with no response in
 * flight (chargeHost). isolated-vm's cpuTime is time its tasks ran by the clock, not thread CPU,
 * so each slice is weighed by how contended the cores are when it is taken (contention.ts).
 *
 * Overlapping invocations share the clock. The isolate writes which invocation runs now, and a
 * count of changes of it (time in no invocation included), to memory shared with the host
 * (`Running`, see isolate/context.ts). The isolate's own CPU in an interval between two
 * readings that saw the same invocation and no change is that invocation's alone: all of it is
 * charged to it, so a loop spinning in one request meets its limit however many others wait
 * beside it. Any other interval, and host work charged to the clock (chargeOutside: it was done
 * for no one in particular), is shared equally among the invocations in flight: which of them
 * ran cannot be told from the host. (Measured from each request's start instead, a long request
 * was charged with its neighbours' CPU.)
 */
import { weighCpu } from './contention.ts';

/** Shared with the isolate (isolate/context.ts): the invocation running now, and changes of it. */
export interface Running {
  id: Float64Array;
  switches: Int32Array;
}

/** What is charged: an invocation's CPU used so far, ns. */
export interface Charged {
  cpuUsed: bigint;
}

/** The invocations in flight by id (an IdTable, id-table.ts, or a Map). */
export interface InFlight {
  readonly size: number;
  get(id: number): Charged | undefined;
  values(): Iterable<Charged>;
}

/**
 * An isolate's CPU time, or undefined once it is gone. isolated-vm disposes an isolate that
 * passed its memory limit from the isolate's own thread, so `isDisposed` read just before can
 * be stale and `cpuTime` then throws ("Isolate is disposed"): every read goes through here.
 */
export function cpuTimeOf(isolate: {
  readonly cpuTime: bigint;
  readonly isDisposed: boolean;
}): bigint | undefined {
  if (isolate.isDisposed) return undefined;
  try {
    return isolate.cpuTime;
  } catch {
    return undefined;
  }
}

export class CpuMeter {
  /** The isolate's CPU time at the last reading: a gone isolate's clock stops there. */
  #cpu = 0n;
  /** The clock when share() last ran, and credit not yet taken off (ns). */
  #seen = 0n;
  #credit = 0n;
  /** Host time charged to no response in flight, ns. */
  #host = 0n;
  /** The clock at the last idle check (-1: an invocation began since), and when (performance.now()). */
  #idleCpu = -1n;
  #idleAt = 0;
  /** CPU used with no response in flight beyond its allowance, summed across checks, ns. */
  #idleExcess = 0n;

  /** What `running` said at the last share(): the invocation running and the count of changes. */
  #lastId = 0;
  #lastSwitches = 0;
  /** #host when share() last ran. */
  #seenHost = 0n;

  constructor(
    private readonly isolate: { readonly cpuTime: bigint; readonly isDisposed: boolean },
    private readonly running: Running | undefined = undefined,
  ) {}

  /** The isolate's CPU clock: its own CPU time plus host work done for it outside a response. */
  clock(): bigint {
    this.#cpu = cpuTimeOf(this.isolate) ?? this.#cpu;
    return this.#cpu + this.#host;
  }

  /** Host work for no response in flight: on the clock like the isolate's own CPU. */
  chargeOutside(ns: bigint): void {
    this.#host += ns;
  }

  /**
   * Time the clock counted that is nobody's (e.g. waiting on the host): taken off the next shares.
   * `since`: the clock when that time began, when known. The part of it before the last share()
   * was dealt with there (charged to who was in flight, or to no one), so only the rest is
   * credited: a credit that arrives late must not become CPU for requests begun since.
   */
  credit(ns: bigint, since?: bigint): void {
    if (since !== undefined && this.#seen > since) ns -= this.#seen - since;
    if (ns <= 0n) return;
    this.#credit += ns;
    if (this.#idleCpu >= 0n) this.#idleCpu += ns;
  }

  /** An invocation began: idle checks start over. */
  busy(): void {
    this.#idleCpu = -1n;
  }

  /**
   * Charge the clock since the last call: the isolate's own CPU to the invocation that ran
   * alone meanwhile (see the top), else everything equally among `to` (keyed by invocation id).
   */
  share(to: InFlight): void {
    if (this.isolate.isDisposed) return;
    let alone = 0;
    if (this.running !== undefined) {
      const id = this.running.id[0];
      const switches = this.running.switches[0];
      if (id !== 0 && id === this.#lastId && switches === this.#lastSwitches) alone = id;
      this.#lastId = id;
      this.#lastSwitches = switches;
    }
    const now = this.clock();
    const host = this.#host - this.#seenHost;
    this.#seenHost = this.#host;
    let charge = now - this.#seen - this.#credit;
    this.#seen = now;
    if (charge < 0n) {
      this.#credit = -charge;
      charge = 0n;
    } else this.#credit = 0n;
    if (charge === 0n || to.size === 0) return;
    const weighed = weighCpu(charge);
    let shared = weighed;
    const only = alone === 0 ? undefined : to.get(alone);
    if (only !== undefined) {
      // Host work in the interval is nobody's in particular: shared below, in proportion.
      shared = host <= 0n ? 0n : host >= charge ? weighed : (weighed * host) / charge;
      only.cpuUsed += weighed - shared;
      if (shared === 0n) return;
    }
    const each = shared / BigInt(to.size);
    for (const a of to.values()) a.cpuUsed += each;
  }

  /**
   * An idle check (no response in flight): the weighed CPU used since the last one, and the
   * excess over `allowance` (the share of a core allowed per unit of time) summed across checks
   * (draining while it uses less). Null on the first check after an invocation began.
   */
  idle(allowance: number): { used: bigint; excess: bigint } | null {
    const cpu = this.clock();
    const at = performance.now();
    const [last, lastAt] = [this.#idleCpu, this.#idleAt];
    this.#idleCpu = cpu;
    this.#idleAt = at;
    if (last < 0n) return null;
    const used = weighCpu(cpu - last);
    const excess = this.#idleExcess + used - BigInt(Math.round((at - lastAt) * 1e6 * allowance));
    this.#idleExcess = excess > 0n ? excess : 0n;
    return { used, excess: this.#idleExcess };
  }
}
