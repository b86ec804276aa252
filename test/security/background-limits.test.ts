// Limits in the handlers a worker runs with no request in flight: a cron's scheduled() and a
// queue consumer's queue() (the columns test/security/limits-matrix.test.ts leaves out). Each
// is an invocation of its own (Instance.event), limited as a request is: a CPU or memory breach
// stops it with the limit's error and recycles that tenant's isolate alone (its next invocation
// starts in a fresh one, a neighbour answers meanwhile); past 50 subrequests its fetches throw
// and the invocation fails with the limit. Attacks in test/fixtures/background-limits/worker.js.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  neighbourAnswers,
  startTenants,
  startUpstream,
  type TestNetwork,
  type Upstream,
  waitFor,
} from '../helpers.ts';

let net: TestNetwork;
let upstream: Upstream;

before(async () => {
  upstream = await startUpstream();
  net = await startTenants({
    cpu: { fixture: 'background-limits', limits: { cpuMs: 50 } },
    // Room for CPU, so the heap bomb meets the memory limit (small, to fill fast).
    mem: { fixture: 'background-limits', limits: { memoryMb: 32, cpuMs: 20_000 } },
    // Room for CPU: 60 fetches cost bridge crossings.
    io: { fixture: 'background-limits', limits: { cpuMs: 5000 } },
    neighbour: 'api',
  });
});
after(async () => {
  await net?.close();
  await upstream?.close();
});

const TEXT = {
  cpu: /exceeded CPU time limit/,
  memory: /exceeded memory limit/,
  subrequests: /exceeded subrequest limit/,
};

type Handler = 'scheduled' | 'queue';

/** Run `what` (an attack, worker.js) in `handler` of `tenant`; its outcome as text. */
async function run(handler: Handler, tenant: string, what: string): Promise<string> {
  try {
    const value =
      handler === 'scheduled'
        ? await net.runtime.event(tenant, 'scheduled', [{ scheduledTime: Date.now(), cron: what }])
        : await net.runtime.event(tenant, 'queue', [
            {
              queue: 'jobs',
              messages: [
                {
                  id: 'm1',
                  timestamp: Date.now(),
                  body: new TextEncoder().encode(what).buffer,
                  contentType: 'text',
                  attempts: 1,
                },
              ],
            },
          ]);
    // A queue handler that threw: its batch's outcome carries the error (the messages retried).
    const error = (value as { error?: unknown } | undefined)?.error;
    return typeof error === 'string' ? error : `returned ${JSON.stringify(value)}`;
  } catch (err) {
    return `threw ${(err as Error).name}: ${(err as Error).message}`;
  }
}

/** The isolate was recycled for `limit` (logged by the runtime). */
const recycled = (from: number, limit: string) =>
  waitFor(
    () =>
      net.logs
        .slice(from)
        .find(
          (e) => e.source === 'outpost' && e.fields?.limit === limit && /isolate recycled/.test(e.message),
        ),
    15_000,
    `the ${limit} breach`,
  );

/** Run `attack` while the neighbour tenant keeps answering (helpers.ts). */
const meanwhile = <T>(attack: () => Promise<T>) => neighbourAnswers(net, attack);

async function answersAgain(tenant: string) {
  assert.equal(await (await net.fetchAs(tenant, '/')).text(), 'ok');
}

for (const handler of ['scheduled', 'queue'] as const) {
  describe(`a ${handler === 'scheduled' ? "cron's scheduled()" : "queue consumer's queue()"}`, () => {
    it('CPU: a loop is stopped at the limit, the isolate recycled', () =>
      meanwhile(async () => {
        const from = net.logs.length;
        const t0 = performance.now();
        const outcome = await run(handler, 'cpu', 'cpu');
        assert.match(outcome, TEXT.cpu);
        assert.ok(performance.now() - t0 < 10_000, 'stopped, not left running');
        await recycled(from, 'cpu');
        await answersAgain('cpu');
      }));

    it('memory: a heap bomb is stopped, the isolate recycled', () =>
      meanwhile(async () => {
        const from = net.logs.length;
        assert.match(await run(handler, 'mem', 'heap'), TEXT.memory);
        await recycled(from, 'memory');
        await answersAgain('mem');
      }));

    it('subrequests: the 51st fetch throws and the invocation fails with the limit; the next has 50 of its own', async () => {
      const made = (tag: string) =>
        [...upstream.hits.keys()].filter((p) => p.startsWith(`/r/${tag}/`)).length;
      for (const tag of [`${handler}-1`, `${handler}-2`]) {
        const from = net.logs.length;
        // As a request's: the fetches past 50 throw "Too many subrequests." in the handler, and
        // the invocation fails with the limit even though the handler caught them.
        assert.match(await run(handler, 'io', `subreq ${upstream.url} ${tag}`), TEXT.subrequests);
        assert.equal(made(tag), 50);
        const line = await waitFor(
          () => net.logs.slice(from).find((e) => e.fields?.limit === 'subrequests'),
          15_000,
          'the breach logged',
        );
        assert.match(line.message, /more than 50 subrequests/);
      }
      await answersAgain('io');
    });
  });
}
