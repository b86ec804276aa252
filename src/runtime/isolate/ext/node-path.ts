/**
 * node:path (nodejs_compat): Node's POSIX path functions (the path-browserify package, a port of
 * Node's own), as workerd provides them; `posix` is the module itself and `win32` is not there.
 */
import path from 'path-browserify';

const posix = { ...path, posix: undefined as unknown, win32: undefined };
posix.posix = posix;
export default posix;
export const {
  basename,
  delimiter,
  dirname,
  extname,
  format,
  isAbsolute,
  join,
  normalize,
  parse,
  relative,
  resolve,
  sep,
  toNamespacedPath,
} = path;
export { posix };
