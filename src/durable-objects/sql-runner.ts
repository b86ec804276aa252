/**
 * Runs Durable Objects' own SQL in the SQL host process (sql-host.ts), synchronously for the
 * caller, with a deadline.
 *
 * The object's isolate calls storage synchronously (the input gate depends on it:
 * src/runtime/isolate/durable.ts), and that call runs on the host's main thread, so the
 * main thread must wait for the statement. What this file changes is that the wait is bounded:
 * the main thread sleeps in Atomics.wait while a relay thread (a worker, whose event loop
 * stays free) passes the statement to the host process, and kills that process with SIGKILL
 * when the statement outlives its time, answering the caller at once. SQLite cannot be
 * interrupted any other way here: the bundled build omits the progress callback and
 * better-sqlite3 exposes no sqlite3_interrupt. The host process runs under RLIMIT_DATA, so
 * SQLite's allocations for one statement fail (SQLITE_NOMEM) or kill that process, never grow
 * the host.
 *
 * Cost (this machine): one statement crosses two threads and a process boundary each way; the
 * first statement of a process waits for the host to start (pre-started by warm()).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { DO_LIMITS, StorageError } from './limits.ts';
import type { SqlResult } from './storage.ts';

/** The relay thread: plain JavaScript (eval), so it needs no TypeScript loader. */
const RELAY = `
const { workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { port, sab, host } = workerData;
const flag = new Int32Array(sab);
// Two host processes: the one in use and a spare, so a kill costs no start-up wait.
const procs = [];
const queue = [];
let current = null, failures = 0, backoff = null;
function reply(m) { port.postMessage(m); Atomics.add(flag, 0, 1); Atomics.notify(flag, 0); }
function publish() {
  Atomics.store(flag, 1, procs.some((p) => p.ready) ? 1 : 0);
  Atomics.store(flag, 2, procs[0] ? procs[0].c.pid || 0 : 0);
  Atomics.store(flag, 3, procs[1] ? procs[1].c.pid || 0 : 0);
}
function fill() {
  while (procs.length < 2 && !backoff) spawnOne();
  publish();
}
function drop(p) {
  const i = procs.indexOf(p);
  if (i < 0) return false;
  procs.splice(i, 1);
  publish();
  return true;
}
function spawnOne() {
  const c = spawn('/bin/sh', ['-c', 'ulimit -d ' + host.dataKb + ' && exec "$0" "$@"', host.execPath, ...host.args], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced', env: host.env,
  });
  const p = { c, ready: false };
  procs.push(p);
  c.on('message', (m) => {
    if (!m || procs.indexOf(p) < 0) return;
    if (m.ready) { p.ready = true; failures = 0; publish(); pump(); return; }
    if (current && current.p === p && m.id === current.msg.id) {
      clearTimeout(current.timer);
      const cur = current; current = null;
      m.ms = Date.now() - cur.sent;
      if (cur.msg.op !== 'close') reply(m);
      pump();
    }
  });
  const gone = () => {
    if (!drop(p)) return;
    if (current && current.p === p) {
      clearTimeout(current.timer);
      const cur = current; current = null;
      if (cur.msg.op !== 'close') reply({ id: cur.msg.id, ok: false, ms: Date.now() - cur.sent, e: 'SQL host process ended while running the statement (out of memory?): SQLITE_NOMEM' });
    }
    if (!p.ready) {
      // It never started: fail what waits rather than spin, and retry later.
      failures++;
      if (!procs.some((q) => q.ready)) for (const m of queue.splice(0)) if (m.op !== 'close') reply({ id: m.id, ok: false, e: 'SQL host process failed to start: SQLITE_CANTOPEN' });
      if (!backoff) backoff = setTimeout(() => { backoff = null; fill(); }, Math.min(10000, 250 * 2 ** failures));
    }
    fill();
    pump();
  };
  c.on('exit', gone);
  c.on('error', gone);
}
function pump() {
  if (current || queue.length === 0) return;
  const p = procs.find((q) => q.ready);
  if (!p) return;
  const msg = queue.shift();
  current = { msg, p, timer: null, sent: Date.now() };
  if (msg.op !== 'close')
    current.timer = setTimeout(() => {
      // Over time: answer now, then kill the process (the only way to stop SQLite here).
      const cur = current; current = null;
      reply({ id: cur.msg.id, ok: false, timeout: true, ms: Date.now() - cur.sent });
      drop(cur.p);
      try { cur.p.c.kill('SIGKILL'); } catch {}
      fill();
      pump();
    }, msg.timeoutMs);
  p.c.send(msg);
}
port.on('message', (m) => {
  queue.push(m);
  fill();
  pump();
});
fill();
`;

/**
 * How to start a host. From dist/, its compiled file. From the TypeScript sources (dev, tests),
 * esbuild (already a dependency) bundles it once into one CommonJS script run with `-e`: a host
 * then starts in ~0.15 s and ~45 MB instead of ~1–2 s and ~80 MB through the tsx loader, which
 * matters when a killed host's spare must be ready before the next statement.
 */
export function hostCommand(): { execPath: string; args: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`./sql-host.${ts ? 'ts' : 'js'}`, import.meta.url));
  if (!ts) return { execPath: process.execPath, args: [file] };
  const require = createRequire(import.meta.url);
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out = esbuild.buildSync({
    entryPoints: [file],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3'],
    write: false,
    logLevel: 'silent',
  });
  // `-e` code resolves modules from the working directory: name better-sqlite3 by its path.
  const code = out.outputFiles[0].text.replaceAll(
    'require("better-sqlite3")',
    `require(${JSON.stringify(require.resolve('better-sqlite3'))})`,
  );
  return { execPath: process.execPath, args: ['-e', code] };
}

interface Reply {
  id: number;
  ok: boolean;
  r?: SqlResult;
  e?: string;
  timeout?: boolean;
  /** How long the host had the statement (not the wait for a host to start). */
  ms?: number;
}

export class SqlRunner {
  #worker: Worker | null = null;
  #port: MessagePort | null = null;
  #flag = new Int32Array(new SharedArrayBuffer(16));
  #next = 1;
  /** How long the last run()'s statement ran in the host, ms (what its namespace is charged). */
  lastMs = 0;

  /** Start the relay and the host process (asynchronously) so the first statement finds them up. */
  warm(): void {
    if (this.#worker) return;
    const { port1, port2 } = new MessageChannel();
    this.#flag = new Int32Array(new SharedArrayBuffer(16));
    // NORMAL: the object's output gate makes its commits durable (sql-host.ts, wal-sync.ts).
    const env: Record<string, string | undefined> = {
      ...process.env,
      OUTPOST_SQL_HOST: '1',
      OUTPOST_SQL_SYNCHRONOUS: 'NORMAL',
    };
    delete env.NODE_TEST_CONTEXT;
    const worker = new Worker(RELAY, {
      eval: true,
      execArgv: [], // no TypeScript loader: the relay is plain JavaScript
      workerData: {
        port: port2,
        sab: this.#flag.buffer,
        host: { ...hostCommand(), env, dataKb: Math.floor(DO_LIMITS.SQL_HOST_DATA_BYTES / 1024) },
      },
      transferList: [port2],
    });
    worker.unref();
    worker.on('error', () => this.#reset());
    worker.on('exit', () => {
      if (this.#worker === worker) this.#reset();
    });
    port1.unref();
    this.#worker = worker;
    this.#port = port1;
  }

  #reset(): void {
    for (const slot of [2, 3]) {
      const pid = Atomics.load(this.#flag, slot);
      if (pid > 0)
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
    }
    const w = this.#worker;
    this.#worker = null;
    this.#port?.close();
    this.#port = null;

    void w?.terminate();
  }

  /**
   * Run `query` against the database `file` within `timeoutMs`, the database capped at
   * `maxBytes` (its object's storage quota, as max_page_count); throws StorageError.
   */
  run(
    file: string,
    query: string,
    bindings: unknown[],
    timeoutMs: number,
    maxBytes: number = DO_LIMITS.MAX_DATABASE_BYTES,
  ): SqlResult {
    this.warm();
    const port = this.#port as MessagePort;
    const flag = this.#flag;
    const id = this.#next++;
    this.lastMs = 0;
    // Starting the host may take a few seconds on a loaded machine; the statement's own
    // time is enforced by the relay from when the host has it.
    const deadline = Date.now() + timeoutMs + (Atomics.load(flag, 1) === 1 ? 2000 : 30000);
    port.postMessage({ id, op: 'sql', file, query, bindings, timeoutMs, maxBytes });
    for (;;) {
      const seen = Atomics.load(flag, 0);
      const got = receiveMessageOnPort(port);
      if (got) {
        const m = got.message as Reply;
        if (m.id !== id) continue; // an answer to a call that gave up
        this.lastMs = m.ms ?? 0;
        if (m.ok) return m.r as SqlResult;
        if (m.timeout)
          throw new StorageError(
            `SQL statement exceeded its time limit of ${timeoutMs} ms and was interrupted: SQLITE_INTERRUPT`,
          );
        throw new StorageError(String(m.e));
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.lastMs = timeoutMs;
        this.#reset();
        throw new StorageError('SQL host did not answer in time and was restarted: SQLITE_INTERRUPT');
      }
      Atomics.wait(flag, 0, seen, left);
    }
  }

  /** Forget the host's connection to `file` (the object closed); nothing to wait for. */
  close(file: string): void {
    this.#port?.postMessage({ id: this.#next++, op: 'close', file });
  }
}

export const sqlRunner = new SqlRunner();
