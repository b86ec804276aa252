/**
 * node:fs (nodejs_compat, compatibility date 2025-09-01 or enable_nodejs_fs_module): the
 * virtual file system workerd gives a worker (https://developers.cloudflare.com/workers/runtime-apis/nodejs/fs/).
 * There is no host file system behind it: everything lives in the isolate's memory.
 *
 *   /tmp      writable, in memory, for the isolate's lifetime (counted in its memory limit)
 *   /bundle   read-only (Outpost ships the worker as one bundle; the folder is empty)
 *   /dev      null, zero, full and random, as their Linux namesakes
 *
 * Writing anywhere else fails with EROFS, a missing path with ENOENT, as Node reports them
 * (`code`, `errno`, `syscall`, `path`, and the same message text). Sync, callback and promise
 * forms share one implementation; streams come from node:stream.
 */
import { Buffer } from 'node:buffer';
import { Readable, Writable } from 'node:stream';

type Data = string | ArrayBufferView | ArrayBuffer;
interface File {
  kind: 'file';
  data: Uint8Array;
  mtime: number;
  birth: number;
  mode: number;
}
interface Dir {
  kind: 'dir';
  mtime: number;
  birth: number;
  mode: number;
}
interface Device {
  kind: 'dev';
  read(n: number): Uint8Array;
  write(): void;
}
type Node = File | Dir | Device;

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [-2, 'no such file or directory'],
  EEXIST: [-17, 'file already exists'],
  ENOTDIR: [-20, 'not a directory'],
  EISDIR: [-21, 'illegal operation on a directory'],
  ENOTEMPTY: [-39, 'directory not empty'],
  EROFS: [-30, 'read-only file system'],
  EBADF: [-9, 'bad file descriptor'],
  ENOSPC: [-28, 'no space left on device'],
  EINVAL: [-22, 'invalid argument'],
};

function fsError(code: string, syscall: string, path?: string): Error {
  const [errno, text] = ERRNO[code];
  const e = new Error(`${code}: ${text}, ${syscall}${path !== undefined ? ` '${path}'` : ''}`) as Error &
    Record<string, unknown>;
  Object.assign(e, { errno, code, syscall, ...(path !== undefined ? { path } : {}) });
  return e;
}

const now = () => Date.now();
const dir = (): Dir => ({ kind: 'dir', mtime: now(), birth: now(), mode: 0o40755 });
const nodes = new Map<string, Node>([
  ['/', dir()],
  ['/tmp', { ...dir(), mode: 0o41777 }],
  ['/bundle', dir()],
  ['/dev', dir()],
  ['/dev/null', { kind: 'dev', read: () => new Uint8Array(0), write: () => {} }],
  ['/dev/zero', { kind: 'dev', read: (n) => new Uint8Array(n), write: () => {} }],
  [
    '/dev/full',
    {
      kind: 'dev',
      read: (n) => new Uint8Array(n),
      write: () => {
        throw fsError('ENOSPC', 'write');
      },
    },
  ],
  ['/dev/random', { kind: 'dev', read: (n) => crypto.getRandomValues(new Uint8Array(n)), write: () => {} }],
]);
nodes.set('/dev/urandom', nodes.get('/dev/random') as Node);

/** An absolute, normalised path (relative ones are from "/", the worker's working directory). */
function norm(p: unknown, syscall: string): string {
  let s: string;
  if (typeof p === 'string') s = p;
  else if (p instanceof Uint8Array) s = Buffer.from(p).toString();
  else if (p && typeof p === 'object' && (p as { protocol?: string }).protocol === 'file:')
    s = decodeURIComponent((p as { pathname: string }).pathname);
  else
    throw Object.assign(
      new TypeError(`The "path" argument must be of type string or an instance of Buffer or URL.`),
      {
        code: 'ERR_INVALID_ARG_TYPE',
      },
    );
  if (s.includes('\0'))
    throw Object.assign(new TypeError('path must be a string without null bytes'), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
  const out: string[] = [];
  for (const part of s.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  void syscall;
  return `/${out.join('/')}`;
}

const parent = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
const writable = (p: string) => p === '/tmp' || p.startsWith('/tmp/');

function get(p: string, syscall: string): Node {
  const n = nodes.get(p);
  if (n) return n;
  const par = nodes.get(parent(p));
  if (par && par.kind !== 'dir') throw fsError('ENOTDIR', syscall, p);
  throw fsError('ENOENT', syscall, p);
}

function bytesOf(data: Data, encoding?: string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, (encoding ?? 'utf8') as BufferEncoding);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  throw Object.assign(
    new TypeError(
      'The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView.',
    ),
    {
      code: 'ERR_INVALID_ARG_TYPE',
    },
  );
}

function encodingOf(options: unknown): string | undefined {
  if (typeof options === 'string') return options;
  return (options as { encoding?: string } | undefined)?.encoding ?? undefined;
}

function output(bytes: Uint8Array, options: unknown): any {
  const enc = encodingOf(options);
  const b = Buffer.from(bytes);
  return enc && enc !== 'buffer' ? b.toString(enc) : b;
}

function makeStats(n: Node) {
  const isFile = n.kind === 'file';
  const isDir = n.kind === 'dir';
  const m = n.kind === 'dev' ? 0 : n.mtime;
  const birth = n.kind === 'dev' ? 0 : n.birth;
  const size = n.kind === 'file' ? n.data.byteLength : 0;
  return {
    dev: 0,
    ino: 0,
    mode: n.kind === 'dev' ? 0o20666 : n.mode,
    nlink: 1,
    uid: 0,
    gid: 0,
    rdev: 0,
    size,
    blksize: 4096,
    blocks: Math.ceil(size / 512),
    atimeMs: m,
    mtimeMs: m,
    ctimeMs: m,
    birthtimeMs: birth,
    atime: new Date(m),
    mtime: new Date(m),
    ctime: new Date(m),
    birthtime: new Date(birth),
    isFile: () => isFile,
    isDirectory: () => isDir,
    isSymbolicLink: () => false,
    isCharacterDevice: () => n.kind === 'dev',
    isBlockDevice: () => false,
    isFIFO: () => false,
    isSocket: () => false,
  };
}

// ---- the operations, synchronous ----

export function existsSync(p: unknown): boolean {
  try {
    return nodes.has(norm(p, 'access'));
  } catch {
    return false;
  }
}

export function statSync(p: unknown, options?: { throwIfNoEntry?: boolean }) {
  const path = norm(p, 'stat');
  if (options?.throwIfNoEntry === false && !nodes.has(path)) return undefined;
  return makeStats(get(path, 'stat'));
}
export const lstatSync = statSync;

export function accessSync(p: unknown, mode = 0): void {
  const path = norm(p, 'access');
  get(path, 'access');
  if (mode & 2 && !writable(path) && !path.startsWith('/dev/')) throw fsError('EROFS', 'access', path);
}

export function readFileSync(p: unknown, options?: unknown): any {
  if (typeof p === 'number') return output(fdRead(p, Number.POSITIVE_INFINITY, 'read'), options);
  const path = norm(p, 'open');
  const n = get(path, 'open');
  if (n.kind === 'dir') throw fsError('EISDIR', 'read');
  if (n.kind === 'dev') return output(n.read(path === '/dev/null' ? 0 : 4096), options);
  return output(n.data, options);
}

function writeAt(path: string, syscall: string, bytes: Uint8Array, append: boolean, exclusive = false): void {
  const n = nodes.get(path);
  if (n?.kind === 'dev') {
    n.write();
    return;
  }
  if (!writable(path)) throw fsError('EROFS', syscall, path);
  if (n?.kind === 'dir') throw fsError('EISDIR', syscall, path);
  if (n && exclusive) throw fsError('EEXIST', syscall, path);
  const par = nodes.get(parent(path));
  if (!par) throw fsError('ENOENT', syscall, path);
  if (par.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
  if (n && append) {
    const joined = new Uint8Array(n.data.byteLength + bytes.byteLength);
    joined.set(n.data);
    joined.set(bytes, n.data.byteLength);
    n.data = joined;
    n.mtime = now();
    return;
  }
  if (n) {
    n.data = bytes;
    n.mtime = now();
    return;
  }
  nodes.set(path, { kind: 'file', data: bytes, mtime: now(), birth: now(), mode: 0o100644 });
  par.mtime = now();
}

export function writeFileSync(p: unknown, data: Data, options?: unknown): void {
  const flag = (options as { flag?: string } | undefined)?.flag ?? 'w';
  if (typeof p === 'number') {
    fdWrite(p, bytesOf(data, encodingOf(options)));
    return;
  }
  writeAt(
    norm(p, 'open'),
    'open',
    bytesOf(data, encodingOf(options)),
    flag.startsWith('a'),
    flag.includes('x'),
  );
}

export function appendFileSync(p: unknown, data: Data, options?: unknown): void {
  if (typeof p === 'number') {
    fdWrite(p, bytesOf(data, encodingOf(options)));
    return;
  }
  writeAt(norm(p, 'open'), 'open', bytesOf(data, encodingOf(options)), true);
}

export function mkdirSync(p: unknown, options?: { recursive?: boolean } | number): string | undefined {
  const path = norm(p, 'mkdir');
  const recursive = typeof options === 'object' && options?.recursive === true;
  if (nodes.has(path)) {
    if (recursive && nodes.get(path)?.kind === 'dir') return undefined;
    throw fsError('EEXIST', 'mkdir', path);
  }
  if (!writable(path)) throw fsError('EROFS', 'mkdir', path);
  const missing: string[] = [];
  for (let cur = path; !nodes.has(cur); cur = parent(cur)) missing.unshift(cur);
  if (!recursive && missing.length > 1) throw fsError('ENOENT', 'mkdir', path);
  const base = nodes.get(parent(missing[0]));
  if (base?.kind !== 'dir') throw fsError('ENOTDIR', 'mkdir', path);
  for (const m of missing) nodes.set(m, dir());
  return recursive ? missing[0] : undefined;
}

function children(path: string): string[] {
  const prefix = path === '/' ? '/' : `${path}/`;
  const out: string[] = [];
  for (const k of nodes.keys())
    if (k !== path && k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      out.push(k.slice(prefix.length));
  return out.sort();
}

export function readdirSync(p: unknown, options?: unknown): any[] {
  const path = norm(p, 'scandir');
  const n = get(path, 'scandir');
  if (n.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
  const names = children(path);
  if ((options as { withFileTypes?: boolean } | undefined)?.withFileTypes) {
    return names.map((name) => {
      const c = nodes.get(`${path === '/' ? '' : path}/${name}`) as Node;
      return {
        name,
        parentPath: path,
        path,
        isFile: () => c.kind === 'file',
        isDirectory: () => c.kind === 'dir',
        isSymbolicLink: () => false,
        isCharacterDevice: () => c.kind === 'dev',
        isBlockDevice: () => false,
        isFIFO: () => false,
        isSocket: () => false,
      };
    });
  }
  return encodingOf(options) === 'buffer' ? names.map((x) => Buffer.from(x)) : names;
}

export function unlinkSync(p: unknown): void {
  const path = norm(p, 'unlink');
  const n = get(path, 'unlink');
  if (!writable(path)) throw fsError('EROFS', 'unlink', path);
  if (n.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
  nodes.delete(path);
}

export function rmdirSync(p: unknown, options?: { recursive?: boolean }): void {
  const path = norm(p, 'rmdir');
  const n = get(path, 'rmdir');
  if (!writable(path) || path === '/tmp') throw fsError('EROFS', 'rmdir', path);
  if (n.kind !== 'dir') throw fsError('ENOTDIR', 'rmdir', path);
  if (children(path).length && !options?.recursive) throw fsError('ENOTEMPTY', 'rmdir', path);
  for (const k of [...nodes.keys()]) if (k === path || k.startsWith(`${path}/`)) nodes.delete(k);
}

export function rmSync(p: unknown, options?: { recursive?: boolean; force?: boolean }): void {
  const path = norm(p, 'rm');
  const n = nodes.get(path);
  if (!n) {
    if (options?.force) return;
    throw fsError('ENOENT', 'rm', path);
  }
  if (n.kind === 'dir') {
    if (!options?.recursive)
      throw Object.assign(new Error(`Path is a directory: rm returned EISDIR (is a directory) ${path}`), {
        code: 'ERR_FS_EISDIR',
      });
    rmdirSync(path, { recursive: true });
    return;
  }
  unlinkSync(path);
}

export function renameSync(from: unknown, to: unknown): void {
  const a = norm(from, 'rename');
  const b = norm(to, 'rename');
  const n = get(a, 'rename');
  if (!writable(a) || !writable(b)) throw fsError('EROFS', 'rename', a);
  if (nodes.get(parent(b))?.kind !== 'dir') throw fsError('ENOENT', 'rename', b);
  if (n.kind === 'dir') {
    for (const [k, v] of [...nodes.entries()])
      if (k === a || k.startsWith(`${a}/`)) {
        nodes.delete(k);
        nodes.set(b + k.slice(a.length), v);
      }
    return;
  }
  nodes.delete(a);
  nodes.set(b, n);
}

export function copyFileSync(from: unknown, to: unknown, mode = 0): void {
  const data = readFileSync(from) as Uint8Array;
  writeAt(norm(to, 'copyfile'), 'copyfile', new Uint8Array(data), false, (mode & 1) === 1);
}

export function truncateSync(p: unknown, len = 0): void {
  const path = norm(p, 'open');
  const n = get(path, 'open');
  if (n.kind !== 'file') throw fsError('EISDIR', 'open', path);
  if (!writable(path)) throw fsError('EROFS', 'open', path);
  const out = new Uint8Array(len);
  out.set(n.data.subarray(0, len));
  n.data = out;
  n.mtime = now();
}

let tmpCounter = 0;
export function mkdtempSync(prefix: string): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (;;) {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += chars[(tmpCounter++ * 7 + Math.floor(Math.random() * 36)) % 36];
    const path = norm(`${prefix}${suffix}`, 'mkdtemp');
    if (!nodes.has(path)) {
      mkdirSync(path);
      return path;
    }
  }
}

export function realpathSync(p: unknown): string {
  const path = norm(p, 'realpath');
  get(path, 'realpath');
  return path;
}
realpathSync.native = realpathSync;

// ---- file descriptors ----

interface Fd {
  path: string;
  pos: number;
  write: boolean;
  append: boolean;
}
const fds = new Map<number, Fd>();
let nextFd = 3;

export function openSync(p: unknown, flags: string | number = 'r'): number {
  const path = norm(p, 'open');
  const f = typeof flags === 'number' ? (flags & 3 ? 'w' : 'r') : flags;
  const write = /[wa+]/.test(f);
  if (!nodes.has(path)) {
    if (!write || f.startsWith('r')) throw fsError('ENOENT', 'open', path);
    writeAt(path, 'open', new Uint8Array(0), false);
  } else if (f.includes('x')) throw fsError('EEXIST', 'open', path);
  else if (f.startsWith('w')) writeAt(path, 'open', new Uint8Array(0), false);
  if (write && !writable(path) && nodes.get(path)?.kind !== 'dev') throw fsError('EROFS', 'open', path);
  const fd = nextFd++;
  fds.set(fd, { path, pos: 0, write, append: f.startsWith('a') });
  return fd;
}

function fdOf(fd: number, syscall: string): Fd {
  const f = fds.get(fd);
  if (!f) throw fsError('EBADF', syscall);
  return f;
}

function fdRead(fd: number, length: number, syscall: string, position: number | null = null): Uint8Array {
  const f = fdOf(fd, syscall);
  const n = get(f.path, syscall);
  if (n.kind === 'dev') return n.read(Number.isFinite(length) ? length : 0);
  if (n.kind === 'dir') throw fsError('EISDIR', syscall);
  const at = position ?? f.pos;
  const out = n.data.subarray(at, Number.isFinite(length) ? at + length : undefined);
  if (position === null) f.pos = at + out.byteLength;
  return out;
}

function fdWrite(fd: number, bytes: Uint8Array, position: number | null = null): number {
  const f = fdOf(fd, 'write');
  if (!f.write) throw fsError('EBADF', 'write');
  const n = get(f.path, 'write');
  if (n.kind === 'dev') {
    n.write();
    return bytes.byteLength;
  }
  if (n.kind !== 'file') throw fsError('EISDIR', 'write');
  const at = f.append ? n.data.byteLength : (position ?? f.pos);
  const end = at + bytes.byteLength;
  if (end > n.data.byteLength) {
    const grown = new Uint8Array(end);
    grown.set(n.data);
    n.data = grown;
  }
  n.data.set(bytes, at);
  n.mtime = now();
  if (position === null) f.pos = end;
  return bytes.byteLength;
}

export function readSync(
  fd: number,
  buffer: Uint8Array,
  offset = 0,
  length = buffer.byteLength - offset,
  position: number | null = null,
): number {
  const got = fdRead(fd, length, 'read', position);
  buffer.set(got, offset);
  return got.byteLength;
}

export function writeSync(
  fd: number,
  data: Data,
  offsetOrPosition?: unknown,
  length?: number,
  position?: number | null,
): number {
  if (typeof data === 'string')
    return fdWrite(fd, Buffer.from(data), typeof offsetOrPosition === 'number' ? offsetOrPosition : null);
  const b = bytesOf(data);
  const off = typeof offsetOrPosition === 'number' ? offsetOrPosition : 0;
  return fdWrite(fd, b.subarray(off, length === undefined ? undefined : off + length), position ?? null);
}

export function closeSync(fd: number): void {
  fdOf(fd, 'close');
  fds.delete(fd);
}

export function fstatSync(fd: number) {
  return makeStats(get(fdOf(fd, 'fstat').path, 'fstat'));
}

// ---- callbacks and promises, from the synchronous forms ----

type Fn = (...args: any[]) => any;
const SYNC: Record<string, Fn> = {
  stat: statSync,
  lstat: lstatSync,
  access: accessSync,
  readFile: readFileSync,
  writeFile: writeFileSync,
  appendFile: appendFileSync,
  mkdir: mkdirSync,
  readdir: readdirSync,
  unlink: unlinkSync,
  rmdir: rmdirSync,
  rm: rmSync,
  rename: renameSync,
  copyFile: copyFileSync,
  truncate: truncateSync,
  mkdtemp: mkdtempSync,
  realpath: realpathSync,
  open: openSync,
  close: closeSync,
  fstat: fstatSync,
};

function callback(fn: Fn): Fn {
  return (...args: any[]) => {
    const cb = args.pop();
    if (typeof cb !== 'function')
      throw Object.assign(new TypeError('The "cb" argument must be of type function.'), {
        code: 'ERR_INVALID_ARG_TYPE',
      });
    queueMicrotask(() => {
      let result: unknown;
      try {
        result = fn(...args);
      } catch (err) {
        return cb(err);
      }
      cb(null, result);
    });
  };
}

const cbs: Record<string, Fn> = {};
const proms: Record<string, Fn> = {};
for (const [name, fn] of Object.entries(SYNC)) {
  cbs[name] = callback(fn);
  proms[name] = async (...args: any[]) => fn(...args);
}
export const {
  stat,
  lstat,
  access,
  readFile,
  writeFile,
  appendFile,
  mkdir,
  readdir,
  unlink,
  rmdir,
  rm,
  rename,
  copyFile,
  truncate,
  mkdtemp,
  realpath,
  open,
  close,
  fstat,
} = cbs;
export function exists(p: unknown, cb: (ok: boolean) => void): void {
  queueMicrotask(() => cb(existsSync(p)));
}
export const promises = { ...proms, constants: undefined as unknown };

export const constants = {
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
  COPYFILE_EXCL: 1,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 64,
  O_EXCL: 128,
  O_TRUNC: 512,
  O_APPEND: 1024,
};
promises.constants = constants;
export const { F_OK, R_OK, W_OK, X_OK } = constants;

export function createReadStream(p: unknown, options?: { start?: number; end?: number; encoding?: string }) {
  const all = readFileSync(p) as Uint8Array;
  const slice = all.subarray(options?.start ?? 0, options?.end === undefined ? undefined : options.end + 1);
  const r = Readable.from([Buffer.from(slice)], { objectMode: false });
  if (options?.encoding) r.setEncoding(options.encoding);
  return r;
}

export function createWriteStream(p: unknown, options?: { flags?: string }) {
  const path = norm(p, 'open');
  const append = options?.flags?.startsWith('a') ?? false;
  if (!append) writeFileSync(path, '');
  return new Writable({
    write(chunk: Uint8Array, _enc: string, cb: (err?: Error | null) => void) {
      try {
        appendFileSync(path, chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

export default {
  ...SYNC,
  ...cbs,
  existsSync,
  statSync,
  lstatSync,
  accessSync,
  readFileSync,
  writeFileSync,
  appendFileSync,
  mkdirSync,
  readdirSync,
  unlinkSync,
  rmdirSync,
  rmSync,
  renameSync,
  copyFileSync,
  truncateSync,
  mkdtempSync,
  realpathSync,
  openSync,
  readSync,
  writeSync,
  closeSync,
  fstatSync,
  exists,
  promises,
  constants,
  createReadStream,
  createWriteStream,
};
