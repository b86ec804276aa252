// The entry of a built Outpost (`npm run build` copies this file to dist/cli/outpost.cjs, beside
// the one-file bundle of the CLI, dist/cli/outpost.bundle.cjs; scripts/bundle.mjs).
//
// Why a loader: a node must answer its first request soon after it is spawned (docs/deploying.md),
// and most of a start was loading code: ~190 files of ESM through Node's loader, then parsing and
// compiling them, then V8 compiling each function on its first call. One bundle removes the
// module loading; this file removes most of the compiling. It compiles the bundle with V8's code
// cache, kept in node_modules/.cache/outpost/ and written once per built bundle, after the
// process has run for a while so that the functions a start calls are in it. V8 checks that the
// cache fits its version and flags (and rejects it otherwise: it is then written again); the
// cache's name carries the bundle's size, modification time and inode, because V8 itself checks
// only the source's length. A cache that cannot be read or written is skipped: the start then
// compiles everything, as without one.
//
// Runs with `--no-node-snapshot --expose-gc` (bin/outpost.mjs): isolated-vm needs the first; the
// second is set by the runtime anyway (src/runtime/pool.ts), and on the command line it is part
// of the flags the cache is checked against from the start, so the cache a process wrote is the
// one the next accepts.
'use strict';
const { createHash } = require('node:crypto');
const {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');
const vm = require('node:vm');

const file = join(__dirname, 'outpost.bundle.cjs');
const cacheDir = join(__dirname, '..', '..', 'node_modules', '.cache', 'outpost');
const st = statSync(file);
// Named after the bundle's folder too: another build sharing node_modules keeps its own cache.
const prefix = `bundle-${createHash('sha256').update(__dirname).digest('hex').slice(0, 12)}-`;
const cacheName = `${prefix}${st.size}-${Math.trunc(st.mtimeMs)}-${st.ino}-${process.version}-${process.arch}.v8`;
const cacheFile = join(cacheDir, cacheName);

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {}
const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), {
  filename: file,
  ...(cachedData ? { cachedData } : {}),
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});

if (cachedData === undefined || script.cachedDataRejected) {
  // Written once a process has run for a while, with the functions its start compiled: not by a
  // short command (`outpost --version`), whose cache would hold little and then be kept.
  const write = () => {
    try {
      const data = script.createCachedData();
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, data);
      renameSync(tmp, cacheFile);
      for (const f of readdirSync(cacheDir))
        if (f.startsWith(prefix) && f.endsWith('.v8') && f !== cacheName) unlinkSync(join(cacheDir, f));
    } catch {
      // A read-only install: every start compiles, as without a cache.
    }
  };
  setTimeout(write, 2000).unref();
}

const bundle = new Module(file, module);
bundle.filename = file;
bundle.paths = Module._nodeModulePaths(__dirname);
bundle.loaded = true;
script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, __dirname);
