/**
 * Durable Objects in a network of nodes (`outpost node`): one owner per object across them, its
 * lease and fence kept in JetStream (src/durable-objects/cluster/). A call runs here when this
 * node owns the object or nobody does (it takes it), and is sent to the owner otherwise. Calls
 * are held, not failed, while an owner that stopped answering still holds its lease (up to twice
 * the lease), and while the object changes hands. A call whose connection broke after it was
 * sent is not sent again (it may have run): the caller gets "Network connection lost", as on
 * Cloudflare. Answers leave only once what the object wrote is replicated (the output gate).
 */
import { type AutoMoveOptions, CallOrigins } from './auto-move.ts';
import { type ObjectCluster, ObjectElsewhere, type OwnerEntry } from './cluster/index.ts';
import { ObjectError, OwnerUnreachable } from './errors.ts';
import {
  keyOf,
  type ObjectCall,
  type ObjectClass,
  type ObjectEvent,
  type ObjectHost,
  type ObjectOp,
  type ObjectPeers,
  type PeerNode,
  type PeerObjectCall,
} from './host.ts';
import type { Live } from './live.ts';
import { gated } from './output-gate.ts';

export interface NetworkOptions {
  objects: ObjectCluster;
  peers: ObjectPeers;
  /**
   * Where an object nobody holds should live: its PoP before (it stays put across a failover)
   * or, new, the PoP nearest its locationHint; and a live node serving that PoP, if any.
   */
  placeAt?: (pop: string | null, hint: string | null, tenant: string) => PeerNode | null;
  /** Move objects toward where their calls come from (./auto-move.ts); absent: never. */
  autoMove?: AutoMoveOptions;
}

/** What calls across nodes need of the objects of this node (src/durable-objects/objects.ts). */
export interface NodeSite {
  hostFor(pop: string): ObjectHost;
  live(key: string): Live | undefined;
  /** An instance of the object is being made here. */
  loading(key: string): boolean;
  alarmRunning(key: string): boolean;
  /** The live object, made (taking it across nodes) when it is not in memory. */
  get(t: ObjectClass, id: string, name: string | null, pop: string): Promise<Live>;
  /**
   * Let the object go from this node: its isolate (its lease released once its writes are
   * replicated, with `to`'s PoP as its place), timers and hibernated WebSockets. Resolves true
   * when it was in memory.
   */
  leave(key: string, reason: string, to?: PeerNode): Promise<boolean>;
  log(level: 'info' | 'error', message: string): void;
  /** Hibernatable WebSockets this node holds for the object. */
  sockets(key: string): number;
}

/** A move decided by the counts, started once the object is idle here. */
interface WantedMove {
  t: ObjectClass;
  id: string;
  name: string | null;
  to: string;
  /** When it was decided (ms): a decision older than a window is dropped. */
  at: number;
}

/** How long an automatic move waits for the object to be idle before it gives up, ms. */
const AUTO_MOVE_WAIT_MS = 2000;
/** After a failed automatic move, the object stays for this many windows. */
const AUTO_MOVE_BACKOFF_WINDOWS = 5;

export class NodeCalls {
  /** Calls for objects being moved away from this node wait for the move (then go where it went). */
  readonly #moving = new Map<string, Promise<void>>();
  /** Calls running on each object here now. */
  readonly #running = new Map<string, number>();
  /** Where the calls of objects held here come from (automatic moves), if on. */
  readonly #origins: CallOrigins | null;
  /** Moves decided and not started yet, by object. */
  readonly #wanted = new Map<string, WantedMove>();
  /** Objects whose automatic move failed: not tried again before this time (ms). */
  #backoff = new Map<string, number>();

  constructor(
    readonly options: NetworkOptions,
    private readonly site: NodeSite,
  ) {
    this.#origins = options.autoMove ? new CallOrigins(options.autoMove) : null;
  }

  /** The object left this node. */
  forget(key: string): void {
    this.#origins?.forget(key);
    this.#wanted.delete(key);
  }

  /**
   * Run `op` on the object, here or at its owner; `at` learns where it ran. `from`: this node's
   * PoP, where the object is made if it is taken here; `origin`: the PoP of the caller.
   */
  async call(
    from: string,
    t: ObjectClass,
    call: ObjectCall,
    op: ObjectOp,
    forward: boolean,
    at: (where: string) => void,
    origin = from,
  ): Promise<unknown> {
    const { objects: c, peers } = this.options;
    const key = keyOf(t.namespace, call.id);
    const deadline = Date.now() + 2 * c.leaseMs + 5000;
    let fresh = false;
    let placedFailed = false;
    const retry = async (why: Error, ms: number) => {
      if (Date.now() > deadline)
        throw new ObjectError(`Durable Object unavailable: ${why.message}; try again later`);
      fresh = true;
      await new Promise((r) => setTimeout(r, ms));
    };
    for (;;) {
      const moving = this.#moving.get(key);
      // Another node's call during a move goes back at once (409): it asks again, and reaches
      // the new owner, instead of waiting here on a lease that is about to be handed over.
      if (moving && !forward) throw new ObjectElsewhere(null);
      if (moving) {
        await moving;
        fresh = true;
      }
      const live = this.site.live(key);
      if (!live?.replicated || !c.holding(t.namespace, call.id)) {
        let owner = await c.owner(t.namespace, call.id, fresh);
        const place = this.options.placeAt;
        if (forward && place && !placedFailed && !(owner && c.holds(owner))) {
          // Nobody holds it: it goes where it lived before, or (new) near its locationHint, when
          // a node serves that PoP; the call is sent there and that node takes it.
          const to = place(owner?.pop ?? null, owner ? null : call.hint, t.tenant);
          if (to && to.node !== c.node)
            owner = {
              ...to,
              epoch: 0,
              until: Date.now() + c.leaseMs,
              ns: t.namespace,
              id: call.id,
              name: call.name,
            };
        }
        if (owner && owner.node !== c.node && c.holds(owner)) {
          if (!forward) throw new ObjectElsewhere(owner);
          at(`${owner.pop} (${owner.node})`);
          try {
            return await this.#watched(t.namespace, call.id, owner, (signal) =>
              peerCallOf(t, call, op, origin).then((p) => peers.call(owner, p, signal)),
            );
          } catch (err) {
            // The node it was placed at did not take it: it is taken here instead.
            if (owner.epoch === 0 && err instanceof OwnerUnreachable) placedFailed = true;
            if (err instanceof ObjectElsewhere) await retry(err, 10);
            else if (err instanceof OwnerUnreachable) await retry(err, placedFailed ? 0 : 200);
            else throw err;
            continue;
          }
        }
      }
      at(`${c.pop} (${c.node})`);
      let l: Live;
      try {
        l = await this.site.get(t, call.id, call.name, from);
      } catch (err) {
        if (!(err instanceof ObjectElsewhere)) throw err;
        await retry(err, 10);
        continue;
      }
      if (this.#moving.has(key)) {
        if (!forward) throw new ObjectElsewhere(null);
        continue; // a move began while it was made: wait for it
      }
      return this.#runHere(l, key, op, call, () => this.#count(t, call, key, origin));
    }
  }

  /** Count where the call came from; a move is wanted when most of its calls come from elsewhere. */
  #count(t: ObjectClass, call: ObjectCall, key: string, origin: string): void {
    const to = this.#origins?.record(key, origin, this.options.objects.pop);
    if (to) this.#wanted.set(key, { t, id: call.id, name: call.name, to, at: Date.now() });
  }

  /**
   * Start a wanted move once nothing runs on the object here: no call, no response body still
   * streaming, no waitUntil work, no hibernated WebSocket (a move would cut them). Until then
   * it is asked again as each call ends, for one window; one that failed is not tried again for
   * a while.
   */
  #maybeMove(l: Live, key: string): void {
    const want = this.#wanted.get(key);
    if (!want) return;
    const c = this.options.objects;
    const windowMs = this.options.autoMove?.windowMs ?? 60_000;
    if (Date.now() - want.at > windowMs || (this.#backoff.get(key) ?? 0) > Date.now()) {
      this.#wanted.delete(key);
      return;
    }
    if (this.#moving.has(key) || (this.#running.get(key) ?? 0) > 0) return;
    if (l.instance.busy || this.site.sockets(key) > 0) return;
    this.#wanted.delete(key);
    const node = this.options.placeAt?.(want.to, null, want.t.tenant);
    if (!node || node.node === c.node) return;
    const label = `Durable Object ${want.t.namespace} ${want.name ?? want.id}`;
    this.moveOut(want.t, want.id, want.name, node, AUTO_MOVE_WAIT_MS).then(
      (r) => {
        const { moved, ms } = r as { moved: boolean; ms: number };
        if (moved)
          this.site.log(
            'info',
            `${label}: moved from ${c.pop} to ${want.to} (most of its calls came from there) in ${ms} ms`,
          );
      },
      (err) => {
        if (this.#backoff.size >= 10_000) this.#backoff = new Map();
        this.#backoff.set(key, Date.now() + AUTO_MOVE_BACKOFF_WINDOWS * windowMs);
        this.site.log('error', `${label}: automatic move to ${want.to} failed: ${(err as Error).message}`);
      },
    );
  }

  async #runHere(
    l: Live,
    key: string,
    op: ObjectOp,
    call: ObjectCall,
    counted: () => void,
  ): Promise<unknown> {
    l.lastUsed = Date.now();
    this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
    counted();
    try {
      const event: ObjectEvent = op.kind === 'fetch' ? op : { ...op, chain: call.chain };
      return await gated(l, op.kind === 'fetch', () => this.site.hostFor(l.pop).runObject(l.instance, event));
    } finally {
      l.lastUsed = Date.now();
      const n = (this.#running.get(key) ?? 1) - 1;
      if (n > 0) this.#running.set(key, n);
      else {
        this.#running.delete(key);
        if (this.#wanted.has(key)) setImmediate(() => this.#maybeMove(l, key));
      }
    }
  }

  /**
   * A call sent to the owner, watched: while it waits, the owner must keep its lease. An owner
   * that stops renewing (paused, cut off) cannot answer validly any more (its output gate checks
   * its lease), so the wait ends there with "Network connection lost": the call may have reached
   * it, so it is not sent again.
   */
  async #watched<T>(
    ns: string,
    id: string,
    owner: OwnerEntry,
    send: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const c = this.options.objects;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const watch = () => {
      timer = setTimeout(async () => {
        const now = await c.owner(ns, id, true).catch(() => owner);
        if (done) return;
        const same = now && now.node === owner.node && c.holds(now);
        // A node the call was placed at (epoch 0) takes the object with an epoch of its own, and
        // may still be taking it (nobody holds it yet): both are waited for.
        if (same && (owner.epoch === 0 || now.epoch === owner.epoch)) return watch();
        if (owner.epoch === 0 && !(now && c.holds(now))) return watch();
        abort.abort(
          new ObjectError(
            `Network connection lost (the Durable Object's node ${owner.node} stopped answering for it)`,
          ),
        );
      }, c.leaseMs / 2);
    };
    watch();
    try {
      return await send(abort.signal);
    } catch (err) {
      if (abort.signal.aborted) throw abort.signal.reason;
      throw err;
    } finally {
      done = true;
      clearTimeout(timer);
    }
  }

  /**
   * `outpost do move`: hand an object this node owns to the node `to`. New calls wait; the calls
   * running finish; the object's writes are replicated and its lease released with `to`'s PoP as
   * its place; `to` takes it. Calls that waited then go to it. Hibernated WebSockets are closed
   * (their clients reconnect, to the new owner).
   */
  async moveOut(
    t: ObjectClass,
    id: string,
    name: string | null,
    to: PeerNode,
    waitMs = 30_000,
  ): Promise<unknown> {
    const { objects: c, peers } = this.options;
    const key = keyOf(t.namespace, id);
    if (!c.holding(t.namespace, id)) throw new ObjectElsewhere(await c.owner(t.namespace, id, true));
    if (to.node === c.node) return { from: c.pop, to: to.pop, moved: false, ms: 0 };
    if (this.#moving.has(key)) throw new ObjectError('the object is being moved already');
    let done: () => void = () => {};
    this.#moving.set(
      key,
      new Promise<void>((r) => {
        done = r;
      }),
    );
    const started = Date.now();
    try {
      // What runs here finishes first: calls, an instance being made, an alarm.
      while ((this.#running.get(key) ?? 0) > 0 || this.site.loading(key) || this.site.alarmRunning(key)) {
        if (Date.now() - started > waitMs)
          throw new ObjectError(`the object stayed busy for ${waitMs / 1000} s: not moved`);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!(await this.site.leave(key, 'the Durable Object moved to another node', to)))
        await c.release(t.namespace, id, to);
      // The new owner takes it now (if it cannot, the next call takes it, near `to`'s PoP).
      await peers.call(
        { ...to, epoch: 0, until: 0, ns: t.namespace, id, name },
        {
          tenant: t.tenant,
          className: t.className,
          id,
          name,
          hint: null,
          hops: 2,
          invocations: 1,
          op: { kind: 'take' },
        },
      );
      return { from: c.pop, to: to.pop, moved: true, ms: Date.now() - started };
    } finally {
      this.#moving.delete(key);
      done();
    }
  }

  /** Take the object on this node (made and running here) unless another node holds it. */
  async take(pop: string, t: ObjectClass, call: ObjectCall): Promise<unknown> {
    const c = this.options.objects;
    const owner = await c.owner(t.namespace, call.id, true);
    if (owner && owner.node !== c.node && c.holds(owner)) throw new ObjectElsewhere(owner);
    const l = await this.site.get(t, call.id, call.name, pop);
    l.lastUsed = Date.now();
    return { taken: true, at: c.pop };
  }
}

/** What is sent to the owning node: the request's body read whole (streamed bodies: a known gap). */
async function peerCallOf(
  t: ObjectClass,
  call: ObjectCall,
  op: ObjectOp,
  origin: string,
): Promise<PeerObjectCall> {
  const base = {
    from: origin,
    tenant: t.tenant,
    className: t.className,
    id: call.id,
    name: call.name,
    hint: call.hint,
    hops: call.chain.hops,
    invocations: call.chain.tree.invocations,
  };
  if (op.kind === 'rpc') return { ...base, op };
  const r = op.request;
  let body: Uint8Array | null = null;
  if (r.body instanceof Uint8Array) body = r.body;
  else if (r.body) {
    const chunks: Uint8Array[] = [];
    for (let c = await r.body.next(); c; c = await r.body.next()) chunks.push(c);
    body = Buffer.concat(chunks);
  }
  return { ...base, op: { kind: 'fetch', method: r.method, url: r.url, headers: r.headers, cf: r.cf, body } };
}
