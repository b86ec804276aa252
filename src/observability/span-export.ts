/**
 * Where the tracer's batches go. `ThreadSink`: the OTLP/HTTP exporter in a worker thread
 * (export-thread.ts, started with the tracer), so that neither the protobuf serialisation nor
 * the exporter's HTTP client runs on the thread that serves requests — why, see the top of
 * export-thread.ts. `DirectSink`: an in-process SpanExporter (tests), given the same
 * OpenTelemetry spans the thread would make.
 *
 * Memory stays bounded however the collector behaves: the tracer posts at most two batches at a
 * time (its in-flight limit), each bounded in spans and in bytes, and the thread's old
 * generation is capped; a thread that dies fails its batches (the tracer counts them as
 * dropped), and batches fail at once for five seconds before another is started.
 */

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import type * as Resources from '@opentelemetry/resources';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { type ExportConfig, resourceAttributes, type SpanData, toReadable } from './otlp-span.ts';

/** Receives batches of kept spans. */
export interface SpanSink {
  /** Sends one batch; `done` is called once, with whether it was delivered (and why not). */
  export(batch: SpanData[], done: (ok: boolean, error?: string) => void): void;
  /** Sends nothing more; resolves once the exporter stopped, or after `waitMs` (then it is stopped). */
  shutdown(waitMs: number): Promise<void>;
}

/** CommonJS require for what loads only when used. */
const lazy = createRequire(import.meta.url);

/**
 * The export thread's old generation at most, MB. It holds at most two batches (the tracer's
 * in-flight limit), each at most MAX_BATCH_BYTES of attributes (tracer.ts), and the exporter.
 */
const THREAD_HEAP_MB = 128;
/** After the thread failed to start or died, batches fail at once for this long, ms (no start loop). */
const RESTART_AFTER_MS = 5000;

/** The thread's code: a file, or CommonJS source to evaluate (from the TypeScript sources). */
export interface ThreadEntry {
  file: string;
  code?: string;
}

export class ThreadSink implements SpanSink {
  #worker: Worker | null = null;
  #starting: Promise<Worker> | null = null;
  #failedAt = -Infinity;
  #failure = '';
  #next = 1;
  readonly #pending = new Map<number, (ok: boolean, error?: string) => void>();
  #onShutdown: (() => void) | null = null;
  #shutdown: Promise<void> | null = null;

  /**
   * Starts the thread at once: its one-time start (loading the exporter, ~100 ms of CPU) happens
   * while the process starts rather than while it serves, and the first batch does not wait.
   * `entry`: the thread's code (tests); default, export-thread.ts as this build has it.
   */
  constructor(
    readonly config: ExportConfig,
    readonly entry: () => Promise<ThreadEntry> = threadEntry,
  ) {
    this.#start().catch(() => {});
  }

  export(batch: SpanData[], done: (ok: boolean, error?: string) => void): void {
    if (this.#shutdown) {
      done(false, 'the tracer is closed');
      return;
    }
    // A thread that failed to start or died is not started again at once: every batch would
    // start one (and a thread that dies on its first batch would spin).
    if (this.#worker === null && performance.now() - this.#failedAt < RESTART_AFTER_MS) {
      done(false, this.#failure);
      return;
    }
    const id = this.#next++;
    this.#pending.set(id, done);
    const worker = this.#worker;
    if (worker) this.#post(worker, id, batch);
    else
      this.#start().then(
        (w) => this.#post(w, id, batch),
        (e: Error) => this.#settle(id, false, e.message),
      );
  }

  #post(worker: Worker, id: number, batch: SpanData[]): void {
    try {
      worker.postMessage({ id, spans: batch });
    } catch (e) {
      this.#settle(id, false, `the batch could not be sent to the export thread: ${(e as Error).message}`);
    }
  }

  shutdown(waitMs: number): Promise<void> {
    this.#shutdown ??= this.#stop(waitMs);
    return this.#shutdown;
  }

  async #stop(waitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), waitMs);
    });
    try {
      const worker =
        this.#worker ??
        (this.#starting ? await Promise.race([this.#starting.catch(() => null), deadline]) : null);
      if (!worker) return;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.#onShutdown = resolve;
          worker.postMessage({ shutdown: true });
        }),
        deadline,
      ]);
      await worker.terminate();
    } finally {
      clearTimeout(timer);
    }
  }

  #start(): Promise<Worker> {
    this.#starting ??= this.entry()
      .then((entry) => {
        const worker = new Worker(entry.code ?? entry.file, {
          eval: entry.code !== undefined,
          workerData: this.config,
          // Not the parent's flags: no TypeScript loader, no --expose-gc, nothing the exporter needs.
          execArgv: [],
          resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
          stdout: false,
          stderr: false,
        });
        let crash = '';
        worker.on('message', (m: { id: number; ok: boolean; error?: string } | { shutdown: true }) => {
          if ('shutdown' in m) this.#onShutdown?.();
          else this.#settle(m.id, m.ok, m.error);
        });
        worker.on('error', (e) => {
          crash = e.message;
        });
        worker.on('exit', (code) => {
          if (this.#worker === worker) this.#worker = null;
          this.#starting = null;
          this.#onShutdown?.();
          const why = `the export thread stopped (${crash || `exit code ${code}`})`;
          if (!this.#shutdown) {
            this.#failedAt = performance.now();
            this.#failure = why;
          }
          for (const id of [...this.#pending.keys()]) this.#settle(id, false, why);
        });
        // After the listeners: adding a 'message' listener refs the worker again. Unreferenced,
        // a tracer nobody closed does not keep its process alive.
        worker.unref();
        this.#worker = worker;
        return worker;
      })
      .catch((e: Error) => {
        this.#starting = null;
        this.#failedAt = performance.now();
        this.#failure = `the export thread could not start: ${e.message}`;
        throw new Error(this.#failure);
      });
    return this.#starting;
  }

  #settle(id: number, ok: boolean, error?: string): void {
    const done = this.#pending.get(id);
    if (!done) return;
    this.#pending.delete(id);
    done(ok, error);
  }
}

/**
 * The export thread's code: its compiled file beside this one (dist/observability/
 * export-thread.js, or dist/cli/export-thread.cjs beside the CLI bundle, scripts/bundle.mjs), or
 * from the TypeScript sources (dev, tests) one CommonJS script esbuild bundles once per process.
 */
let sourceBuild: Promise<string> | null = null;
async function threadEntry(): Promise<ThreadEntry> {
  const here = import.meta.url;
  if (here.endsWith('.cjs')) return { file: fileURLToPath(new URL('./export-thread.cjs', here)) };
  if (!here.endsWith('.ts')) return { file: fileURLToPath(new URL('./export-thread.js', here)) };
  const file = fileURLToPath(new URL('./export-thread.ts', here));
  sourceBuild ??= (lazy('esbuild') as typeof import('esbuild'))
    .build({
      entryPoints: [file],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    })
    .then((out) => out.outputFiles[0].text);
  sourceBuild.catch(() => {
    sourceBuild = null;
  });
  return { file, code: await sourceBuild };
}

/** Exports through a SpanExporter in this thread (tests), as the thread would. */
export class DirectSink implements SpanSink {
  readonly #resource: Resources.Resource;

  constructor(
    readonly exporter: SpanExporter,
    serviceName: string,
  ) {
    const { resourceFromAttributes } = lazy('@opentelemetry/resources') as typeof Resources;
    this.#resource = resourceFromAttributes(resourceAttributes(serviceName));
  }

  export(batch: SpanData[], done: (ok: boolean, error?: string) => void): void {
    this.exporter.export(
      batch.map((d) => toReadable(d, this.#resource)),
      (r) => done(r.code === ExportResultCode.SUCCESS, r.error?.message ?? 'unknown error'),
    );
  }

  async shutdown(waitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exporter.shutdown().catch(() => {}),
      new Promise<void>((r) => {
        timer = setTimeout(r, waitMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}
