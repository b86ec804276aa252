/**
 * An error whose name crosses into the isolate with it (WebCrypto's DOMException names, a
 * remote RPC error's class): asyncSyscall sends `{ e: message, n: name }` and the prelude
 * rebuilds the matching error type (src/runtime/isolate/bridge.ts, namedError).
 */
import { ObjectError } from '../../durable-objects/index.ts';

export class NamedError extends Error {
  constructor(message: string, name: string) {
    super(message);
    this.name = name;
  }
}

/** The name `err` keeps in the isolate: a NamedError's, a Durable Objects error's kind; else none. */
export function crossingName(err: unknown): string | null {
  if (err instanceof NamedError) return err.name;
  if (err instanceof ObjectError) return err.kind;
  return null;
}

/** An Error that crosses into the isolate with its message (`Name: message`) and no host stack. */
export function isolateError(message: string): Error {
  const e = new Error(message);
  e.stack = message;
  return e;
}
