/**
 * The CPU clock of one worker isolate and how it is shared among the invocations in it (the
 * watchdog's arithmetic; src/runtime/instance.ts decides what a breach does).
 *
 * The clock is the isolate's own CPU time plus host work done for it with no response in
 * flight (chargeHost). isolated-vm's cpuTime is time its tasks ran by the clock, not thread CPU,
 * so each slice is weighed by how contended the cores are when it is taken (contention.ts).
 *
 * Overlapping invocations share the clock. The isolate writes which invocation runs now, and a
 * count of switches between invocations, to memory shared with the host (`running`, see
 * isolate/context.ts). An interval between two readings that saw the same invocation running
 * and no switch is that invocation's alone: all of it is charged to it, so a loop spinning in
 * one request meets its limit however many others wait beside it. Any other interval is shared
 * equally among the invocations in flight: which of them ran cannot be told from the host.
 * (Measured from each request's start instead, a long request was charged with its
 * neighbours' CPU.)
 */
import { weighCpu } from './contention.ts';

/** What is charged: an invocation's CPU used so far, ns. */
export interface Charged {
  cpuUsed: bigint;
}

export class CpuMeter {
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

  /** What `running` said at the last share(): the invocation running and the switch count. */
  #lastId = 0;
  #lastSwitches = 0;

  constructor(
    private readonly isolate: { readonly cpuTime: bigint; readonly isDisposed: boolean },
    private readonly running: Int32Array | undefined = undefined,
  ) {}

  /** The isolate's CPU clock: its own CPU time plus host work done for it outside a response. */
  clock(): bigint {
    return this.isolate.cpuTime + this.#host;
  }

  /** Host work for no response in flight: on the clock like the isolate's own CPU. */
  chargeOutside(ns: bigint): void {
    this.#host += ns;
  }

  /** Time the clock counted that is nobody's (e.g. waiting on the host): taken off the next shares. */
  credit(ns: bigint): void {
    this.#credit += ns;
    if (this.#idleCpu >= 0n) this.#idleCpu += ns;
  }

  /** An invocation began: idle checks start over. */
  busy(): void {
    this.#idleCpu = -1n;
  }

  /**
   * Charge the clock since the last call: all of it to the invocation that ran alone meanwhile
   * (see the top), else equally among `to` (keyed by invocation id).
   */
  share(to: ReadonlyMap<number, Charged>): void {
    if (this.isolate.isDisposed) return;
    let alone = 0;
    if (this.running !== undefined) {
      const id = this.running[0];
      const switches = this.running[1];
      if (id !== 0 && id === this.#lastId && switches === this.#lastSwitches) alone = id;
      this.#lastId = id;
      this.#lastSwitches = switches;
    }
    const now = this.clock();
    let charge = now - this.#seen - this.#credit;
    this.#seen = now;
    if (charge < 0n) {
      this.#credit = -charge;
      charge = 0n;
    } else this.#credit = 0n;
    if (charge === 0n || to.size === 0) return;
    charge = weighCpu(charge);
    const only = alone === 0 ? undefined : to.get(alone);
    if (only !== undefined) {
      only.cpuUsed += charge;
      return;
    }
    const each = charge / BigInt(to.size);
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
