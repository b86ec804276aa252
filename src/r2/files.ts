/**
 * Object bodies on disk: one file per single-part object or uploaded part, named by a random
 * id under `<dir>/bodies/`. A write goes to a temporary file that is fsynced and renamed into
 * place (then the folder is fsynced) before its index row commits, so a row never names a
 * missing or partly written file; files no row names — a crash between the two steps, a put
 * whose condition failed — are removed.
 *
 * Readers hold the files they read: a file an overwrite or delete frees while a get() still
 * streams it is removed when that reader finishes (the same process only: another process
 * deleting an object mid-read ends that read with an error). Files no row names are swept at
 * open only once older than a grace period, so a CLI opening the folder never removes a file
 * a running dev server has written and not yet committed.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { R2Body } from './types.ts';

/** Bytes per chunk a body is read in. */
const CHUNK = 64 * 1024;

/** A part of one file: bytes [start, end). */
export interface Piece {
  name: string;
  start: number;
  end: number;
}

export class BodyFiles {
  readonly dir: string;
  readonly #inUse = new Map<string, number>();
  /** Freed while in use: removed when the last reader lets go. */
  readonly #doomed = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Write `bytes` durably; resolves with the new file's name. */
  async write(bytes: Uint8Array): Promise<string> {
    const name = randomUUID();
    const tmp = join(this.dir, `.${name}.tmp`);
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path(name));
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
    await this.#syncDir();
    return name;
  }

  /** The rename itself survives a crash once the folder's entry is on disk. */
  async #syncDir(): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.dir, 'r');
      await fh.sync();
    } catch {
      // Not every platform can fsync a folder; the file itself is already on disk.
    } finally {
      await fh?.close().catch(() => {});
    }
  }

  /** Files no row names any more: gone now (resolves once removed), or once their readers finish. */
  async remove(names: readonly string[]): Promise<void> {
    const now: Promise<void>[] = [];
    for (const name of names) {
      if (this.#inUse.has(name)) this.#doomed.add(name);
      else now.push(rm(this.path(name), { force: true }).catch(() => {}));
    }
    await Promise.all(now);
  }

  acquire(names: readonly string[]): void {
    for (const n of names) this.#inUse.set(n, (this.#inUse.get(n) ?? 0) + 1);
  }

  release(names: readonly string[]): void {
    for (const n of names) {
      const left = (this.#inUse.get(n) ?? 1) - 1;
      if (left > 0) {
        this.#inUse.set(n, left);
        continue;
      }
      this.#inUse.delete(n);
      if (this.#doomed.delete(n)) void this.remove([n]);
    }
  }

  /** Remove files (and temporary files) no row names that are older than `graceMs`. */
  sweep(known: ReadonlySet<string>, graceMs: number, now = Date.now()): number {
    let removed = 0;
    for (const f of readdirSync(this.dir)) {
      if (known.has(f)) continue;
      const p = this.path(f);
      try {
        if (now - statSync(p).mtimeMs < graceMs) continue;
        rmSync(p, { force: true });
        removed++;
      } catch {
        // Gone already (another process swept it).
      }
    }
    return removed;
  }

  /** A body reading `pieces` in order, holding their files until it ends or is cancelled. */
  reader(pieces: Piece[]): R2Body {
    return new FileBody(this, pieces);
  }
}

class FileBody implements R2Body, AsyncIterator<Uint8Array> {
  readonly length: number;
  readonly #files: BodyFiles;
  readonly #pieces: Piece[];
  readonly #names: string[];
  #index = 0;
  #pos = 0;
  #fh: FileHandle | null = null;
  #done = false;
  #iterated = false;

  constructor(files: BodyFiles, pieces: Piece[]) {
    this.#files = files;
    this.#pieces = pieces.filter((p) => p.end > p.start);
    this.length = this.#pieces.reduce((n, p) => n + p.end - p.start, 0);
    this.#names = this.#pieces.map((p) => p.name);
    files.acquire(this.#names);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#iterated) throw new TypeError('an R2 body can be read once');
    this.#iterated = true;
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    try {
      while (!this.#done && this.#index < this.#pieces.length) {
        const piece = this.#pieces[this.#index];
        if (!this.#fh) {
          this.#fh = await open(this.#files.path(piece.name), 'r');
          this.#pos = piece.start;
        }
        if (this.#pos >= piece.end) {
          const fh = this.#fh;
          this.#fh = null;
          this.#index++;
          await fh.close();
          continue;
        }
        const want = Math.min(CHUNK, piece.end - this.#pos);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await this.#fh.read(buf, 0, want, this.#pos);
        if (bytesRead === 0) throw new Error(`R2 body file ${piece.name} is shorter than its index says`);
        this.#pos += bytesRead;
        return { done: false, value: buf.subarray(0, bytesRead) };
      }
    } catch (err) {
      this.#finish();
      throw err;
    }
    this.#finish();
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#finish();
    return { done: true, value: undefined };
  }

  async bytes(): Promise<Uint8Array> {
    const out = new Uint8Array(this.length);
    let at = 0;
    for await (const chunk of this) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return at === out.byteLength ? out : out.subarray(0, at);
  }

  cancel(): void {
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#fh?.close().catch(() => {});
    this.#fh = null;
    this.#files.release(this.#names);
  }
}
