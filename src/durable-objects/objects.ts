/**
 * Durable Objects across a network (one per process, shared by every PoP's runtime): exactly
 * one live instance per object id, in the PoP where the object was placed (nearest its first
 * request, or its locationHint) — calls from other PoPs are routed there and pay the modelled
 * trip between the PoPs. Each live object is an isolate of its own with its SQLite database;
 * it is evicted after `idleMs` without events (and no open WebSockets or waitUntil work), and
 * made again from storage on the next call. Alarms (./alarms.ts) are kept in the directory and
 * fire at their time. In a network of nodes, ./across-nodes.ts finds each object's one owner.
 *
 * The runtime runs the objects' code: this file asks it through ObjectHost (./host.ts) and
 * never imports it.
 */

import { statSync } from 'node:fs';
import { type Hop, type Observer, type OpenHop, SpanKind } from '../observability/index.ts';
import { type NetworkOptions, NodeCalls } from './across-nodes.ts';
import { ObjectAlarms } from './alarms.ts';
import { ReplicatedStorage } from './cluster/index.ts';
import type { ObjectDirectory, PlacedObject } from './directory.ts';
import { ObjectError } from './errors.ts';
import { HibernationSet } from './hibernation.ts';
import {
  keyOf,
  type ObjectCall,
  type ObjectClass,
  type ObjectEvent,
  type ObjectHost,
  type ObjectOp,
  type ObjectPlacement,
  type PeerNode,
  type PeerObjectCall,
} from './host.ts';
import { invalidId } from './ids.ts';
import type { Live } from './live.ts';
import { gated } from './output-gate.ts';
import { StagedStorage } from './staged.ts';
import type { ObjectStorage } from './storage.ts';

export interface DurableObjectsOptions {
  directory: ObjectDirectory;
  observer: Observer;
  /** The runtime of a PoP (made on demand in a network): it runs the objects' code. */
  runtimeFor: (pop: string) => ObjectHost;
  placement?: ObjectPlacement;
  /** Evict an object after this long without events, ms (default 30 s). */
  idleMs?: number;
  /**
   * A network of nodes (`outpost node`): one owner per object across them, storage replicated
   * through JetStream (src/durable-objects/cluster/), calls to objects owned elsewhere sent by
   * `peers`. Absent: objects live in this process only.
   */
  cluster?: NetworkOptions;
}

/** How many checked ids a process keeps before it starts over (see #checkId). */
const CHECKED_IDS_MAX = 10_000;

export class DurableObjects {
  readonly directory: ObjectDirectory;
  readonly idleMs: number;
  readonly #live = new Map<string, Live>();
  readonly #loading = new Map<string, Promise<Live>>();
  readonly #placed = new Map<string, PlacedObject>();
  readonly #hibernation = new Map<string, HibernationSet>();
  /** WebSocket sets of objects that went to another node (their events are dropped). */
  readonly #dead = new WeakSet<HibernationSet>();
  /** Objects whose disk failed an fsync, refused until the process restarts: why, by key. */
  readonly #broken = new Map<string, string>();
  /** Ids already checked (namespace and id): the check is a SHA-256 per call on a hot object. */
  #checkedIds = new Set<string>();
  readonly #alarms: ObjectAlarms;
  readonly #nodes: NodeCalls | null;
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(readonly options: DurableObjectsOptions) {
    this.directory = options.directory;
    this.idleMs = options.idleMs ?? 30_000;
    this.#sweep = setInterval(() => this.#evictIdle(), Math.min(1000, this.idleMs));
    this.#sweep.unref();
    const self = this;
    this.#alarms = new ObjectAlarms({
      directory: this.directory,
      cluster: options.cluster?.objects,
      get closed() {
        return self.#closed;
      },
      hostFor: (pop) => options.runtimeFor(pop),
      get: (t, id, name, pop) => this.#get(t, id, name, pop),
      live: (key) => this.#live.get(key),
      log: (message) => this.#log(message),
    });
    this.#nodes = options.cluster
      ? new NodeCalls(options.cluster, {
          hostFor: (pop) => options.runtimeFor(pop),
          live: (key) => this.#live.get(key),
          loading: (key) => this.#loading.has(key),
          alarmRunning: (key) => this.#alarms.running(key),
          get: (t, id, name, pop) => this.#get(t, id, name, pop),
          leave: (key, reason, to) => this.#leave(key, reason, to),
          log: (level, message) => this.#log(message, level),
          sockets: (key) => this.#hibernation.get(key)?.size ?? 0,
        })
      : null;
    const c = options.cluster?.objects;
    if (c) {
      c.onLost = (ns, id, why) =>
        void this.#leave(keyOf(ns, id), `the Durable Object moved to another node (${why.message})`);
      c.onOrphanAlarm = (a) => this.#alarms.orphan(a);
    }
  }

  /** Schedule the alarms the directory holds (after a restart); call once workers are deployed. */
  startAlarms(): void {
    this.#alarms.start();
  }

  /** An id of class `t`: from a name, new, or checked from its string (stubs' ids). */
  checkId(t: ObjectClass, id: unknown): string {
    this.#checkId(t.namespace, id);
    return id as string;
  }

  /**
   * Throws the reason `id` is not an id of `namespace` (ids come from the isolate); ids that
   * passed are kept. Returns the object's key (keyOf).
   */
  #checkId(namespace: string, id: unknown): string {
    const key = typeof id === 'string' ? keyOf(namespace, id) : null;
    if (key !== null && this.#checkedIds.has(key)) return key;
    const why = invalidId(namespace, id);
    if (why || key === null) throw new ObjectError(why ?? 'invalid Durable Object id', 'TypeError');
    if (this.#checkedIds.size >= CHECKED_IDS_MAX) this.#checkedIds = new Set();
    this.#checkedIds.add(key);
    return key;
  }

  /** A call through a stub of class `t`, made in PoP `from`. */
  call(from: string, t: ObjectClass, call: ObjectCall, op: ObjectOp): Promise<unknown> {
    return this.#call(from, t, call, op, true);
  }

  /** A call another node sent because this node owns the object (or should take it). */
  peerCall(pop: string, c: PeerObjectCall): Promise<unknown> {
    const t = this.options.runtimeFor(pop).objectClass(c.tenant, c.className, 'a call from another node');
    const chain = { hops: c.hops, tree: { invocations: c.invocations } };
    const call: ObjectCall = {
      binding: c.className,
      id: c.id,
      name: c.name,
      hint: c.hint,
      hops: null,
      chain,
    };
    const nodes = this.#nodes;
    if (!nodes) throw new ObjectError('calls from other nodes need a network of nodes');
    if (c.op.kind === 'move') return nodes.moveOut(t, c.id, c.name, c.op.to);
    if (c.op.kind === 'take') return nodes.take(pop, t, call);
    const { op } = c;
    // The caller's PoP, as its node said (nodes share the network secret).
    const origin = typeof c.from === 'string' ? c.from : pop;
    if (op.kind === 'rpc') return this.#call(pop, t, call, op, false, origin);
    const request = { method: op.method, url: op.url, headers: op.headers, cf: op.cf, body: op.body, chain };
    return this.#call(pop, t, call, { kind: 'fetch', request }, false, origin);
  }

  /**
   * A call through a stub, with its span and `do` Server-Timing entry (CallDone): run here
   * (#callHere) or through the network of nodes, either of which tells `done` where the object
   * lives as soon as it knows, and the trip when one was modelled.
   */
  #call(
    from: string,
    t: ObjectClass,
    call: ObjectCall,
    op: ObjectOp,
    forward: boolean,
    origin = from,
  ): Promise<unknown> {
    let key: string;
    try {
      key = this.#checkId(t.namespace, call.id);
    } catch (err) {
      return Promise.reject(err); // a call's failure is its promise's, never a throw
    }
    const started = performance.now();
    // The call's span: the object's invocation records under it (its chain carries it).
    const recording = call.hops?.trace.recording === true;
    const at = call.hops?.begin(
      'durable_object_subrequest',
      SpanKind.CLIENT,
      recording
        ? {
            'cloudflare.binding.type': 'DurableObject',
            'cloudflare.binding.name': call.binding,
            'cloudflare.durable_object.id': call.id,
          }
        : undefined,
    );
    if (at?.recorder.trace.recording) call.chain.trace = at.recorder.trace;
    const done = new CallDone(call, from, started, at);
    const out = this.#nodes
      ? this.#nodes.call(from, t, call, op, forward, (w) => done.at(w), origin)
      : this.#callHere(from, t, call, op, key, done);
    return out.then(
      (v) => done.end(v),
      (err) => done.fail(err),
    );
  }

  /** A call to an object in this process (no network of nodes). */
  async #callHere(
    from: string,
    t: ObjectClass,
    call: ObjectCall,
    op: ObjectOp,
    key: string,
    done: CallDone,
  ): Promise<unknown> {
    const placed = this.#place(from, t, call, key);
    done.at(placed.pop);
    const placement = this.options.placement;
    if (placement && placed.pop !== from) {
      const trip = placement.trip(from, placed.pop);
      done.trip = trip;
      if (trip.wait && trip.ms > 0) await new Promise((r) => setTimeout(r, trip.ms));
    }
    const event: ObjectEvent = op.kind === 'fetch' ? op : { ...op, chain: call.chain };
    return await this.#run(await this.#get(t, call.id, call.name, placed.pop, key), event);
  }

  /** Where an object lives in this process: in memory once known (the directory is read or written on first use only). */
  #place(from: string, t: ObjectClass, call: ObjectCall, key: string): PlacedObject {
    let placed = this.#placed.get(key);
    if (!placed || (call.name !== null && placed.name === null)) {
      const pop = this.options.placement?.place(from, call.hint) ?? from;
      placed = this.directory.place(t.namespace, call.id, call.name, pop);
      this.#placed.set(key, placed);
    }
    return placed;
  }

  /** Run an event on a live object, keeping it from eviction meanwhile. */
  async #run(live: Live, event: ObjectEvent): Promise<unknown> {
    live.lastUsed = Date.now();
    try {
      // Its outcome leaves through the output gate; a WebSocket event's goes nowhere (what its
      // handler sends is gated as it is sent), so the socket's next message need not wait.
      if (event.kind === 'ws') return await this.options.runtimeFor(live.pop).runObject(live.instance, event);
      // An arrow argument, not a named one (under tsx naming one costs ~0.2 µs a call).
      return await gated(live, event.kind === 'fetch', () =>
        this.options.runtimeFor(live.pop).runObject(live.instance, event),
      );
    } finally {
      live.lastUsed = Date.now();
    }
  }

  /** The live object, made (constructor run, storage opened) when it is not in memory. */
  #get(
    t: ObjectClass,
    id: string,
    name: string | null,
    pop: string,
    key = keyOf(t.namespace, id),
  ): Promise<Live> {
    const live = this.#live.get(key);
    if (live && live.instance.state === 'ready') return Promise.resolve(live);
    let loading = this.#loading.get(key);
    if (loading) return loading;
    loading = this.#make(t, id, name, pop, key).finally(() => this.#loading.delete(key));
    this.#loading.set(key, loading);
    return loading;
  }

  async #make(t: ObjectClass, id: string, name: string | null, pop: string, key: string): Promise<Live> {
    if (this.#closed) throw new ObjectError('Durable Objects are shutting down');
    const broken = this.#broken.get(key);
    if (broken) throw new ObjectError(broken);
    const c = this.options.cluster?.objects;
    const store: ObjectStorage = c
      ? await c.open(t.namespace, id, name, this.directory.folder(t.namespace), this.directory.objectMaxBytes)
      : this.directory.open(t.namespace, id);
    // The disk failed an fsync. What it kept is unknown, and Linux reports such an error once:
    // a new descriptor, or a new instance reading the same pages, would not learn of it. So what
    // waited is withheld (wal-sync.ts) and the object is out of service until the process
    // restarts, for an operator to look at the disk (PostgreSQL stops on a failed fsync too).
    store.walSync?.onFailure((err) => {
      const code = (err as NodeJS.ErrnoException).code ?? 'I/O error';
      this.#broken.set(
        key,
        `Durable Object storage could not be written to disk (${code}): the object is out of service until Outpost restarts`,
      );
      this.#log(
        `Durable Object ${t.namespace} ${id} out of service until restart: an fsync failed: ${err.message}`,
      );
      // Its instance goes, and its hibernated WebSockets are closed (each message would only
      // fail to wake it).
      void this.#leave(key, 'the Durable Object is out of service: its storage could not be written to disk');
    });
    const replicated = store instanceof ReplicatedStorage ? store : null;
    const storage = new StagedStorage(store, t.backend, (at) => this.#alarms.changed(t.namespace, id, at));
    if (replicated) {
      // Taken from another node: the alarm its journal holds is armed here now.
      const at = replicated.getAlarm();
      if (at !== null) this.#alarms.changed(t.namespace, id, at);
    }
    try {
      const host = this.options.runtimeFor(pop);
      const sockets = this.#sockets(t, id, name, pop);
      const instance = await host.loadObject(
        t.tenant,
        { className: t.className, id, name, backend: t.backend, sockets: sockets.restore() },
        storage,
        sockets,
      );
      const l: Live = {
        key,
        namespace: t.namespace,
        id,
        pop,
        instance,
        storage,
        replicated,
        lastUsed: Date.now(),
      };
      const prevDeath = instance.onDeath;
      instance.onDeath = () => {
        prevDeath?.();
        this.#drop(l);
      };
      // Its storage failed while the constructor ran.
      const failed = this.#broken.get(key);
      if (failed) {
        instance.dispose();
        throw new ObjectError(failed);
      }
      this.#live.set(key, l);
      return l;
    } catch (err) {
      storage.close();
      if (replicated) void c?.release(t.namespace, id);
      throw err;
    }
  }

  /**
   * The object's hibernatable WebSockets: they outlive its isolate, and their events wake it
   * (made again where it lives) and reach its handlers one after another.
   */
  #sockets(t: ObjectClass, id: string, name: string | null, pop: string): HibernationSet {
    const key = keyOf(t.namespace, id);
    const set = this.#hibernation.get(key);
    if (set) return set;
    const host = this.options.runtimeFor(pop);
    const made: HibernationSet = new HibernationSet(
      async (socket, type, a, b) => {
        // The object went to another node: the closes of the sockets it had here wake nothing.
        if (this.#dead.has(made)) return;
        await this.#run(await this.#get(t, id, name, pop), { kind: 'ws', type, socket, a, b });
      },
      (err) => this.#log(`Durable Object ${t.namespace} ${id}: WebSocket handler failed: ${err.message}`),
      host.socketFlow(),
    );
    this.#hibernation.set(key, made);
    return made;
  }

  /** Forget a live object (its isolate is gone or going) and close its storage. */
  #drop(l: Live, to?: PeerNode): Promise<void> {
    if (this.#live.get(l.key) === l) this.#live.delete(l.key);
    this.#nodes?.forget(l.key);
    try {
      l.storage.close();
    } catch (err) {
      this.#log(`Durable Object ${l.namespace} ${l.id}: closing storage failed: ${(err as Error).message}`);
    }
    // Its lease goes back once what it wrote is replicated (another node may take it then).
    if (l.replicated)
      return this.options.cluster?.objects.release(l.namespace, l.id, to) ?? Promise.resolve();
    return Promise.resolve();
  }

  /** The object leaves this node (moved, or lost to another): instance, alarm timer, WebSockets. */
  async #leave(key: string, reason: string, to?: PeerNode): Promise<boolean> {
    this.#alarms.cancel(key);
    const set = this.#hibernation.get(key);
    if (set) {
      this.#dead.add(set);
      set.closeAll(reason);
      this.#hibernation.delete(key);
    }
    const l = this.#live.get(key);
    if (!l) return false;
    const released = this.#drop(l, to);
    l.instance.dispose();
    await released;
    return true;
  }

  #evictIdle(): void {
    const now = Date.now();
    for (const l of [...this.#live.values()]) {
      if (now - l.lastUsed < this.idleMs || l.instance.busy) continue;
      // Across nodes an evicted object's lease goes back, and another node may take it: its
      // hibernated WebSockets, held here, would lose it. It stays while it has any.
      if (l.replicated && (this.#hibernation.get(l.key)?.size ?? 0) > 0) continue;
      this.#drop(l);
      l.instance.dispose();
      if (this.#hibernation.get(l.key)?.size === 0) this.#hibernation.delete(l.key);
    }
  }

  #log(message: string, level: 'info' | 'error' = 'error'): void {
    this.options.observer.log({ level, source: 'outpost', message });
  }

  /** Objects in memory now. */
  get liveCount(): number {
    return this.#live.size;
  }

  /**
   * The admin view: every object the directory knows, where it lives and its state — active (in
   * memory), hibernating (evicted while its hibernatable WebSockets stay open, held here) or
   * evicted — with those WebSockets, its database's size on this node's disk, and its alarm.
   */
  status(): unknown {
    const alarms = new Map(this.directory.alarms().map((a) => [keyOf(a.namespace, a.id), a.at]));
    return {
      idleMs: this.idleMs,
      objects: this.directory.list().map((o) => {
        const key = keyOf(o.namespace, o.id);
        const live = this.#live.has(key);
        const websockets = this.#hibernation.get(key)?.size ?? 0;
        const alarm = alarms.get(key);
        return {
          namespace: o.namespace,
          id: o.id,
          name: o.name,
          location: o.pop,
          createdAt: new Date(o.createdAt).toISOString(),
          live,
          state: live ? 'active' : websockets > 0 ? 'hibernating' : 'evicted',
          websockets,
          storageBytes: this.#storageBytes(key, o.namespace, o.id),
          alarm: alarm === undefined ? null : new Date(alarm).toISOString(),
        };
      }),
    };
  }

  /**
   * The object's database on this node's disk, with its write-ahead log (0: never written here).
   * Across nodes the database is the journal's copy of the node that holds the object: null
   * while it is not in memory here.
   */
  #storageBytes(key: string, namespace: string, id: string): number | null {
    const l = this.#live.get(key);
    if (this.options.cluster && !l?.replicated) return null;
    const file = l?.replicated ? l.replicated.file : this.directory.file(namespace, id);
    let n = 0;
    for (const f of [file, `${file}-wal`])
      try {
        n += statSync(f).size;
      } catch {}
    return n;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#alarms.close();
    await Promise.allSettled([...this.#loading.values()]);
    for (const set of this.#hibernation.values()) set.closeAll('shutting down');
    for (const l of [...this.#live.values()]) {
      this.#drop(l);
      l.instance.dispose();
    }
    this.directory.close();
  }
}

/** No trip modelled between the caller's PoP and the object's. */
const NO_TRIP = { ms: 0, wait: false };

/**
 * The end of a call through a stub: its span, its `do` Server-Timing entry (where the object
 * lives, the trip there) and `Outpost-Do-Location`. An object, not closures: a closure made per
 * call keeps the call's whole context (src/pop/request-end.ts says why that matters).
 */
class CallDone {
  /** The object's PoP, once known ('' until then). */
  where = '';
  trip: { ms: number; wait: boolean } = NO_TRIP;

  constructor(
    readonly call: ObjectCall,
    readonly from: string,
    readonly started: number,
    readonly span: OpenHop | undefined,
  ) {}

  at(pop: string): void {
    this.where = pop;
    this.call.hops?.object(pop);
  }

  end(value: unknown): unknown {
    this.span?.end(this.#hop(), this.#attrs());
    return value;
  }

  fail(err: unknown): never {
    const known = this.where !== '';
    this.span?.end(known ? this.#hop() : null, known ? this.#attrs() : undefined, (err as Error)?.message);
    throw err;
  }

  #hop(): Hop {
    const { trip, where, from } = this;
    return {
      name: 'do',
      ms: performance.now() - this.started + (trip.wait ? 0 : trip.ms),
      desc: `${this.call.binding} at ${where === from ? where : `${where} from ${from}`}`,
      simulated: !trip.wait && trip.ms > 0,
    };
  }

  #attrs(): Record<string, string> | undefined {
    return this.call.hops?.trace.recording ? { 'outpost.do.location': this.where } : undefined;
  }
}
