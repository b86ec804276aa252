/** Errors of Durable Objects that callers see (src/durable-objects/host.ts uses them too). */

/**
 * An error a caller's isolate sees by `kind` (a TypeError for a bad id, an Error otherwise): the
 * runtime's bridge rebuilds it as that type. Its `name` is the kind, so it keeps it across nodes.
 */
export class ObjectError extends Error {
  constructor(
    message: string,
    readonly kind: 'Error' | 'TypeError' = 'Error',
  ) {
    super(message);
    this.name = kind;
  }
}

/** The owner's node did not take the call (refused connection): nothing ran there. */
export class OwnerUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OwnerUnreachable';
  }
}
