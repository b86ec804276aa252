// Streaming edge rendering (examples/react-streaming): React's renderToReadableStream in the
// isolate sends the shell — with the visitor's geo from request.cf — before the personalised
// data exists, and the Suspense content afterwards in the same response; `?mode=buffered`
// sends nothing until everything has rendered.
//
// Two gates hold the data back: the example's `?delay=ms` (a timer in the isolate), and an
// origin this file runs, which answers the recommendations only when a test releases them, so
// "the shell arrived before the data" is checked without relying on timing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleWorker } from '../src/runtime/index.ts';
import { startFixture, startUpstream, type TestDev, type Upstream, waitFor } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples', 'react-streaming');
const DELAY = 1500;
/** The shell: everything up to the header with the visitor's geo (devCf: San Francisco, US). */
const SHELL = /<header id="geo">.*San Francisco, US\..*<\/header>/s;

interface Timed {
  status: number;
  /** ms from sending the request to the response headers, the first body byte, the end. */
  headersMs: number;
  firstMs: number;
  endMs: number;
  first: string;
  body: string;
}

interface Watch {
  onHeaders?: () => void;
  onChunk?: (soFar: string) => void;
}

/** GET `url`, noting when the headers, the first body chunk and the end arrive. */
function timedGet(url: string, { onHeaders, onChunk }: Watch = {}): Promise<Timed> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const headersMs = performance.now() - t0;
      onHeaders?.();
      let firstMs = -1;
      let first = '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (firstMs < 0) [firstMs, first] = [performance.now() - t0, c];
        body += c;
        onChunk?.(body);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headersMs,
          firstMs,
          endMs: performance.now() - t0,
          first,
          body,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} in 10 s`)));
  });
}

/** Start the example as `outpost dev --build-root <repo>` would, its KV in a temp folder. */
async function startExample(): Promise<{ dev: TestDev; cleanup(): Promise<void> }> {
  const kvDir = mkdtempSync(join(tmpdir(), 'outpost-react-streaming-'));
  // react and react-dom come from the repository's node_modules, above the example's folder.
  const dev = await startFixture(EXAMPLE, { buildRoot: ROOT, kv: { file: join(kvDir, 'kv.sqlite') } });
  return {
    dev,
    cleanup: async () => {
      await dev.close();
      rmSync(kvDir, { recursive: true, force: true });
    },
  };
}

describe('React streaming at the edge, data delayed by ?delay=ms', { timeout: 60_000 }, () => {
  let example: Awaited<ReturnType<typeof startExample>>;
  before(async () => {
    example = await startExample();
    // The first request compiles React's 500 KB bundle; the timings below are of a warm isolate.
    assert.equal((await timedGet(`${example.dev.url}/?delay=0`)).status, 200);
  });
  after(() => example?.cleanup());

  it('sends the shell at once and the Suspense content after the delay', async () => {
    const r = await timedGet(`${example.dev.url}/?delay=${DELAY}`);
    assert.equal(r.status, 200);
    assert.match(r.first, SHELL);
    assert.match(r.first, /Loading your profile…/);
    assert.doesNotMatch(r.first, /id="greeting"|id="recommendations"/, 'the first chunk waited for the data');
    // Half the delay is a wide margin: a warm render answers in milliseconds.
    assert.ok(r.firstMs < DELAY / 2, `first byte after ${r.firstMs.toFixed(0)} ms`);
    assert.match(r.body, /<p id="greeting">Welcome back, guest \(free plan\)\.<\/p>/);
    assert.match(r.body, /<ul id="recommendations"><li><b>Edge caching in practice<\/b>/);
    assert.match(r.body, /\$RC\("B:1","S:1"\)<\/script><\/body><\/html>$/);
    // Timers never fire early; 20 ms of slack for the clocks of two processes.
    assert.ok(r.endMs >= DELAY - 20, `the page ended after ${r.endMs.toFixed(0)} ms`);
  });

  it('buffered mode sends its first byte only once the data is there, with no fallbacks', async () => {
    const r = await timedGet(`${example.dev.url}/?delay=${DELAY}&mode=buffered`);
    assert.equal(r.status, 200);
    assert.ok(r.firstMs >= DELAY - 20, `first byte after ${r.firstMs.toFixed(0)} ms`);
    assert.match(r.first, SHELL);
    // Rendered complete before the first pull: content in place, no fallback, no swap script.
    assert.match(r.body, /<p id="greeting">Welcome back, guest/);
    assert.match(r.body, /<ul id="recommendations">/);
    assert.doesNotMatch(r.body, /Loading your profile|\$RC/);
  });

  it('clamps a delay that is not a number to the default', async () => {
    const r = await timedGet(`${example.dev.url}/?delay=soon`);
    assert.equal(r.status, 200);
    assert.match(r.body, /id="recommendations"/);
  });
});

describe('React streaming at the edge, data from KV and a gated origin', { timeout: 60_000 }, () => {
  let example: Awaited<ReturnType<typeof startExample>>;
  let origin: Upstream;
  /** Recommendations requests the origin holds until a test releases them. */
  const held: ServerResponse[] = [];
  const release = () => {
    for (const res of held.splice(0)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ title: 'From the gated origin', reason: 'released by the test' }]));
    }
  };

  before(async () => {
    origin = await startUpstream();
    origin.routes.set('/recommendations', (_req, res) => void held.push(res));
    example = await startExample();
    const { dev } = example;
    // The same project with API_ORIGIN pointing at this file's origin: the config's vars as a
    // deploy sees them (there is no command-line override of vars).
    const config = { ...dev.config, vars: { ...dev.config.vars, API_ORIGIN: origin.url } };
    dev.runtime.deploy(config.name, await bundleWorker(config, { root: ROOT }), config, { cpuMs: 1000 });
    await dev.runtime.warm(config.name);
    const profile = { name: 'Ada', plan: 'team' };
    await dev.runtime.kv?.put(
      'react-streaming-profiles',
      'user:ada',
      new TextEncoder().encode(JSON.stringify(profile)),
    );
  });
  after(async () => {
    release();
    await example?.cleanup();
    await origin?.close();
  });

  it('the shell arrives while the origin still holds the recommendations', async () => {
    let soFar = '';
    const page = timedGet(`${example.dev.url}/?user=ada&delay=0`, { onChunk: (b) => (soFar = b) });
    // Nothing is released until the shell is here: a page that waited for its data never gets
    // this far, and fails on the timeout.
    await waitFor(() => SHELL.test(soFar), 5000, 'the shell');
    await waitFor(() => held.length === 1, 5000, 'the origin request');
    assert.doesNotMatch(soFar, /id="recommendations"/);
    assert.match(soFar, /Loading recommendations…/);
    release();
    const r = await page;
    assert.equal(r.status, 200);
    // The profile came from KV; the recommendations from the origin, after their fallback.
    assert.match(r.body, /Welcome back, Ada \(team plan\)\./);
    const fallback = r.body.indexOf('Loading recommendations…');
    const content = r.body.indexOf('<li><b>From the gated origin</b> — released by the test</li>');
    assert.ok(fallback >= 0 && content > fallback, 'the content follows its fallback');
  });

  it('buffered mode sends nothing, not even headers, until the origin answers', async () => {
    let answered = false;
    const page = timedGet(`${example.dev.url}/?user=ada&delay=0&mode=buffered`, {
      onHeaders: () => (answered = true),
    });
    await waitFor(() => held.length === 1, 5000, 'the origin request');
    // The shell took milliseconds above; give it ten times that and see nothing come.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(answered, false, 'the buffered page answered before its data');
    release();
    const r = await page;
    assert.match(r.first, SHELL);
    assert.match(r.body, /Welcome back, Ada.*From the gated origin/s);
    assert.doesNotMatch(r.body, /Loading/);
  });
});
