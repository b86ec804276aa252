// Workflows on outpost dev: steps run once and replay from the engine's record, retries with
// their delays and backoff, NonRetryableError, step timeouts, sleeps and sleepUntil, events
// (buffered, and timeouts), every instance status (queued, running, waiting, paused,
// waitingForPause, complete, errored, terminated), restart, parallel steps and step counts,
// the step limit, batches, and a Workflow's state surviving kill -9 mid-step.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { copyFixture, startDevProcess, startFixture, startWorkerSource, type TestDev } from './helpers.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

type Status = { status: string; output?: any; error?: { name: string; message: string } };

function client(base: () => string) {
  const json = async (path: string, init?: RequestInit) =>
    (await fetch(`${base()}${path}`, init)).json() as Promise<any>;
  return {
    create: (wf: string, body: unknown = {}) =>
      json(`/create?wf=${wf}`, { method: 'POST', body: JSON.stringify(body) }) as Promise<{
        id: string;
        status: Status;
        error?: string;
      }>,
    status: (wf: string, id: string) => json(`/status?wf=${wf}&id=${id}`) as Promise<Status>,
    control: (wf: string, id: string, action: string) =>
      json(`/control?wf=${wf}&id=${id}&action=${action}`, { method: 'POST' }) as Promise<
        Status & { error?: string }
      >,
    event: (wf: string, id: string, type: string, payload: unknown) =>
      fetch(`${base()}/event?wf=${wf}&id=${id}&type=${type}`, {
        method: 'POST',
        body: JSON.stringify(payload),
      }).then((r) => r.text()),
    runs: (id: string) => json(`/runs?id=${id}`) as Promise<Record<string, number>>,
    batch: (wf: string, body: unknown) =>
      json(`/batch?wf=${wf}`, { method: 'POST', body: JSON.stringify(body) }),
    /** Poll until the instance reaches `want` (or fail with its last status). */
    async until(
      wf: string,
      id: string,
      want: string | ((s: Status) => boolean),
      ms = 10_000,
    ): Promise<Status> {
      const end = Date.now() + ms;
      for (;;) {
        const s = await this.status(wf, id);
        if (typeof want === 'string' ? s.status === want : want(s)) return s;
        if (Date.now() > end)
          throw new Error(`instance ${id} of ${wf}: ${JSON.stringify(s)}, wanted ${String(want)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

describe('Workflows on outpost dev', () => {
  let dev: TestDev;
  let fixture: ReturnType<typeof copyFixture>;
  const c = client(() => dev.url);
  before(async () => {
    fixture = copyFixture('workflows');
    dev = await startFixture(fixture.dir);
  });
  after(async () => {
    await dev.close();
    fixture.cleanup();
  });

  it('runs steps in order, each once, and completes with run()’s output (structured clone kept)', async () => {
    const { id, status } = await c.create('BASIC', { id: 'basic-1', params: { n: 20 } });
    assert.equal(id, 'basic-1');
    assert.ok(['queued', 'running', 'complete'].includes(status.status), status.status);
    const done = await c.until('BASIC', id, 'complete');
    assert.deepEqual(done.output, {
      a: { n: 21, date: true, set: true },
      b: { doubled: 42, attempt: 1, name: 'b', count: 1 },
      workflow: 'basic',
    });
    assert.deepEqual(await c.runs(id), { a: 1, b: 1 });
  });

  it('ids: a random one when none is given, a taken one refused, a bad one named, get() of none is instance.not_found', async () => {
    const { id } = await c.create('BASIC', { params: { n: 1 } });
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(
      (await c.create('BASIC', { id: 'basic-1', params: { n: 1 } })).error ?? '',
      /already_exists/,
    );
    assert.match(
      (await c.create('BASIC', { id: 'no spaces', params: { n: 1 } })).error ?? '',
      /TypeError: Workflow instance id must be/,
    );
    assert.deepEqual(await c.status('BASIC', 'nobody'), { error: 'Error: instance.not_found' });
  });

  it('retries with the configured delays, a failure past the limit is thrown into run(), NonRetryableError and timeouts end a step at once', async () => {
    const { id } = await c.create('RETRIES', {});
    const done = await c.until('RETRIES', id, 'complete');
    assert.deepEqual(done.output, {
      flaky: 3,
      exhausted: 'TypeError: never works',
      fatal: 'NonRetryableError: give up now',
      timedOut: 'WorkflowTimeoutError',
    });
    // flaky: attempts 1-3; always: 1 + 2 retries; fatal: once; slow: 1 + 1 retry.
    assert.deepEqual(await c.runs(id), { always: 3, fatal: 1, flaky: 3, slow: 2 });
  });

  it('sleep and sleepUntil: waiting while asleep, then the rest; the step before is not run again', async () => {
    for (const until of [false, true]) {
      const { id } = await c.create('SLEEPER', { params: { ms: 600, until } });
      await c.until('SLEEPER', id, 'waiting');
      const started = Date.now();
      const done = await c.until('SLEEPER', id, 'complete');
      assert.equal(done.output, 'rested');
      assert.ok(Date.now() - started >= 300, `woke after ${Date.now() - started} ms`);
      assert.deepEqual(await c.runs(id), { after: 1, before: 1 });
    }
  });

  it('waitForEvent: an event resumes the instance with its payload; one sent early is kept; none times out', async () => {
    const { id } = await c.create('WAITER', { params: { timeout: '1 minute' } });
    await c.until('WAITER', id, 'waiting');
    assert.equal(await c.event('WAITER', id, 'approval', { ok: true }), 'sent');
    const done = await c.until('WAITER', id, 'complete');
    assert.deepEqual(done.output, { approved: { ok: true }, type: 'approval', at: true });
    // Sent before the instance waits for it: buffered.
    const early = await c.create('WAITER', { id: 'early', params: { timeout: '1 minute' } });
    await c.event('WAITER', early.id, 'approval', 'yes');
    assert.equal((await c.until('WAITER', early.id, 'complete')).output.approved, 'yes');
    const late = await c.create('WAITER', { params: { timeout: 300 } });
    assert.deepEqual((await c.until('WAITER', late.id, 'complete')).output, {
      timedOut: 'WorkflowTimeoutError',
    });
  });

  it('a run that throws errors the instance with the error’s name and message; events to it are refused', async () => {
    const { id } = await c.create('FAILING', {});
    const s = await c.until('FAILING', id, 'errored');
    assert.deepEqual(s.error, { name: 'RangeError', message: 'boom' });
    assert.match(await c.event('FAILING', id, 'x', 1), /errored/);
    assert.match((await c.control('FAILING', id, 'terminate')).error ?? '', /already errored/);
  });

  it('pause while asleep, resume, terminate: paused instances do not run, terminated ones never finish', async () => {
    const { id } = await c.create('SLEEPER', { params: { ms: 300 } });
    await c.until('SLEEPER', id, 'waiting');
    assert.equal((await c.control('SLEEPER', id, 'pause')).status, 'paused');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await c.status('SLEEPER', id)).status, 'paused');
    assert.deepEqual(await c.runs(id), { before: 1 });
    assert.match((await c.control('SLEEPER', id, 'terminate')).status, /terminated/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await c.status('SLEEPER', id)).status, 'terminated');
    assert.match((await c.control('SLEEPER', id, 'resume')).error ?? '', /terminated/);
    const other = await c.create('SLEEPER', { params: { ms: 300 } });
    await c.until('SLEEPER', other.id, 'waiting');
    await c.control('SLEEPER', other.id, 'pause');
    await c.control('SLEEPER', other.id, 'resume');
    assert.equal((await c.until('SLEEPER', other.id, 'complete')).output, 'rested');
  });

  it('pause while a step runs: waitingForPause until it ends, then paused; resume finishes without re-running it', async () => {
    const { id } = await c.create('SLOW', { params: { ms: 500 } });
    await c.until('SLOW', id, 'running');
    // Wait until step "two" is in its callback.
    for (let i = 0; i < 100 && !(await c.runs(id)).two; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await c.control('SLOW', id, 'pause')).status, 'waitingForPause');
    await c.until('SLOW', id, 'paused');
    assert.deepEqual(await c.runs(id), { one: 1, two: 1 });
    await c.control('SLOW', id, 'resume');
    assert.equal((await c.until('SLOW', id, 'complete')).output, 'done');
    assert.deepEqual(await c.runs(id), { one: 1, three: 1, two: 1 });
  });

  it('restart runs the instance again from the beginning', async () => {
    const { id } = await c.create('BASIC', { params: { n: 1 } });
    await c.until('BASIC', id, 'complete');
    await c.control('BASIC', id, 'restart');
    await c.until('BASIC', id, 'complete');
    assert.deepEqual(await c.runs(id), { a: 2, b: 2 });
  });

  it('parallel steps and repeated step names (counted), under the step limit; past it the instance errors', async () => {
    const { id } = await c.create('PARALLEL', { params: { loop: 4 } });
    const done = await c.until('PARALLEL', id, 'complete');
    assert.deepEqual(done.output, { x: 1, y: 1, items: [1, 2, 3, 4] });
    const over = await c.create('PARALLEL', { params: { loop: 60 } });
    const s = await c.until('PARALLEL', over.id, 'errored');
    assert.match(s.error?.message ?? '', /more than 50 steps/);
  });

  it('the admin API lists instances by status and shows one with its steps (admin token required)', async () => {
    await c.until('BASIC', 'basic-1', 'complete');
    const auth = { headers: { authorization: `Bearer ${dev.adminToken}` } };
    assert.equal((await fetch(`${dev.url}/__outpost/workflows`)).status, 401);
    const list = (await (
      await fetch(`${dev.url}/__outpost/workflows?workflow=basic&limit=500`, auth)
    ).json()) as any;
    assert.ok(list.counts.some((r: any) => r.workflow === 'basic' && r.status === 'complete' && r.n >= 1));
    assert.ok(list.instances.every((i: any) => i.workflow === 'basic'));
    const one = (await (
      await fetch(`${dev.url}/__outpost/workflows/local/basic/basic-1`, auth)
    ).json()) as any;
    assert.equal(one.status, 'complete');
    assert.deepEqual(
      one.steps.map((s: any) => [s.key, s.state, s.attempts]),
      [
        ['do:a:1', 'done', 1],
        ['do:b:1', 'done', 1],
      ],
    );
    assert.equal((await fetch(`${dev.url}/__outpost/workflows/local/basic/nobody`, auth)).status, 404);
    assert.equal((await fetch(`${dev.url}/__outpost/workflows/%E0%A4%A/x/y`, auth)).status, 404);
    assert.equal((await fetch(`${dev.url}/__outpost/workflows?limit=0`, auth)).status, 400);
  });

  it('createBatch: the array form and { instances } with per-instance errors', async () => {
    const ids = await c.batch('BASIC', [
      { id: 'b1', params: { n: 1 } },
      { id: 'b2', params: { n: 2 } },
      { id: 'b1', params: { n: 3 } },
    ]);
    assert.deepEqual(ids, ['b1', 'b2']);
    const r = await c.batch('BASIC', {
      instances: [
        { id: 'b3', params: { n: 1 } },
        { id: 'b2', params: { n: 1 } },
      ],
    });
    assert.deepEqual(r.created, ['b3']);
    assert.equal(r.errors[0].index, 1);
    await c.until('BASIC', 'b3', 'complete');
  });
});

describe('a worker that exports only a Workflow', () => {
  it('loads without fetch() (a request gets a clear error); another worker runs it through script_name', async () => {
    const fixtures = join(import.meta.dirname, 'fixtures', 'workflows-only');
    const dev = await startFixture(join(fixtures, 'caller'), {
      services: [join(fixtures, 'definer')],
      workflowsFile: ':memory:',
    });
    try {
      const { id } = (await (await fetch(`${dev.url}/?name=ann`)).json()) as { id: string };
      let s: Status = { status: '' };
      for (let i = 0; i < 200 && s.status !== 'complete'; i++) {
        s = (await (await fetch(`${dev.url}/?id=${id}`)).json()) as Status;
        if (s.status !== 'complete') await new Promise((r) => setTimeout(r, 25));
      }
      assert.deepEqual(s, { status: 'complete', output: 'hello ann' });
    } finally {
      await dev.close();
    }
    // Served alone, the definer has no fetch(): a request to it is a 500 saying so.
    const alone = await startFixture(join(fixtures, 'definer'), { workflowsFile: ':memory:' });
    try {
      const res = await fetch(`${alone.url}/`);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /no fetch\(\) handler: it exports only Workflow classes/);
    } finally {
      await alone.close();
    }
  });
});

describe('cloudflare:workflows without a Workflow', () => {
  it('a worker with no [[workflows]] binding imports NonRetryableError (the run’s code is a part; this is not)', async () => {
    const net = await startWorkerSource(`import { NonRetryableError } from 'cloudflare:workflows';
export default {
  fetch() {
    const e = new NonRetryableError('stop', 'Custom');
    return Response.json({ type: typeof NonRetryableError, error: e instanceof Error, message: e.message });
  },
};
`);
    try {
      const res = await fetch(`${net.url}/`);
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), { type: 'function', error: true, message: 'stop' });
    } finally {
      await net.close();
    }
  });
});

describe('Workflows survive kill -9', () => {
  let project: ReturnType<typeof copyFixture>;
  before(() => {
    project = copyFixture('workflows');
  });
  after(() => project.cleanup());

  const start = () => startDevProcess(project.dir);

  it('killed inside a step, the instance resumes after a restart: completed steps are not run again, the interrupted one is retried', async () => {
    let url = '';
    const c = client(() => url);
    const a = await start();
    url = a.url;
    const { id } = await c.create('SLOW', { params: { ms: 60_000 } });
    for (let i = 0; i < 250 && !(await c.runs(id)).two; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await c.runs(id), { one: 1, two: 1 });
    const exited = new Promise((r) => a.child.once('exit', r));
    a.child.kill('SIGKILL');
    await exited;
    const b = await start();
    url = b.url;
    try {
      const done = await c.until('SLOW', id, 'complete', 20_000);
      assert.equal(done.output, 'done');
      // "one" was done before the kill: not run again. "two" was in flight: its attempt failed and ran again.
      assert.deepEqual(await c.runs(id), { one: 1, three: 1, two: 2 });
    } finally {
      b.child.kill('SIGKILL');
    }
  });
});

describeNeeding(NATS_SERVER, 'Workflows on a network of processes sharing NATS (--nats)', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNatsServer();
  });
  after(() => nats?.dispose());

  it('two sessions: instances created through either run once, at the leader; both read them', async () => {
    const projects = [copyFixture('workflows'), copyFixture('workflows')];
    const devs: TestDev[] = [];
    try {
      for (const p of projects)
        devs.push(await startFixture(p.dir, { kv: { nats: nats.url }, workflowLeaseMs: 1000 }));
      const [a, b] = devs.map((d) => client(() => d.url));
      // Whichever leads, a call through the other is sent to it.
      const one = await a.create('BASIC', { id: 'from-a', params: { n: 1 } });
      const two = await b.create('BASIC', { id: 'from-b', params: { n: 2 } });
      assert.equal(one.id, 'from-a');
      assert.equal(two.id, 'from-b');
      assert.equal((await b.until('BASIC', 'from-a', 'complete')).output.a.n, 2);
      assert.equal((await a.until('BASIC', 'from-b', 'complete')).output.a.n, 3);
      assert.deepEqual(await a.runs('from-b'), { a: 1, b: 1 });
      const leaders = devs.filter((d) => d.logs.some((l) => /this process leads/.test(l.message)));
      assert.equal(leaders.length, 1);
      // A taken id is refused by the leader, whoever asks.
      assert.match(
        (await b.create('BASIC', { id: 'from-a', params: { n: 1 } })).error ?? '',
        /already_exists/,
      );
      // Events through the follower reach the instance at the leader.
      const w = await b.create('WAITER', { params: { timeout: '1 minute' } });
      await a.until('WAITER', w.id, 'waiting');
      assert.equal(await b.event('WAITER', w.id, 'approval', 'via follower'), 'sent');
      assert.equal((await a.until('WAITER', w.id, 'complete')).output.approved, 'via follower');
    } finally {
      await Promise.all(devs.map((d) => d.close()));
      for (const p of projects) p.cleanup();
    }
  });

  it('the leader killed inside a step: another process takes the lead and finishes the instance without running a completed step again', async () => {
    const project = copyFixture('workflows');
    const spare = copyFixture('workflows');
    const leader = await startDevProcess(project.dir, ['--nats', nats.url]);
    const child = leader.child;
    let dev: TestDev | null = null;
    try {
      for (let i = 0; i < 600 && !/this process leads/.test(leader.output()); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.match(leader.output(), /this process leads/);
      dev = await startFixture(spare.dir, { kv: { nats: nats.url } });
      const d = dev;
      const c = client(() => d.url);
      const made = await c.create('SLOW', { params: { ms: 60_000 } });
      const id = made.id;
      assert.ok(id, JSON.stringify(made));
      for (let i = 0; i < 250 && !(await c.runs(id)).two; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await c.runs(id), { one: 1, two: 1 }, leader.output());
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const done = await c.until('SLOW', id, 'complete', 30_000);
      assert.equal(done.output, 'done');
      assert.deepEqual(await c.runs(id), { one: 1, three: 1, two: 2 });
      assert.ok(d.logs.some((l) => /this process leads/.test(l.message)));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await dev?.close();
      project.cleanup();
      spare.cleanup();
    }
  });
});
