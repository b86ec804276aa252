/**
 * An error whose name crosses into the isolate with it (WebCrypto's DOMException names, a
 * remote RPC error's class): asyncSyscall sends `{ e: message, n: name }` and the prelude
 * rebuilds the matching error type (src/runtime/isolate/bridge.ts, namedError).
 */
export class NamedError extends Error {
  constructor(message: string, name: string) {
    super(message);
    this.name = name;
  }
}
