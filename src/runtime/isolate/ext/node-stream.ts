/** node:stream (nodejs_compat): the `readable-stream` package, Node's streams for other engines. */
import stream from 'readable-stream';

export default stream;
export const {
  Readable,
  Writable,
  Duplex,
  Transform,
  PassThrough,
  Stream,
  pipeline,
  finished,
  addAbortSignal,
  compose,
} = stream as any;
export const promises = (stream as any).promises;
