/**
 * Group commit for an object's local SQLite file: the output gate's wait for the disk.
 *
 * A commit (WAL mode, synchronous=NORMAL) is in the operating system's hands when it returns:
 * it survives the process being killed (kill -9), not the machine losing power. Before anything
 * the object says leaves — a response, an RPC result, an exception, a WebSocket message or
 * close, a subrequest, a call to a binding (output-gate.ts) — the WAL must also be on the disk.
 * With synchronous=FULL SQLite did that inside each commit: one fsync per commit, on the host's
 * main thread, every other tenant waiting meanwhile. Here the fsync is made on libuv's thread
 * pool instead and covers every commit made before it started: concurrent events of a busy
 * object share one fsync, as Cloudflare's output gate coalesces writes. An output made while one
 * is in flight waits for the next.
 *
 * The pool is shared with crypto, DNS and file reads, and a started fsync cannot be cancelled,
 * so the process runs at most FSYNC_SLOTS fsyncs at once (src/config/thread-pool.ts), objects
 * taking turns in order; each turn covers every commit its object made until then, so a queue
 * of turns coalesces more, not less.
 *
 * fsync on any descriptor of a file flushes the file (Linux, POSIX), so a descriptor of our own
 * on the WAL file does. SQLite keeps the WAL file (same inode) while a connection is open; a
 * checkpoint copies it into the database file and syncs that file itself (synchronous=NORMAL).
 * The first sync also syncs the folder, so that a WAL file created since is found after a power
 * loss (what SQLite's FULL mode does for a new journal). A failed fsync fails that wait and every
 * later one: the object's outputs are withheld, as when a replicated object's journal fails
 * (cluster/replicated.ts), since what the disk kept after an fsync error is unknown. Failing to
 * open the file (too many open files) withholds only what waited: the next output tries again.
 */
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { FSYNC_SLOTS } from '../config/thread-pool.ts';

/** How a descriptor is synced (tests put a slow or failing one in its place). */
export const disk = {
  fsync: fsync as (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void,
};

let running = 0;
const turns: (() => void)[] = [];

function turn(start: () => void): void {
  if (running < FSYNC_SLOTS) {
    running++;
    start();
  } else turns.push(start);
}

function done(): void {
  const next = turns.shift();
  // The slot passes to the next turn in a microtask: a turn that ends at once (its object closed
  // while it waited) calls done() again, which must not grow the stack with the queue.
  if (next) queueMicrotask(next);
  else running--;
}

export class WalSync {
  /** Commits made, and commits covered by a completed fsync. */
  #written = 0;
  #synced = 0;
  /** A turn is asked for or an fsync is in flight. */
  #busy = false;
  #fd: number | null = null;
  #folderSynced = false;
  #failed: Error | null = null;
  #closed = false;
  #waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** fsyncs made for this file (tests, stats). */
  syncs = 0;

  constructor(
    /** The database file; its WAL is `${file}-wal`. */
    readonly file: string,
  ) {}

  /** A transaction was committed to the WAL. */
  committed(): void {
    this.#written++;
  }

  /** Whether an output now must wait for the disk. */
  get pending(): boolean {
    return this.#failed !== null || this.#synced < this.#written;
  }

  /** Resolves once every commit made so far is on the disk. */
  confirm(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    const upTo = this.#written;
    if (this.#synced >= upTo) return Promise.resolve();
    if (this.#closed)
      return Promise.reject(new Error("the object's storage was closed before it was on the disk"));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ upTo, resolve, reject });
      this.#ask();
    });
  }

  #descriptor(): number {
    if (this.#fd === null) {
      try {
        this.#fd = openSync(`${this.file}-wal`, 'r');
      } catch (err) {
        // No WAL (checkpointed and removed): what was committed is in the database file.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.#fd = openSync(this.file, 'r');
      }
    }
    return this.#fd;
  }

  #ask(): void {
    if (this.#busy || this.#closed || this.#waiters.length === 0) return;
    this.#busy = true;
    turn(() => this.#sync());
  }

  /** Our turn: one fsync covering every commit made until now (and the folder, the first time). */
  #sync(): void {
    if (this.#closed || this.#failed || this.#waiters.length === 0) {
      this.#busy = false;
      done();
      this.#release();
      return;
    }
    const upTo = this.#written;
    let fd: number;
    let folder: number | null = null;
    try {
      fd = this.#descriptor();
      if (!this.#folderSynced) folder = openSync(dirname(this.file), 'r');
    } catch (err) {
      // Opening the file failed (too many open files…): what waited is withheld, but nothing
      // is known to be lost, so the next output tries again (only a failed fsync sticks).
      this.#busy = false;
      done();
      this.#withhold(err as NodeJS.ErrnoException);
      return;
    }
    this.syncs++;
    const finish = (err: NodeJS.ErrnoException | null) => {
      this.#busy = false;
      done();
      if (err) this.#fail(err);
      else {
        this.#covered(upTo);
        this.#ask();
      }
      this.#release();
    };
    disk.fsync(fd, (err) => {
      if (err || folder === null) return finish(err);
      const f = folder;
      disk.fsync(f, (e) => {
        closeSync(f);
        if (!e) this.#folderSynced = true;
        finish(e);
      });
    });
  }

  #covered(upTo: number): void {
    if (upTo > this.#synced) this.#synced = upTo;
    const ready = this.#waiters.filter((w) => w.upTo <= this.#synced);
    this.#waiters = this.#waiters.filter((w) => w.upTo > this.#synced);
    for (const w of ready) w.resolve();
  }

  /** What waits now is withheld with `err`; later outputs try again. */
  #withhold(err: NodeJS.ErrnoException): void {
    const e = new Error(`the object's storage could not be written to disk (${err.code ?? 'I/O error'})`);
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }

  /** An fsync failed: this and every later output are withheld, and the owner is told once. */
  #fail(err: NodeJS.ErrnoException): void {
    if (this.#failed) return;
    // What reaches tenant code names the error, not the host's paths; the log has it all.
    this.#failed = new Error(
      `the object's storage could not be written to disk (${err.code ?? 'I/O error'})`,
    );
    this.#cause = err;
    for (const w of this.#waiters.splice(0)) w.reject(this.#failed);
    this.#onFailure?.(err);
  }

  #cause: Error | null = null;
  #onFailure: ((err: Error) => void) | null = null;
  /**
   * `f` is called once with the first failure (at once if it already happened): objects.ts
   * then takes the object out of service.
   */
  onFailure(f: (err: Error) => void): void {
    this.#onFailure = f;
    if (this.#cause) f(this.#cause);
  }

  /** After close, the descriptor goes once no fsync holds it. */
  #release(): void {
    if (this.#closed && this.#fd !== null && !this.#busy) {
      closeSync(this.#fd);
      this.#fd = null;
    }
  }

  /**
   * The database is closing: what is still waiting is synced now, once, synchronously (another
   * connection, the SQL host's, may keep the WAL from being checkpointed by this close).
   */
  close(): void {
    if (this.#closed) return;
    if (!this.#failed && (this.#waiters.length > 0 || this.#synced < this.#written)) {
      let fd: number | null = null;
      try {
        fd = this.#descriptor();
      } catch (err) {
        this.#withhold(err as NodeJS.ErrnoException);
      }
      if (fd !== null)
        try {
          fsyncSync(fd);
          this.syncs++;
          this.#covered(this.#written);
        } catch (err) {
          this.#fail(err as NodeJS.ErrnoException);
        }
    }
    this.#closed = true;
    this.#release();
  }
}
