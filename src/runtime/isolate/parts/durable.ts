/** The Durable Objects part (../parts.ts): namespaces and stubs, and an object's own runtime. */
import { commitWrites, DurableObjectNamespace, makeObject } from '../durable.ts';
import { registerPart } from '../parts.ts';

registerPart('durable', { commitWrites, DurableObjectNamespace, makeObject });
