/**
 * The line between Durable Objects and the runtime that runs their code. This folder decides
 * where an object lives, makes its single instance, orders its events and keeps its storage; the
 * runtime (src/runtime/runtime.ts) implements ObjectHost: it loads an object's class into an
 * isolate and runs events there. Layers point one way: nothing here imports the runtime, which
 * hands its requests, responses and instances over as the shapes declared below.
 */
import type { HopRecorder, TraceScope } from '../observability/index.ts';
import type { OwnerEntry } from './cluster/index.ts';
import type { HibernationSet, RestoredSocket, SocketFlow } from './hibernation.ts';
import type { StagedStorage } from './staged.ts';

/** A streamed body (the runtime's ChunkSource). */
export interface BodySource {
  /** The next chunk, or null at the end. */
  next(): Promise<Uint8Array | null>;
  cancel(reason?: string): void;
}

/** An event's place in its request's chain (src/runtime/loops.ts: loop limits hold along it). */
export interface ObjectChain {
  hops: number;
  tree: { invocations: number };
  /** The span the object's invocation records under. */
  trace?: TraceScope;
}

/** A request to an object's fetch() (the runtime's WorkerRequest). */
export interface ObjectRequest {
  method: string;
  url: string;
  /** Flat [name, value, ...], names lower-case. */
  headers: string[];
  cf: Record<string, unknown>;
  body: BodySource | Uint8Array | null;
  chain?: ObjectChain;
}

/** What an object's fetch() answered, as far as this layer looks at it. */
export interface ObjectResponse {
  body: BodySource | Uint8Array | null;
}

/** A call through a stub, as the caller's binding hands it over. */
export interface ObjectCall {
  binding: string;
  id: string;
  name: string | null;
  hint: string | null;
  hops: HopRecorder | null;
  chain: ObjectChain;
}

/** What a call asks of an object. */
export type ObjectOp =
  | { kind: 'fetch'; request: ObjectRequest }
  | { kind: 'rpc'; method: string; args: unknown[] };

/** An event the runtime runs in an object's isolate. */
export type ObjectEvent =
  | { kind: 'fetch'; request: ObjectRequest }
  | { kind: 'rpc'; method: string; args: unknown[]; chain: ObjectChain }
  | { kind: 'ws'; type: 'message' | 'close' | 'error'; socket: number; a?: unknown; b?: unknown }
  | { kind: 'alarm'; retry: number };

/** A Durable Object class of a deployed worker: what its objects are made from. */
export interface ObjectClass {
  tenant: string;
  className: string;
  backend: 'kv' | 'sqlite';
  /** `<tenant>/<class>`: ids and storage belong to it. */
  namespace: string;
}

/** What the isolate holding one object is made with. */
export interface ObjectLoad {
  className: string;
  id: string;
  name: string | null;
  backend: 'kv' | 'sqlite';
  /** Hibernated WebSockets handed back on wake-up. */
  sockets?: RestoredSocket[];
}

/** An object's isolate, as this layer sees the runtime's instance. */
export interface ObjectInstance {
  readonly state: 'ready' | 'retiring' | 'dead';
  /** Events or background work are running in it. */
  readonly busy: boolean;
  /** Called once when the isolate is gone (disposed or killed by a limit). */
  onDeath: (() => void) | null;
  dispose(): void;
}

/** The runtime of a PoP, as Durable Objects use it. */
export interface ObjectHost {
  /** The class `className` of the worker deployed as `tenant`; throws an ObjectError naming `what`. */
  objectClass(tenant: string, className: string, what: string): ObjectClass;
  /** An isolate holding one object of `tenant`'s current version, its constructor run. */
  loadObject(
    tenant: string,
    load: ObjectLoad,
    storage: StagedStorage,
    sockets: HibernationSet,
  ): Promise<ObjectInstance>;
  /** Run one event in the object's isolate (under the runtime's limits) and give its outcome. */
  runObject(inst: ObjectInstance, event: ObjectEvent): Promise<unknown>;
  /** Back-pressure for a new set of hibernatable WebSockets. */
  socketFlow(): SocketFlow;
}

/** Where objects go and what reaching them costs (the network's latency model). */
export interface ObjectPlacement {
  /** The PoP a new object is placed in, for a first call from `from` with `hint`. */
  place(from: string, hint: string | null): string;
  /** The round trip from one PoP to another, ms, and whether it is really waited. */
  trip(from: string, to: string): { ms: number; wait: boolean };
}

/** A node of the network that may take an object (src/pop/node.ts finds them). */
export interface PeerNode {
  node: string;
  pop: string;
  url: string;
}

/** A call sent to the node that owns the object (src/network/object-peer.ts carries it). */
export interface PeerObjectCall {
  /** The caller's PoP (automatic moves count it). */
  from?: string;
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

export function keyOf(namespace: string, id: string): string {
  return `${namespace}\u0000${id}`;
}
