// Live tail: `outpost tail` (the CLI, as a user runs it) gets a worker's console line within a
// second of the request, with its filters and formats; a Tail Worker (tail_consumers, a worker
// exporting only tail()) gets the same events.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, FIXTURES, startFixture, type TestDev } from './helpers.ts';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

/** `outpost tail` as a child process; resolves once it says it is tailing. */
async function tail(
  dev: TestDev,
  args: string[],
): Promise<{ child: ChildProcess; lines: string[]; stop(): void }> {
  const child = spawn(
    process.execPath,
    [
      '--no-node-snapshot',
      '--import',
      'tsx',
      MAIN,
      'tail',
      ...args,
      '--server',
      dev.url,
      '--token',
      dev.adminToken,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    out += d;
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    lines.push(...parts);
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`outpost tail did not start: ${err}`)), 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
      if (err.includes('Tailing')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`outpost tail exited with ${code}: ${err}`)));
  });
  return { child, lines, stop: () => child.kill() };
}

async function until<T>(what: string, get: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('outpost tail', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('tail-producer');
  });
  after(() => dev.close());

  it("gets a worker's console.log within one second, as JSON", async () => {
    const t = await tail(dev, ['tail-producer', '--format', 'json']);
    try {
      const sent = performance.now();
      const res = await fetch(`${dev.url}/?n=41`);
      assert.equal(await res.text(), 'ok');
      const line = await until('the event', () => t.lines.find((l) => l.includes('producer says 41')));
      const ms = performance.now() - sent;
      assert.ok(ms < 1000, `the console line took ${ms.toFixed(0)} ms`);
      const e = JSON.parse(line);
      assert.equal(e.scriptName, 'tail-producer');
      assert.equal(e.outcome, 'ok');
      assert.equal(e.event.request.method, 'GET');
      assert.match(e.event.request.url, /\/\?n=41$/);
      assert.equal(e.event.response.status, 200);
      assert.deepEqual(
        e.logs.map((l: { message: string[]; level: string }) => [l.level, l.message]),
        [['log', ['producer says 41']]],
      );
      assert.equal(e.ray, res.headers.get('cf-ray'));
    } finally {
      t.stop();
    }
  });

  it('filters by status and search, and prints for people', async () => {
    const t = await tail(dev, ['--status', 'error', '--format', 'pretty']);
    try {
      await (await fetch(`${dev.url}/?n=1`)).text();
      const failed = await fetch(`${dev.url}/fail?n=2`);
      assert.equal(failed.status, 500);
      await failed.text();
      await until('the exception', () => t.lines.find((l) => l.includes('producer failure')));
      const text = t.lines.join('\n');
      assert.match(text, /GET http:\/\/127\.0\.0\.1:\d+\/fail\?n=2 - Exception Thrown \(500\) @ /);
      assert.match(text, /\(log\) producer says 2/);
      assert.match(text, /✘ Error: producer failure/);
      assert.doesNotMatch(text, /producer says 1/, 'an ok event passed a --status error filter');
    } finally {
      t.stop();
    }
    const s = await tail(dev, ['--search', 'careful', '--format', 'json']);
    try {
      await (await fetch(`${dev.url}/?n=3`)).text();
      await (await fetch(`${dev.url}/warn?n=4`)).text();
      const line = await until('the warning', () => s.lines.find((l) => l.includes('careful')));
      assert.equal(JSON.parse(line).logs[1].level, 'warn');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(s.lines.filter((l) => l.includes('producer says 3')).length, 0);
    } finally {
      s.stop();
    }
  });

  it('decodes characters split across chunks, and does not let a worker drive the terminal', async () => {
    const t = await tail(dev, ['tail-producer', '--format', 'json']);
    try {
      await (await fetch(`${dev.url}/euro`)).text();
      const line = await until('the long line', () => t.lines.find((l) => l.includes('/euro')));
      const logs = JSON.parse(line).logs.slice(1);
      assert.equal(logs.length, 10);
      assert.ok(
        logs.every((l: { message: string[] }) => l.message[0] === '€'.repeat(5000)),
        'every line came back whole',
      );
    } finally {
      t.stop();
    }
    const p = await tail(dev, ['tail-producer']);
    try {
      await (await fetch(`${dev.url}/escape`)).text();
      await until('the escaped line', () => p.lines.find((l) => l.includes('fake')));
      const text = p.lines.join('\n');
      assert.ok(!text.includes('\u001b'), 'an escape sequence reached the terminal');
      assert.match(text, /\(log\) \\x1b\[2J\n {4}fake \[request\] line/);
    } finally {
      p.stop();
    }
  });

  it('refuses a bad filter, naming it', async () => {
    const res = await fetch(`${dev.url}/__outpost/tail?status=maybe`, {
      headers: { authorization: `Bearer ${dev.adminToken}` },
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: { message: string }[] };
    assert.equal(body.errors[0].message, 'status must be ok, error or canceled, received "maybe"');
  });
});

describe('Tail Workers', () => {
  let dev: TestDev;
  let sink: Server;
  const received: unknown[][] = [];
  let consumer: ReturnType<typeof copyFixture>;
  before(async () => {
    sink = createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      received.push(JSON.parse(body));
      res.end();
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    consumer = copyFixture('tail-consumer');
    const toml = join(consumer.dir, 'wrangler.toml');
    writeFileSync(
      toml,
      readFileSync(toml, 'utf8').replace(
        'SINK = ""',
        `SINK = "http://127.0.0.1:${(sink.address() as AddressInfo).port}/"`,
      ),
    );
    dev = await startFixture(join(FIXTURES, 'tail-producer'), { services: [consumer.dir] });
  });
  after(async () => {
    await dev.close();
    consumer.cleanup();
    await new Promise<void>((r) => sink.close(() => r()));
  });

  it("a worker's tail_consumers get each of its invocations, exceptions included", async () => {
    await (await fetch(`${dev.url}/?n=7`)).text();
    await (await fetch(`${dev.url}/fail?n=8`)).text();
    const events = await until('two tail events', () =>
      received.length >= 2
        ? (received.flat() as {
            outcome: string;
            logs: { message: string[] }[];
            exceptions: { name: string; message: string }[];
            scriptName: string;
          }[])
        : undefined,
    );
    const ok = events.find((e) => e.logs.some((l) => l.message[0] === 'producer says 7'));
    const failed = events.find((e) => e.logs.some((l) => l.message[0] === 'producer says 8'));
    assert.equal(ok?.outcome, 'ok');
    assert.equal(ok?.scriptName, 'tail-producer');
    assert.equal(failed?.outcome, 'exception');
    assert.deepEqual(
      failed?.exceptions.map((x) => [x.name, x.message]),
      [['Error', 'producer failure']],
    );
  });

  it('a worker with only tail() loads, and answers a request with an error that says so', async () => {
    const alone = await startFixture(consumer.dir);
    try {
      const res = await fetch(`${alone.url}/`);
      assert.equal(res.status, 500);
      assert.match(
        await res.text(),
        /This worker has no fetch\(\) handler: its default export has only tail\(\)/,
      );
    } finally {
      await alone.close();
    }
  });
});

describe('a Tail Worker that calls its producer back', () => {
  it('is stopped by the loop limits, not run for ever', async () => {
    const dev = await startFixture(join(FIXTURES, 'tail-loop-a'), {
      services: [join(FIXTURES, 'tail-loop-b')],
    });
    try {
      await (await fetch(`${dev.url}/`)).text();
      const count = () => dev.logs.filter((l) => l.message === 'loop-a invoked').length;
      // Settle: the count stops growing.
      let last = -1;
      for (let i = 0; i < 40 && count() !== last; i++) {
        last = count();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(count() > 1, 'the consumer called its producer back at least once');
      assert.ok(count() <= 17, `${count()} invocations from one request`);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(count(), last, 'still growing');
      // The stop is said, naming the consumer and the loop limit.
      assert.ok(dev.logs.some((l) => /tail consumer "tail-loop-b".*loop \(error 1019\)/.test(l.message)));
    } finally {
      await dev.close();
    }
  });
});
