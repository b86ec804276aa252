/**
 * Group commit for an object's local SQLite file: the output gate's wait for the disk.
 *
 * A commit (WAL mode, synchronous=NORMAL) is in the operating system's hands when it returns:
 * it survives the process being killed (kill -9), not the machine losing power. Before anything
 * the object says leaves (a response, an RPC result, an exception, a WebSocket message), the WAL
 * must also be on the disk. With synchronous=FULL SQLite did that inside each commit: one fsync
 * per commit, on the host's main thread, every other tenant waiting meanwhile. Here the fsync is
 * made on libuv's thread pool instead, and covers every commit made before it started: concurrent
 * events of a busy object (and its WebSocket messages) share one fsync, as Cloudflare's output
 * gate coalesces writes. An output made while one is in flight waits for the next.
 *
 * fsync on any descriptor of a file flushes the file (Linux, POSIX), so a descriptor of our own
 * on the WAL file does. SQLite keeps the WAL file (same inode) while a connection is open; a
 * checkpoint copies it into the database file and syncs that file itself (synchronous=NORMAL).
 * A failed fsync fails that wait and every later one: the object's answers are withheld, as when
 * a replicated object's journal fails (cluster/replicated.ts), since what the disk kept after an
 * fsync error is unknown.
 */
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';

export class WalSync {
  /** Commits made, and commits covered by a completed fsync. */
  #written = 0;
  #synced = 0;
  #inFlight = false;
  #fd: number | null = null;
  #failed: Error | null = null;
  #closed = false;
  #waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** fsyncs made (tests, stats). */
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
    return new Promise((resolve, reject) => {
      this.#waiters.push({ upTo, resolve, reject });
      this.#start();
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

  #start(): void {
    if (this.#inFlight || this.#closed || this.#waiters.length === 0) return;
    const upTo = this.#written;
    let fd: number;
    try {
      fd = this.#descriptor();
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    this.#inFlight = true;
    this.syncs++;
    fsync(fd, (err) => {
      this.#inFlight = false;
      if (this.#closed) this.#release();
      else if (err) this.#fail(err);
      else {
        this.#covered(upTo);
        this.#start();
      }
    });
  }

  #covered(upTo: number): void {
    if (upTo > this.#synced) this.#synced = upTo;
    const done = this.#waiters.filter((w) => w.upTo <= this.#synced);
    this.#waiters = this.#waiters.filter((w) => w.upTo > this.#synced);
    for (const w of done) w.resolve();
  }

  #fail(err: Error): void {
    this.#failed = new Error(`the object's storage could not be written to disk: ${err.message}`);
    for (const w of this.#waiters.splice(0)) w.reject(this.#failed);
  }

  #release(): void {
    if (this.#fd !== null && !this.#inFlight) {
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
    if (this.#waiters.length > 0 || this.#synced < this.#written)
      try {
        fsyncSync(this.#descriptor());
        this.syncs++;
        this.#covered(this.#written);
      } catch (err) {
        this.#fail(err as Error);
      }
    this.#closed = true;
    this.#release();
  }
}
