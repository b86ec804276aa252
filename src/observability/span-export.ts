/**
 * Where the tracer's batches go. `ThreadSink`: the OTLP/HTTP exporter in a worker thread
 * (export-thread.ts, started with the tracer), so that neither the protobuf serialisation nor
 * the exporter's HTTP client runs on the thread that serves requests — why, see the top of
 * export-thread.ts. `DirectSink`: an in-process SpanExporter (tests), given the same
 * OpenTelemetry spans the thread would make.
 *
 * Memory stays bounded however the collector behaves: the tracer posts at most two batches at a
 * time (its in-flight limit) and the thread's heap is capped; a thread that dies fails its
 * batches (the tracer counts them as dropped) and the next batch starts another.
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

/** The export thread's heap at most, MB (it holds at most two batches and the exporter). */
const THREAD_HEAP_MB = 128;
/** After the thread failed to start, batches fail at once for this long, ms (no start loop). */
const RESTART_AFTER_MS = 5000;

export class ThreadSink implements SpanSink {
  #worker: Worker | null = null;
  #starting: Promise<Worker> | null = null;
  #failedAt = -Infinity;
  #startError = '';
  #next = 1;
  readonly #pending = new Map<number, (ok: boolean, error?: string) => void>();
  #onShutdown: (() => void) | null = null;
  #closed = false;

  /**
   * Starts the thread at once: its one-time start (loading the exporter, ~100 ms of CPU) happens
   * while the process starts rather than while it serves, and the first batch does not wait.
   */
  constructor(readonly config: ExportConfig) {
    this.#start().catch(() => {});
  }

  export(batch: SpanData[], done: (ok: boolean, error?: string) => void): void {
    if (this.#closed) {
      done(false, 'the tracer is closed');
      return;
    }
    if (this.#worker === null && performance.now() - this.#failedAt < RESTART_AFTER_MS) {
      done(false, this.#startError);
      return;
    }
    const id = this.#next++;
    this.#pending.set(id, done);
    const worker = this.#worker;
    if (worker) {
      worker.postMessage({ id, spans: batch });
      return;
    }
    this.#start().then(
      (w) => w.postMessage({ id, spans: batch }),
      (e: Error) => this.#settle(id, false, e.message),
    );
  }

  async shutdown(waitMs: number): Promise<void> {
    this.#closed = true;
    const worker = this.#worker ?? (await this.#starting?.catch(() => null)) ?? null;
    if (!worker) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#onShutdown = resolve;
      worker.postMessage({ shutdown: true });
      timer = setTimeout(resolve, waitMs);
    });
    clearTimeout(timer);
    await worker.terminate();
  }

  #start(): Promise<Worker> {
    this.#starting ??= threadEntry()
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
        worker.unref();
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
          for (const id of [...this.#pending.keys()]) this.#settle(id, false, why);
        });
        this.#worker = worker;
        return worker;
      })
      .catch((e: Error) => {
        this.#starting = null;
        this.#failedAt = performance.now();
        this.#startError = `the export thread could not start: ${e.message}`;
        throw new Error(this.#startError);
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
async function threadEntry(): Promise<{ file: string; code?: string }> {
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
