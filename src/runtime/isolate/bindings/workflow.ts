/**
 * Workflow bindings (https://developers.cloudflare.com/workflows/build/workers-api/), in the
 * isolate: `create`, `createBatch` and `get` on the binding, and the WorkflowInstance handle
 * (`id`, `status`, `pause`, `resume`, `terminate`, `restart`, `sendEvent`). Every call goes to
 * the network's engine on the host (../../bindings/workflow.ts), which checks it again.
 */
import { callBinding } from '../bridge.ts';

const MAX_BATCH = 100;

function options(o: unknown, what: string): { id?: string; params?: unknown } {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object' || Array.isArray(o))
    throw new TypeError(`${what}: options must be an object { id?, params? }`);
  const { id, params } = o as { id?: unknown; params?: unknown };
  if (id !== undefined && typeof id !== 'string') throw new TypeError(`${what}: options.id must be a string`);
  return { ...(id !== undefined ? { id } : {}), ...(params !== undefined ? { params } : {}) };
}

export class WorkflowInstance {
  readonly id: string;
  readonly #binding: string;

  constructor(binding: string, id: string) {
    this.#binding = binding;
    this.id = id;
  }

  async status(): Promise<{ status: string; error?: { name: string; message: string }; output?: unknown }> {
    return callBinding('workflow', this.#binding, 'status', this.id);
  }

  async pause(): Promise<void> {
    await callBinding('workflow', this.#binding, 'control', this.id, 'pause');
  }

  async resume(): Promise<void> {
    await callBinding('workflow', this.#binding, 'control', this.id, 'resume');
  }

  async terminate(o?: { rollback?: unknown }): Promise<void> {
    if (o?.rollback)
      throw new Error('terminate({ rollback: true }): rollback handlers are not supported by Outpost yet');
    await callBinding('workflow', this.#binding, 'control', this.id, 'terminate');
  }

  async restart(o?: { from?: unknown }): Promise<void> {
    if (o?.from !== undefined)
      throw new Error(
        'restart({ from }): restarting from a step is not supported by Outpost yet; restart() runs from the beginning',
      );
    await callBinding('workflow', this.#binding, 'control', this.id, 'restart');
  }

  async sendEvent(event: unknown): Promise<void> {
    const { type, payload } = (event ?? {}) as { type?: unknown; payload?: unknown };
    if (typeof type !== 'string') throw new TypeError('sendEvent: event.type must be a string');
    await callBinding('workflow', this.#binding, 'sendEvent', this.id, type, payload);
  }

  get [Symbol.toStringTag](): string {
    return 'WorkflowInstance';
  }
}

export class Workflow {
  readonly #binding: string;

  constructor(binding: string) {
    this.#binding = binding;
  }

  async create(o?: unknown): Promise<WorkflowInstance> {
    const { ids } = await callBinding('workflow', this.#binding, 'create', [options(o, 'Workflow.create')]);
    return new WorkflowInstance(this.#binding, ids[0] as string);
  }

  /**
   * `createBatch([...options])` (the instances created; those that failed, e.g. an id taken, are
   * left out) or `createBatch({ instances })` / `createBatch({ count, params })` (`{ created, errors }`).
   */
  async createBatch(batch: unknown): Promise<unknown> {
    const arrayForm = Array.isArray(batch);
    let list: { id?: string; params?: unknown }[];
    if (arrayForm) list = (batch as unknown[]).map((o) => options(o, 'Workflow.createBatch'));
    else if (
      batch &&
      typeof batch === 'object' &&
      Array.isArray((batch as { instances?: unknown }).instances)
    )
      list = (batch as { instances: unknown[] }).instances.map((o) => options(o, 'Workflow.createBatch'));
    else if (batch && typeof batch === 'object' && typeof (batch as { count?: unknown }).count === 'number') {
      const { count, params } = batch as { count: number; params?: unknown };
      if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH)
        throw new TypeError(`Workflow.createBatch: count must be a whole number from 1 to ${MAX_BATCH}`);
      list = Array.from({ length: count }, () => (params === undefined ? {} : { params }));
    } else
      throw new TypeError(
        'Workflow.createBatch: pass an array of { id?, params? }, { instances }, or { count, params? }',
      );
    if (list.length === 0 || list.length > MAX_BATCH)
      throw new TypeError(`Workflow.createBatch: 1 to ${MAX_BATCH} instances at a time`);
    const { ids, errors } = await callBinding('workflow', this.#binding, 'create', list);
    const created = ids
      .filter((id): id is string => id !== null)
      .map((id) => new WorkflowInstance(this.#binding, id));
    if (arrayForm) return created;
    return { created, errors: errors.map((e) => ({ ...e, code: 400 })) };
  }

  async get(id: unknown): Promise<WorkflowInstance> {
    if (typeof id !== 'string') throw new TypeError('Workflow.get: the instance id must be a string');
    await callBinding('workflow', this.#binding, 'get', id);
    return new WorkflowInstance(this.#binding, id);
  }

  get [Symbol.toStringTag](): string {
    return 'Workflow';
  }
}
