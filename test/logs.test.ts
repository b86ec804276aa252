// Logs: one structured line per request (ray id, PoP, worker, status, cache status, duration,
// trace id), the worker's console lines tagged with the request's ray id, and the JSON format.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { consoleObserver } from '../src/observability/index.ts';
import { startFixture, type TestDev } from './helpers.ts';

describe('request logs', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('tracing');
  });
  after(() => dev.close());

  it('one line per request, joined to its console lines by the ray id', async () => {
    const trace = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`${dev.url}/log?n=7`, {
      headers: { traceparent: `00-${trace}-b7ad6b7169203331-01` },
    });
    assert.equal(await res.text(), 'logged');
    const ray = res.headers.get('cf-ray');
    assert.match(ray ?? '', /^[0-9a-f]{16}-DEV$/);
    const deadline = Date.now() + 2000;
    const line = () => dev.logs.find((l) => l.source === 'request' && l.fields?.ray === ray);
    while (!line() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const entry = line();
    assert.equal(entry?.message, 'GET /log 200');
    assert.equal(entry?.level, 'info');
    assert.deepEqual(
      { ...entry?.fields, ms: typeof entry?.fields?.ms },
      { ray, pop: 'DEV', worker: 'traced', status: 200, cache: 'none', ms: 'number', bytes: 6, trace },
    );
    const consoleLine = dev.logs.find(
      (l) => l.source === 'worker:traced' && l.message.includes('log-marker 7'),
    );
    assert.equal(consoleLine?.fields?.request, ray);
  });

  it('a WebSocket upgrade has its line, with status 101', async () => {
    const ws = new WebSocket(`${dev.url.replace('http', 'ws')}/ws`);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    assert.equal(echoed, 'echo hi');
    ws.close();
    const line = await (async () => {
      const deadline = Date.now() + 2000;
      for (;;) {
        const l = dev.logs.find((x) => x.source === 'request' && x.message === 'GET /ws 101');
        if (l || Date.now() > deadline) return l;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    assert.equal(line?.fields?.status, 101);
    assert.equal(line?.fields?.worker, 'traced');
  });

  it('a failed request says why', async () => {
    const res = await fetch(`${dev.url}/fail`);
    assert.equal(res.status, 500);
    const ray = res.headers.get('cf-ray');
    await res.text();
    const deadline = Date.now() + 2000;
    const line = () => dev.logs.find((l) => l.source === 'request' && l.fields?.ray === ray);
    while (!line() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(line()?.fields?.status, 500);
    assert.match(String(line()?.fields?.error), /traced failure/);
  });
});

describe('--log-format', () => {
  function capture(run: () => void): { out: string; err: string } {
    const out: string[] = [];
    const err: string[] = [];
    const [o, e] = [process.stdout.write, process.stderr.write];
    process.stdout.write = ((c: string) => out.push(c) > 0) as typeof process.stdout.write;
    process.stderr.write = ((c: string) => err.push(c) > 0) as typeof process.stderr.write;
    try {
      run();
    } finally {
      process.stdout.write = o;
      process.stderr.write = e;
    }
    return { out: out.join(''), err: err.join('') };
  }
  const request = {
    level: 'info' as const,
    source: 'request',
    message: 'GET /a 200',
    fields: {
      ray: '0123456789abcdef-FRA',
      pop: 'FRA',
      worker: 'shop',
      status: 200,
      cache: 'HIT',
      ms: 3.14,
      bytes: 9,
    },
  };

  it('json: one object per line with time, level, source, message and the fields', () => {
    const { out } = capture(() => {
      const o = consoleObserver('info', 'json');
      o.log(request);
      o.log({
        level: 'warn',
        source: 'worker:shop',
        message: 'careful',
        fields: { request: '0123456789abcdef-FRA' },
      });
      o.log({ level: 'debug', source: 'outpost', message: 'hidden' });
    });
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(
      { ...lines[0], time: 0 },
      { time: 0, level: 'info', source: 'request', message: 'GET /a 200', ...request.fields },
    );
    assert.deepEqual(
      { ...lines[1], time: 0 },
      { time: 0, level: 'warn', source: 'worker:shop', message: 'careful', request: '0123456789abcdef-FRA' },
    );
  });

  it('pretty: a request on one short line; warnings to stderr', () => {
    const { out, err } = capture(() => {
      const o = consoleObserver('info', 'pretty');
      o.log(request);
      o.log({ level: 'warn', source: 'outpost', message: 'careful' });
    });
    assert.equal(out, '[request] GET /a 200 (3.1 ms, HIT, FRA, ray 0123456789abcdef-FRA)\n');
    assert.equal(err, '[outpost] warn: careful\n');
  });
});
