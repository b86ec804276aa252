/**
 * Durable Objects across a network (one per process, shared by every PoP's runtime): exactly
 * one live instance per object id, in the PoP where the object was placed (nearest its first
 * request, or its locationHint) — calls from other PoPs are routed there and pay the modelled
 * trip between the PoPs. Each live object is an isolate of its own with its SQLite database;
 * it is evicted after `idleMs` without events (and no open WebSockets or waitUntil work), and
 * made again from storage on the next call. Alarms are kept in the directory and fire at their
 * time, with retries and back-off when alarm() throws.
 */

import { bindingsOf } from '../config/index.ts';
import {
  type AlarmEntry,
  idFromName,
  invalidId,
  newUniqueId,
  type ObjectCluster,
  type ObjectDirectory,
  ObjectElsewhere,
  type ObjectStorage,
  type OwnerEntry,
  type PlacedObject,
  ReplicatedStorage,
  StagedStorage,
} from '../durable-objects/index.ts';
import { type Hop, type Observer, SpanKind } from '../observability/index.ts';
import { sameAccountTarget } from './accounts.ts';
import type { ObjectCall, ObjectLinks } from './bridge/durable.ts';
import { NamedError } from './bridge/named-error.ts';
import { HibernationSet } from './hibernation.ts';
import type { WorkerInstance } from './instance.ts';
import type { Runtime } from './runtime.ts';
import type { WorkerRequest, WorkerResponse, WorkerVersion } from './types.ts';

/** Where objects go and what reaching them costs (the network's latency model). */
export interface ObjectPlacement {
  /** The PoP a new object is placed in, for a first call from `from` with `hint`. */
  place(from: string, hint: string | null): string;
  /** The round trip from one PoP to another, ms, and whether it is really waited. */
  trip(from: string, to: string): { ms: number; wait: boolean };
}

/** A Durable Object class of a deployed worker: what its objects are made from. */
interface ObjectClass {
  tenant: string;
  className: string;
  backend: 'kv' | 'sqlite';
  /** `<tenant>/<class>`: ids and storage belong to it. */
  namespace: string;
}

interface Live {
  key: string;
  namespace: string;
  id: string;
  pop: string;
  instance: WorkerInstance;
  storage: StagedStorage;
  /** In a network of nodes: the replicated storage under `storage` (its output gate). */
  replicated: ReplicatedStorage | null;
  lastUsed: number;
}

/** What a call asks of an object. */
export type ObjectOp =
  | { kind: 'fetch'; request: WorkerRequest }
  | { kind: 'rpc'; method: string; args: unknown[] };

/** A call sent to the node that owns the object (src/network/object-peer.ts carries it). */
export interface PeerObjectCall {
  tenant: string;
  className: string;
  id: string;
  name: string | null;
  hint: string | null;
  /** The caller's chain: invocations left and made (loop limits hold across nodes). */
  hops: number;
  invocations: number;
  op:
    | {
        kind: 'fetch';
        method: string;
        url: string;
        headers: string[];
        cf: Record<string, unknown>;
        body: Uint8Array | null;
      }
    | { kind: 'rpc'; method: string; args: unknown[] }
    /** Take the object here (the last step of a move). */
    | { kind: 'take' }
    /** Hand the object to `to` (`outpost do move`, sent to its owner). */
    | { kind: 'move'; to: PeerNode };
}

/** Sends calls to other nodes; throws ObjectElsewhere (not the owner) or OwnerUnreachable. */
export interface ObjectPeers {
  /** `signal` aborts a call whose owner stopped holding the object while it waited. */
  call(owner: OwnerEntry, call: PeerObjectCall, signal?: AbortSignal): Promise<unknown>;
}

/** The owner's node did not take the call (refused connection): nothing ran there. */
export class OwnerUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OwnerUnreachable';
  }
}

export interface DurableObjectsOptions {
  directory: ObjectDirectory;
  observer: Observer;
  /** The runtime of a PoP (made on demand in a network). */
  runtimeFor: (pop: string) => Runtime;
  placement?: ObjectPlacement;
  /** Evict an object after this long without events, ms (default 30 s). */
  idleMs?: number;
  /**
   * A network of nodes (`outpost node`): one owner per object across them, storage replicated
   * through JetStream (src/durable-objects/cluster/), calls to objects owned elsewhere sent by
   * `peers`. Absent: objects live in this process only.
   */
  cluster?: {
    objects: ObjectCluster;
    peers: ObjectPeers;
    /**
     * Where an object nobody holds should live: its PoP before (it stays put across a failover)
     * or, new, the PoP nearest its locationHint; and a live node serving that PoP, if any.
     */
    placeAt?: (pop: string | null, hint: string | null, tenant: string) => PeerNode | null;
  };
}

/** A node of the network that may take an object (src/pop/node.ts finds them). */
export interface PeerNode {
  node: string;
  pop: string;
  url: string;
}

/** How many checked ids a process keeps before it starts over (see #checkId). */
const CHECKED_IDS_MAX = 10_000;
/** Alarm retries: 6, waiting 2 s, 4 s, 8 s … between them (as Cloudflare). */
const ALARM_RETRIES = 6;
/**
 * Runs of one object's alarm start at least this long after the previous run ended, and at least
 * as long as that run took: an alarm() that re-arms itself at once ran back to back and kept a
 * core busy. Alarms fire "at or after" their time, so this is within what Workers promises.
 */
export const ALARM_MIN_GAP_MS = 100;

interface AlarmRun {
  running: boolean;
  end: number;
  ms: number;
  /** Set while running: the alarm set meanwhile, scheduled once the run ends. */
  pending?: { at: number; retry: number };
}

export class DurableObjects {
  readonly directory: ObjectDirectory;
  readonly #live = new Map<string, Live>();
  readonly #loading = new Map<string, Promise<Live>>();
  readonly #alarms = new Map<string, NodeJS.Timeout>();
  readonly #alarmRuns = new Map<string, AlarmRun>();
  readonly #placed = new Map<string, PlacedObject>();
  /** Ids already checked (namespace and id): the check is a SHA-256 per call on a hot object. */
  #checkedIds = new Set<string>();

  /** Throws the reason `id` is not an id of `namespace` (the stub's id comes from the isolate). */
  #checkId(namespace: string, id: string): void {
    const key = `${namespace}\0${id}`;
    if (this.#checkedIds.has(key)) return;
    const why = invalidId(namespace, id);
    if (why) throw new NamedError(why, 'TypeError');
    if (this.#checkedIds.size >= CHECKED_IDS_MAX) this.#checkedIds = new Set();
    this.#checkedIds.add(key);
  }
  readonly #hibernation = new Map<string, HibernationSet>();
  readonly #sweep: NodeJS.Timeout;
  readonly idleMs: number;
  #closed = false;

  constructor(readonly options: DurableObjectsOptions) {
    this.directory = options.directory;
    this.idleMs = options.idleMs ?? 30_000;
    this.#sweep = setInterval(() => this.#evictIdle(), Math.min(1000, this.idleMs));
    this.#sweep.unref();
    const c = options.cluster?.objects;
    if (c) {
      c.onLost = (ns, id, why) => this.#lost(ns, id, why);
      c.onOrphanAlarm = (a: AlarmEntry) => {
        this.#alarmNames.set(keyOf(a.ns, a.id), a.name);
        this.#schedule(a.ns, a.id, a.at);
      };
    }
  }

  /** Names of objects whose alarms this node fires without having made them (in a network). */
  readonly #alarmNames = new Map<string, string | null>();

  /** Schedule the alarms the directory holds (after a restart); call once workers are deployed. */
  startAlarms(): void {
    for (const a of this.directory.alarms()) this.#schedule(a.namespace, a.id, a.at);
  }

  /** What a worker's Durable Object bindings do, called from `pop`. */
  links(pop: string, runtime: Runtime, version: WorkerVersion): ObjectLinks {
    const target = (binding: string) => {
      const b = bindingsOf(version.bindings, 'do').find((d) => d.binding === binding);
      if (!b)
        throw new NamedError(`"${binding}" is not a Durable Object binding of this worker`, 'TypeError');
      const what = `Durable Object binding "${binding}"`;
      // A class of another worker: only one of this worker's account (src/runtime/accounts.ts).
      if (b.scriptName !== undefined)
        sameAccountTarget(version, runtime.current(b.scriptName), what, b.scriptName);
      return objectClass(runtime, b.scriptName ?? version.tenant, b.className, what);
    };
    return {
      id: (binding, kind, arg) => {
        const { namespace } = target(binding);
        if (kind === 'name') return idFromName(namespace, String(arg));
        if (kind === 'unique') return newUniqueId(namespace);
        const why = invalidId(namespace, arg);
        if (why) throw new NamedError(why, 'TypeError');
        return arg as string;
      },
      fetch: (call, request) =>
        this.#call(pop, target(call.binding), call, { kind: 'fetch', request }) as Promise<WorkerResponse>,
      rpc: (call, method, args) => this.#call(pop, target(call.binding), call, { kind: 'rpc', method, args }),
    };
  }

  /** A call another node sent because this node owns the object (or should take it). */
  peerCall(pop: string, c: PeerObjectCall): Promise<unknown> {
    const t = objectClass(this.options.runtimeFor(pop), c.tenant, c.className, 'a call from another node');
    const chain = { hops: c.hops, tree: { invocations: c.invocations } };
    const call: ObjectCall = {
      binding: c.className,
      id: c.id,
      name: c.name,
      hint: c.hint,
      hops: null,
      chain,
    };
    if (c.op.kind === 'move') return this.#moveOut(t, c.id, c.name, c.op.to);
    if (c.op.kind === 'take') return this.#take(pop, t, call);
    const op: ObjectOp =
      c.op.kind === 'rpc'
        ? c.op
        : {
            kind: 'fetch',
            request: {
              method: c.op.method,
              url: c.op.url,
              headers: c.op.headers,
              cf: c.op.cf,
              body: c.op.body,
              chain,
            },
          };
    return this.#call(pop, t, call, op, false);
  }

  async #call(
    from: string,
    t: ObjectClass,
    call: ObjectCall,
    op: ObjectOp,
    forward = true,
  ): Promise<unknown> {
    this.#checkId(t.namespace, call.id);
    const started = performance.now();
    // The call's span: the object's invocation records under it (its chain carries it).
    const at = call.hops?.begin('durable_object_subrequest', SpanKind.CLIENT, {
      'cloudflare.binding.type': 'DurableObject',
      'cloudflare.binding.name': call.binding,
      'cloudflare.durable_object.id': call.id,
    });
    if (at?.recorder.trace.recording) call.chain.trace = at.recorder.trace;
    let where = '';
    let trip = { ms: 0, wait: false };
    const run = (inst: WorkerInstance): Promise<unknown> =>
      op.kind === 'fetch' ? inst.handle(op.request) : inst.rpc('rpc', op.method, op.args, call.chain);
    if (this.options.cluster)
      try {
        const out = await this.#clustered(from, t, call, op, run, forward, (w) => {
          where = w;
          call.hops?.object(w);
        });
        at?.end(this.#hop(call, from, where, started, trip), { 'outpost.do.location': where });
        return out;
      } catch (err) {
        at?.end(
          where ? this.#hop(call, from, where, started, trip) : null,
          where ? { 'outpost.do.location': where } : undefined,
          (err as Error).message,
        );
        throw err;
      }
    try {
      const placement = this.options.placement;
      const key = keyOf(t.namespace, call.id);
      // Where it lives: in memory once known (the directory is read or written on first use only).
      let placed = this.#placed.get(key);
      if (!placed || (call.name !== null && placed.name === null)) {
        placed = this.directory.place(
          t.namespace,
          call.id,
          call.name,
          placement?.place(from, call.hint) ?? from,
        );
        this.#placed.set(key, placed);
      }
      where = placed.pop;
      call.hops?.object(placed.pop);
      if (placement && placed.pop !== from) trip = placement.trip(from, placed.pop);
      if (trip.wait && trip.ms > 0) await new Promise((r) => setTimeout(r, trip.ms));
      const live = await this.#get(t, call.id, call.name, placed.pop);
      live.lastUsed = Date.now();
      try {
        const out = await this.options.runtimeFor(live.pop).runObject(live.instance, run);
        at?.end(this.#hop(call, from, where, started, trip), { 'outpost.do.location': where });
        return out;
      } finally {
        live.lastUsed = Date.now();
      }
    } catch (err) {
      at?.end(
        where ? this.#hop(call, from, where, started, trip) : null,
        where ? { 'outpost.do.location': where } : undefined,
        (err as Error).message,
      );
      throw err;
    }
  }

  /**
   * A call in a network of nodes: run here when this node owns the object or nobody does (it
   * takes it: src/durable-objects/cluster/), else sent to the owner. Calls are held, not failed,
   * while an owner that stopped answering still holds its lease (up to twice the lease), and
   * while the object changes hands. A call whose connection broke after it was sent is not sent
   * again (it may have run): the caller gets "Network connection lost", as on Cloudflare.
   */
  async #clustered(
    from: string,
    t: ObjectClass,
    call: ObjectCall,
    op: ObjectOp,
    run: (inst: WorkerInstance) => Promise<unknown>,
    forward: boolean,
    at: (where: string) => void,
  ): Promise<unknown> {
    const { objects: c, peers } = this.options.cluster as { objects: ObjectCluster; peers: ObjectPeers };
    const key = keyOf(t.namespace, call.id);
    const deadline = Date.now() + 2 * c.leaseMs + 5000;
    let fresh = false;
    let placedFailed = false;
    const retry = async (why: Error, ms: number) => {
      if (Date.now() > deadline)
        throw new NamedError(`Durable Object unavailable: ${why.message}; try again later`, 'Error');
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
      const live = this.#live.get(key);
      if (!live?.replicated || !c.holding(t.namespace, call.id)) {
        let owner = await c.owner(t.namespace, call.id, fresh);
        const place = this.options.cluster?.placeAt;
        if (forward && place && !placedFailed && !(owner && c.holds(owner))) {
          // Nobody holds it: it goes where it lived before, or (new) near its locationHint, when
          // a node serves that PoP; the call is sent there and that node takes it.
          const at = place(owner?.pop ?? null, owner ? null : call.hint, t.tenant);
          if (at && at.node !== c.node)
            owner = {
              ...at,
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
            return await this.#watched(c, t.namespace, call.id, owner, (signal) =>
              peerCallOf(t, call, op).then((p) => peers.call(owner, p, signal)),
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
        l = await this.#get(t, call.id, call.name, from);
      } catch (err) {
        if (!(err instanceof ObjectElsewhere)) throw err;
        await retry(err, 10);
        continue;
      }
      if (this.#moving.has(key)) {
        if (!forward) throw new ObjectElsewhere(null);
        continue; // a move began while it was made: wait for it
      }
      l.lastUsed = Date.now();
      this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
      try {
        let out: unknown;
        try {
          out = await this.options.runtimeFor(l.pop).runObject(l.instance, run);
        } catch (err) {
          // An exception is an answer too: it leaves once the writes before it are confirmed.
          await this.#gate(l);
          throw err;
        }
        await this.#gate(l);
        if (op.kind === 'fetch') return gatedResponse(out as WorkerResponse, () => this.#gate(l));
        return out;
      } finally {
        l.lastUsed = Date.now();
        const n = (this.#running.get(key) ?? 1) - 1;
        if (n > 0) this.#running.set(key, n);
        else this.#running.delete(key);
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
    c: ObjectCluster,
    ns: string,
    id: string,
    owner: OwnerEntry,
    send: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
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
          new NamedError(
            `Network connection lost (the Durable Object's node ${owner.node} stopped answering for it)`,
            'Error',
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

  /** The output gate across nodes: what the object wrote is replicated and its lease holds. */
  async #gate(l: Live): Promise<void> {
    if (!l.replicated) return;
    try {
      await l.replicated.gate();
    } catch (err) {
      throw new NamedError(
        `Durable Object storage could not be confirmed, so its answer was withheld: ${(err as Error).message}`,
        'Error',
      );
    }
  }

  /** The `do` Server-Timing entry of a call: where the object lives, and the trip there. */
  #hop(
    call: ObjectCall,
    from: string,
    pop: string,
    started: number,
    trip: { ms: number; wait: boolean },
  ): Hop {
    return {
      name: 'do',
      ms: performance.now() - started + (trip.wait ? 0 : trip.ms),
      desc: `${call.binding} at ${pop === from ? pop : `${pop} from ${from}`}`,
      simulated: !trip.wait && trip.ms > 0,
    };
  }

  /** The live object, made (constructor run, storage opened) when it is not in memory. */
  #get(t: ObjectClass, id: string, name: string | null, pop: string): Promise<Live> {
    const key = keyOf(t.namespace, id);
    const live = this.#live.get(key);
    if (live && live.instance.state === 'ready') return Promise.resolve(live);
    let loading = this.#loading.get(key);
    if (loading) return loading;
    loading = (async () => {
      if (this.#closed) throw new NamedError('Durable Objects are shutting down', 'Error');
      const c = this.options.cluster?.objects;
      const store: ObjectStorage = c
        ? await c.open(
            t.namespace,
            id,
            name,
            this.directory.folder(t.namespace),
            this.directory.objectMaxBytes,
          )
        : this.directory.open(t.namespace, id);
      const replicated = store instanceof ReplicatedStorage ? store : null;
      const storage = new StagedStorage(store, t.backend, (at) => this.#alarmChanged(t.namespace, id, at));
      if (replicated) {
        // Taken from another node: the alarm its journal holds is armed here now.
        const at = replicated.getAlarm();
        if (at !== null) this.#alarmChanged(t.namespace, id, at);
      }
      try {
        const runtime = this.options.runtimeFor(pop);
        const sockets = this.#sockets(t, id, name, pop);
        const instance = await runtime.loadObject(
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
        this.#live.set(key, l);
        return l;
      } catch (err) {
        storage.close();
        if (replicated) void c?.release(t.namespace, id);
        throw err;
      }
    })().finally(() => this.#loading.delete(key));
    this.#loading.set(key, loading);
    return loading;
  }

  /**
   * The object's hibernatable WebSockets: they outlive its isolate, and their events wake it
   * (made again where it lives) and reach its handlers one after another.
   */
  #sockets(t: ObjectClass, id: string, name: string | null, pop: string): HibernationSet {
    const key = keyOf(t.namespace, id);
    const set = this.#hibernation.get(key);
    if (set) return set;
    const made: HibernationSet = new HibernationSet(
      async (socket, type, a, b) => {
        // The object went to another node: the closes of the sockets it had here wake nothing.
        if (this.#dead.has(made)) return;
        const live = await this.#get(t, id, name, pop);
        live.lastUsed = Date.now();
        try {
          await this.options
            .runtimeFor(pop)
            .runObject(live.instance, (inst) => inst.rpc('ws', type, [socket, a, b]));
        } finally {
          live.lastUsed = Date.now();
        }
      },
      (err) =>
        this.options.observer.log({
          level: 'error',
          source: 'outpost',
          message: `Durable Object ${t.namespace} ${id}: WebSocket handler failed: ${err.message}`,
        }),
    );
    this.#hibernation.set(key, made);
    return made;
  }

  /** Forget a live object (its isolate is gone or going) and close its storage. */
  #drop(l: Live, to?: PeerNode): Promise<void> {
    if (this.#live.get(l.key) === l) this.#live.delete(l.key);
    try {
      l.storage.close();
    } catch (err) {
      this.options.observer.log({
        level: 'error',
        source: 'outpost',
        message: `Durable Object ${l.namespace} ${l.id}: closing storage failed: ${(err as Error).message}`,
      });
    }
    // Its lease goes back once what it wrote is replicated (another node may take it then).
    if (l.replicated)
      return this.options.cluster?.objects.release(l.namespace, l.id, to) ?? Promise.resolve();
    return Promise.resolve();
  }

  /** WebSocket sets of objects that went to another node (their events are dropped). */
  readonly #dead = new WeakSet<HibernationSet>();

  /** Calls for objects being moved away from this node wait for the move (then go where it went). */
  readonly #moving = new Map<string, Promise<void>>();
  /** Calls running on each object here now. */
  readonly #running = new Map<string, number>();

  /**
   * `outpost do move`: hand an object this node owns to the node `to`. New calls wait; the calls
   * running finish; the object's writes are replicated and its lease released with `to`'s PoP as
   * its place; `to` takes it. Calls that waited then go to it. Hibernated WebSockets are closed
   * (their clients reconnect, to the new owner).
   */
  async #moveOut(t: ObjectClass, id: string, name: string | null, to: PeerNode): Promise<unknown> {
    const c = this.options.cluster;
    if (!c) throw new NamedError('moving objects needs a network of nodes', 'Error');
    const key = keyOf(t.namespace, id);
    if (!c.objects.holding(t.namespace, id))
      throw new ObjectElsewhere(await c.objects.owner(t.namespace, id, true));
    if (to.node === c.objects.node) return { from: c.objects.pop, to: to.pop, moved: false, ms: 0 };
    if (this.#moving.has(key)) throw new NamedError('the object is being moved already', 'Error');
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
      while (
        (this.#running.get(key) ?? 0) > 0 ||
        this.#loading.has(key) ||
        this.#alarmRuns.get(key)?.running
      ) {
        if (Date.now() - started > 30_000)
          throw new NamedError('the object stayed busy for 30 s: not moved', 'Error');
        await new Promise((r) => setTimeout(r, 5));
      }
      clearTimeout(this.#alarms.get(key));
      this.#alarms.delete(key);
      const set = this.#hibernation.get(key);
      if (set) {
        this.#dead.add(set);
        set.closeAll('the Durable Object moved to another node');
        this.#hibernation.delete(key);
      }
      const l = this.#live.get(key);
      if (l) {
        const released = this.#drop(l, to);
        l.instance.dispose();
        await released;
      } else await c.objects.release(t.namespace, id, to);
      // The new owner takes it now (if it cannot, the next call takes it, near `to`'s PoP).
      await c.peers.call(
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
      return { from: c.objects.pop, to: to.pop, moved: true, ms: Date.now() - started };
    } finally {
      this.#moving.delete(key);
      done();
    }
  }

  /** Take the object on this node (made and running here) unless another node holds it. */
  async #take(pop: string, t: ObjectClass, call: ObjectCall): Promise<unknown> {
    const c = this.options.cluster?.objects;
    if (!c) throw new NamedError('taking objects needs a network of nodes', 'Error');
    const owner = await c.owner(t.namespace, call.id, true);
    if (owner && owner.node !== c.node && c.holds(owner)) throw new ObjectElsewhere(owner);
    const l = await this.#get(t, call.id, call.name, pop);
    l.lastUsed = Date.now();
    return { taken: true, at: c.pop };
  }

  /** This node lost the object (another took it, or replication failed): the instance goes. */
  #lost(namespace: string, id: string, why: Error): void {
    const key = keyOf(namespace, id);
    const l = this.#live.get(key);
    if (l) {
      this.#drop(l);
      l.instance.dispose();
    }
    const set = this.#hibernation.get(key);
    if (set) {
      this.#dead.add(set);
      set.closeAll(`the Durable Object moved to another node (${why.message})`);
      this.#hibernation.delete(key);
    }
    clearTimeout(this.#alarms.get(key));
    this.#alarms.delete(key);
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

  /** The admin view: every object the directory knows, whether it is in memory, and where. */
  /** Objects in memory now. */
  get liveCount(): number {
    return this.#live.size;
  }

  status(): unknown {
    const live = new Set(this.#live.keys());
    return {
      idleMs: this.idleMs,
      objects: this.directory.list().map((o) => ({
        namespace: o.namespace,
        id: o.id,
        name: o.name,
        location: o.pop,
        createdAt: new Date(o.createdAt).toISOString(),
        live: live.has(keyOf(o.namespace, o.id)),
      })),
    };
  }

  // ---- alarms ------------------------------------------------------------------------------

  #alarmChanged(namespace: string, id: string, at: number | null): void {
    this.directory.setAlarm(namespace, id, at);
    if (at === null) {
      const key = keyOf(namespace, id);
      clearTimeout(this.#alarms.get(key));
      this.#alarms.delete(key);
      const run = this.#alarmRuns.get(key);
      if (run) run.pending = undefined;
    } else this.#schedule(namespace, id, at);
  }

  #schedule(namespace: string, id: string, at: number, retry = 0): void {
    const key = keyOf(namespace, id);
    clearTimeout(this.#alarms.get(key));
    this.#alarms.delete(key);
    const run = this.#alarmRuns.get(key);
    if (run?.running) {
      run.pending = { at, retry };
      return;
    }
    const now = Date.now();
    const earliest = run ? run.end + Math.max(ALARM_MIN_GAP_MS, run.ms) : 0;
    if (run && earliest <= now) this.#alarmRuns.delete(key);
    const due = Math.max(at, earliest);
    // setTimeout holds at most ~24.8 days: a later alarm re-arms on the way.
    const wait = Math.min(Math.max(0, due - now), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.#alarms.delete(key);
      if (due - Date.now() > 5) return this.#schedule(namespace, id, at, retry);
      void this.#fire(namespace, id, retry);
    }, wait);
    timer.unref();
    this.#alarms.set(key, timer);
  }

  async #fire(namespace: string, id: string, retry: number): Promise<void> {
    if (this.#closed) return;
    const key = keyOf(namespace, id);
    const run: AlarmRun = { running: true, end: 0, ms: 0 };
    this.#alarmRuns.set(key, run);
    const start = Date.now();
    try {
      await this.#runAlarm(namespace, id, retry);
    } finally {
      run.running = false;
      run.end = Date.now();
      run.ms = run.end - start;
      const next = run.pending;
      run.pending = undefined;
      if (next && !this.#closed) this.#schedule(namespace, id, next.at, next.retry);
    }
  }

  async #runAlarm(namespace: string, id: string, retry: number): Promise<void> {
    const slash = namespace.indexOf('/');
    const c = this.options.cluster?.objects;
    let placed = this.directory.get(namespace, id);
    if (c) {
      // In a network the owner fires an object's alarm; a node takes an object for its alarm
      // only when nobody holds it (src/durable-objects/cluster/cluster.ts).
      const owner = await c.owner(namespace, id, true).catch(() => null);
      if (owner && owner.node !== c.node && c.holds(owner)) return;
      const key = keyOf(namespace, id);
      const name = placed?.name ?? owner?.name ?? this.#alarmNames.get(key) ?? null;
      placed = { namespace, id, name, pop: c.pop, createdAt: placed?.createdAt ?? Date.now() };
    }
    if (!placed) return;
    try {
      const t = objectClass(
        this.options.runtimeFor(placed.pop),
        namespace.slice(0, slash),
        namespace.slice(slash + 1),
        `the alarm of ${namespace} ${id}`,
      );
      let live: Live;
      try {
        live = await this.#get(t, id, placed.name, placed.pop);
      } catch (err) {
        if (err instanceof ObjectElsewhere) return; // another node took it: its alarm is theirs
        throw err;
      }
      live.lastUsed = Date.now();
      if (c) {
        // Taken for its alarm: its storage says whether the alarm is still set, and when.
        const at = live.storage.getAlarm();
        if (at === null) return;
        if (at > Date.now() + 5) return this.#schedule(namespace, id, at);
      }
      const sets = live.storage.alarmSets;
      await this.options
        .runtimeFor(placed.pop)
        .runObject(live.instance, (inst) =>
          inst.rpc('alarm', 'alarm', [{ retryCount: retry, isRetry: retry > 0 }]),
        );
      live.lastUsed = Date.now();
      // Done, unless the alarm was set again meanwhile (by alarm() itself or another event),
      // for any time: `setAlarm(Date.now())` in alarm() runs it again.
      if (live.storage.alarmSets === sets) live.storage.setAlarm(null);
    } catch (err) {
      const next = retry + 1;
      this.options.observer.log({
        level: 'error',
        source: 'outpost',
        message: `Durable Object ${namespace} ${id}: alarm() failed (attempt ${next}): ${(err as Error).message}${next <= ALARM_RETRIES ? '' : '; giving up'}`,
      });
      if (next <= ALARM_RETRIES) this.#schedule(namespace, id, Date.now() + 1000 * 2 ** next, next);
      else {
        // Given up: the alarm is deleted where it is stored too (across nodes, others would offer it again).
        const live = this.#live.get(keyOf(namespace, id));
        if (live) live.storage.setAlarm(null);
        else this.#alarmChanged(namespace, id, null);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const t of this.#alarms.values()) clearTimeout(t);
    this.#alarms.clear();
    await Promise.allSettled([...this.#loading.values()]);
    for (const set of this.#hibernation.values()) set.closeAll('shutting down');
    for (const l of [...this.#live.values()]) {
      this.#drop(l);
      l.instance.dispose();
    }
    this.directory.close();
  }
}

function keyOf(namespace: string, id: string): string {
  return `${namespace}\u0000${id}`;
}

/** The class `className` of the worker deployed as `tenant`, or an error naming `what` asked. */
function objectClass(runtime: Runtime, tenant: string, className: string, what: string): ObjectClass {
  const tv = runtime.current(tenant);
  if (!tv) throw new NamedError(`${what} points to the worker "${tenant}", which is not running`, 'Error');
  const cls = tv.durableObjectClasses.find((c) => c.className === className);
  if (!cls)
    throw new NamedError(
      `${what}: no migration of worker "${tenant}" creates the class "${className}"`,
      'Error',
    );
  return { tenant, className, backend: cls.storage, namespace: `${tenant}/${className}` };
}

/** What is sent to the owning node: the request's body read whole (streamed bodies: a known gap). */
async function peerCallOf(t: ObjectClass, call: ObjectCall, op: ObjectOp): Promise<PeerObjectCall> {
  const base = {
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

/** A response whose body chunks each wait for the output gate (writes made while streaming). */
function gatedResponse(res: WorkerResponse, gate: () => Promise<void>): WorkerResponse {
  const body = res.body;
  if (!body || body instanceof Uint8Array) return res;
  return {
    ...res,
    body: {
      async next() {
        const chunk = await body.next();
        await gate();
        return chunk;
      },
      cancel: (reason) => body.cancel(reason),
    },
  };
}
