/**
 * The SQL host (sql-host.ts) for callers that can wait without blocking: D1, whose API is
 * asynchronous. sql-runner.ts serves Durable Objects' synchronous SQL through a relay thread
 * so the main thread can sleep in Atomics.wait; an asynchronous caller needs neither the
 * relay nor the one-statement-at-a-time wait, so this talks to a host process directly and
 * keeps several requests in flight (pipelined): the host answers them in order, one after the
 * other, while the main thread serves other requests.
 *
 * Time limits hold per request: the clock of the request at the head of the line starts when
 * the one before it is answered, and one past its time kills the process (SQLite cannot be
 * interrupted otherwise, see sql-runner.ts); it fails with SQLITE_INTERRUPT, and the requests
 * behind it, which had not started, are sent again to a new process. A process that dies
 * (RLIMIT_DATA) fails only the request it was running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { DO_LIMITS, StorageError } from './limits.ts';
import type { BatchResult, HostRequest } from './sql-host.ts';
import { hostCommand } from './sql-runner.ts';

interface Reply {
  id: number;
  ok: boolean;
  r?: BatchResult[];
  e?: string;
}

interface Pending {
  msg: HostRequest & { timeoutMs: number };
  resolve(v: { results: BatchResult[]; ms: number }): void;
  reject(e: Error): void;
}

/** Requests sent to the process before their turn (the rest wait here). */
const IN_FLIGHT_MAX = 32;

export class AsyncSqlHost {
  #proc: ChildProcess | null = null;
  #ready = false;
  /** Sent to the current process, in the order it answers them. */
  #sent: Pending[] = [];
  #waiting: Pending[] = [];
  #headTimer: NodeJS.Timeout | null = null;
  #headStarted = 0;
  #next = 1;
  #failures = 0;
  #closed = false;

  batch(
    file: string,
    statements: [string, unknown[]][],
    timeoutMs: number,
    maxBytes: number,
    maxResultBytes?: number,
  ): Promise<{ results: BatchResult[]; ms: number }> {
    if (this.#closed) return Promise.reject(new StorageError('D1 is closed: SQLITE_MISUSE'));
    return new Promise((resolve, reject) => {
      this.#waiting.push({
        msg: { id: this.#next++, op: 'batch', file, statements, maxBytes, timeoutMs, maxResultBytes },
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  close(): void {
    this.#closed = true;
    for (const p of [...this.#sent, ...this.#waiting])
      p.reject(new StorageError('D1 is closed: SQLITE_MISUSE'));
    this.#sent = [];
    this.#waiting = [];
    this.#kill();
  }

  #spawn(): void {
    const { execPath, args } = hostCommand();
    const env: Record<string, string | undefined> = { ...process.env, OUTPOST_SQL_HOST: '1' };
    delete env.OUTPOST_SQL_SYNCHRONOUS; // D1 commits with synchronous=FULL (sql-host.ts)
    delete env.NODE_TEST_CONTEXT;
    const dataKb = Math.floor(DO_LIMITS.SQL_HOST_DATA_BYTES / 1024);
    const proc = spawn('/bin/sh', ['-c', `ulimit -d ${dataKb} && exec "$0" "$@"`, execPath, ...args], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env,
    });
    this.#proc = proc;
    this.#ready = false;
    proc.on('message', (m: { ready?: boolean } & Reply) => {
      if (this.#proc !== proc) return;
      if (m.ready) {
        this.#ready = true;
        this.#failures = 0;
        this.#pump();
        return;
      }
      const head = this.#sent[0];
      if (!head || head.msg.id !== m.id) return;
      this.#sent.shift();
      const ms = Date.now() - this.#headStarted;
      if (m.ok) head.resolve({ results: m.r as BatchResult[], ms });
      else head.reject(new StorageError(String(m.e)));
      this.#startHead();
      this.#pump();
    });
    const gone = () => {
      if (this.#proc !== proc) return;
      this.#proc = null;
      this.#clearHead();
      if (!this.#ready) {
        // It never started: fail what waits rather than spin.
        this.#failures++;
        for (const p of [...this.#sent.splice(0), ...(this.#failures > 3 ? this.#waiting.splice(0) : [])])
          p.reject(new StorageError('SQL host process failed to start: SQLITE_CANTOPEN'));
      } else {
        const head = this.#sent.shift();
        head?.reject(
          new StorageError(
            'SQL host process ended while running the statement (out of memory?): SQLITE_NOMEM',
          ),
        );
      }
      // What was sent behind the head had not started: sent again to the next process.
      this.#waiting.unshift(...this.#sent.splice(0));
      if (this.#waiting.length && !this.#closed) this.#pump();
    };
    proc.on('exit', gone);
    proc.on('error', gone);
  }

  #pump(): void {
    if (this.#closed || this.#waiting.length === 0) {
      if (this.#sent.length === 0 && this.#proc) {
        this.#proc.unref();
        (this.#proc.channel as { unref?: () => void } | undefined)?.unref?.();
      }
      return;
    }
    if (!this.#proc) this.#spawn();
    const proc = this.#proc as ChildProcess;
    proc.ref();
    (proc.channel as { ref?: () => void } | undefined)?.ref?.();
    if (!this.#ready) return;
    while (this.#waiting.length && this.#sent.length < IN_FLIGHT_MAX) {
      const p = this.#waiting.shift() as Pending;
      this.#sent.push(p);
      proc.send(p.msg);
      if (this.#sent.length === 1) this.#startHead();
    }
  }

  /** The request at the head of the line starts its clock now. */
  #startHead(): void {
    this.#clearHead();
    const head = this.#sent[0];
    if (!head) return;
    this.#headStarted = Date.now();
    this.#headTimer = setTimeout(() => {
      if (this.#sent[0] !== head) return;
      this.#sent.shift();
      head.reject(
        new StorageError(
          `D1 query exceeded its time limit of ${head.msg.timeoutMs} ms and was interrupted: SQLITE_INTERRUPT`,
        ),
      );
      const proc = this.#proc;
      this.#proc = null;
      this.#waiting.unshift(...this.#sent.splice(0));
      try {
        proc?.kill('SIGKILL');
      } catch {}
      this.#pump();
    }, head.msg.timeoutMs);
    this.#headTimer.unref();
  }

  #clearHead(): void {
    if (this.#headTimer) clearTimeout(this.#headTimer);
    this.#headTimer = null;
  }

  #kill(): void {
    this.#clearHead();
    const proc = this.#proc;
    this.#proc = null;
    try {
      proc?.kill('SIGKILL');
    } catch {}
  }
}
