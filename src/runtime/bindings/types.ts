/**
 * What one binding type is on the host: what the isolate needs to build `env[name]`, and the
 * host side of its calls. One module per type in this folder, registered in ./index.ts.
 */

import type { AnalyticsEngine } from '../../analytics/index.ts';
import type { AssetServer } from '../../assets/index.ts';
import type { BindingOf } from '../../config/index.ts';
import type { D1Databases } from '../../d1/index.ts';
import type { KvPop } from '../../kv/index.ts';
import type { R2Buckets } from '../../r2/index.ts';
import type { RateLimiter } from '../../security/ratelimit/index.ts';
import type { ObjectLinks } from '../bridge/durable.ts';
import type { ServiceLinks } from '../bridge/service.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { WorkerVersion } from '../types.ts';
import type {
  BindingKind,
  DescriptorOf,
  OpsOf,
  WorkflowStatusData,
  WorkflowStepCall,
  WorkflowStepReply,
} from './protocol.ts';

type Awaitable<T> = T | Promise<T>;

/** The host side of one binding's operations: untrusted arguments in, typed results out. */
export type HostOps<T extends BindingKind> = {
  [K in keyof OpsOf<T>]: OpsOf<T>[K] extends (...args: never[]) => infer R
    ? (o: IsolateOwner, ctx: unknown, args: unknown[]) => Awaitable<R>
    : never;
};

/** What a runtime offers the bindings of the version it wires (lazily: most use few). */
export interface WireContext {
  version: WorkerVersion;
  /** The PoP's KV view (null: no KV store). */
  kv: KvPop | null;
  services(): ServiceLinks;
  objects(): ObjectLinks;
  /** The D1 databases of the runtime's data folder. */
  d1(): D1Databases;
  /** The R2 buckets of the runtime's data folder. */
  r2(): R2Buckets;
  /** The version's static assets (null: none configured). */
  assets(): AssetServer | null;
  /** The Analytics Engine datasets of the runtime's data folder. */
  analytics(): AnalyticsEngine;
  /** The counters of Rate Limiting bindings (the runtime's: one per PoP unless shared). */
  rateLimiter(): RateLimiter;
  /** Where Queues producers send (null: no queue store; a send then fails naming the binding). */
  queues(): QueueSink | null;
  /** The Workflows engine (null: none; a call then fails naming the binding). */
  workflows(): WorkflowHost | null;
}

type InstanceRef = { account: string; workflow: string; id: string };

/**
 * What the Workflow binding needs of the engine (src/background/workflows/engine.ts), or of the
 * process that leads Workflows when the network runs on NATS (…/workflows/network.ts).
 */
export interface WorkflowHost {
  create(account: string, workflow: string, id: string | undefined, params: unknown): Awaitable<string>;
  get(ref: InstanceRef): Awaitable<void>;
  status(ref: InstanceRef): Awaitable<WorkflowStatusData>;
  pause(ref: InstanceRef): Awaitable<void>;
  resume(ref: InstanceRef): Awaitable<void>;
  terminate(ref: InstanceRef): Awaitable<void>;
  restart(ref: InstanceRef): Awaitable<void>;
  sendEvent(ref: InstanceRef, type: string, payload: unknown): Awaitable<void>;
  step(token: string, call: WorkflowStepCall): Awaitable<WorkflowStepReply>;
  /** Whether `token` is a live run of an instance of this account's Workflow `workflow`. */
  owns(token: string, account: string, workflow: string): boolean;
}

/** What the Queues binding needs of a queue store (src/background/queues/). */
export interface QueueSink {
  send(
    queue: string,
    messages: { body: Uint8Array; contentType: string; delaySeconds?: number }[],
  ): Promise<void>;
}

export interface HostBinding<T extends BindingKind> {
  /** What the prelude gets for a binding of this type (plain data). */
  describe(b: BindingOf<T>): DescriptorOf<T>;
  /** Its calls' host side for one instance of `wire.version`; null: it makes none. */
  connect(b: BindingOf<T>, wire: WireContext): HostOps<T> | null;
}

/** A connected binding of an instance, as the `binding` syscall finds it by name. */
export interface ConnectedBinding {
  type: BindingKind;
  ops: Record<string, (o: IsolateOwner, ctx: unknown, args: unknown[]) => unknown>;
}
