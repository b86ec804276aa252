/**
 * A data point as it crosses from the isolate to the host (src/runtime/bindings/protocol.ts):
 * the isolate has already turned every blob and index into a string or bytes, as workerd's
 * bindings do (anything else through ToString, null/undefined kept as "none"), and every double
 * into a number (ToNumber). Types only, importing nothing: the isolate's tsconfig compiles this
 * file too.
 */
export interface DataPointData {
  indexes: (string | ArrayBuffer | null)[];
  blobs: (string | ArrayBuffer | null)[];
  doubles: number[];
}
