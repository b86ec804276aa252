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
// cache's name carries a hash of the bundle's content, because V8 itself checks only the
// source's length. A cache that cannot be read or written is skipped: the start then compiles
// everything, as without one. OUTPOST_DEBUG_CODE_CACHE=1 says on stderr whether it was used.
//
// Runs with `--no-node-snapshot --expose-gc` (bin/outpost.mjs): isolated-vm needs the first; the
// second is set by the runtime anyway (src/runtime/pool.ts), and on the command line it is part
// of the flags the cache is checked against from the start, so the cache a process wrote is the
// one the next accepts.
'use strict';
const { createHash, randomBytes } = require('node:crypto');
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
// The bundle's content hash, written here by scripts/bundle.mjs when it copied this file: V8
// checks only a cache's source length, so the name must change whenever the bundle does.
const BUNDLE_HASH = '__OUTPOST_BUNDLE_HASH__';
const hash = (s) => createHash('sha256').update(s).digest('hex').slice(0, 12);
// Named after the bundle's folder (another build sharing node_modules keeps its own), the
// bundle, and the flags it runs with (V8 rejects a cache made under other flags).
const prefix = `bundle-${hash(__dirname)}-`;
const build = BUNDLE_HASH.startsWith('__') ? `${statSync(file).size}-${statSync(file).mtimeMs}` : BUNDLE_HASH;
const cacheName = `${prefix}${build}-${hash(process.execArgv.join('\0'))}-${process.version}-${process.arch}.v8`;
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
if (process.env.OUTPOST_DEBUG_CODE_CACHE)
  process.stderr.write(
    `outpost: code cache ${cacheFile}: ${cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`,
  );

// Written by the commands that serve, once running for a while, with the functions their start
// and first requests compiled: not by a short or client command (`outpost deploy`, `tail`),
// whose cache would hold little and then be the one kept.
const SERVING = new Set(['dev', 'node', 'router', 'shield', 'geodns']);
if ((cachedData === undefined || script.cachedDataRejected) && SERVING.has(process.argv[2])) {
  const write = () => {
    try {
      const data = script.createCachedData();
      mkdirSync(cacheDir, { recursive: true });
      // Written whole under a name no other process uses, then renamed into place.
      const tmp = `${cacheFile}.${process.pid}.${randomBytes(6).toString('hex')}`;
      writeFileSync(tmp, data);
      renameSync(tmp, cacheFile);
      // Caches of earlier builds in this folder go.
      for (const f of readdirSync(cacheDir))
        if (f.startsWith(prefix) && f.endsWith('.v8') && !f.startsWith(`${prefix}${build}-`))
          unlinkSync(join(cacheDir, f));
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
