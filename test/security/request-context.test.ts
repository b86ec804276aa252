// Attacks on the request context (src/runtime/isolate/context.ts): tenant code that breaks or
// dodges context propagation must not make subrequests charged to no request, or past its
// request's limit of 50; a neighbour tenant keeps answering meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, startUpstream, type TestNetwork, type Upstream, waitFor } from '../helpers.ts';

let net: TestNetwork;
let upstream: Upstream;

before(async () => {
  upstream = await startUpstream();
  net = await startTenants({
    attacker: { fixture: 'context-attack', limits: { cpuMs: 2000 } },
    victim: { fixture: 'context-attack', limits: { cpuMs: 2000 } },
  });
});
after(async () => {
  await net.close();
  await upstream.close();
});

const attack = async (name: string) => {
  const res = await net.fetchAs('attacker', `/${name}?upstream=${encodeURIComponent(upstream.url)}`);
  return res;
};
const made = (prefix: string) => [...upstream.hits.keys()].filter((p) => p.startsWith(`/r/${prefix}`)).length;

describe('request context attacks', () => {
  it('a native await (code from a string) loses the context: its fetch is refused, not unlimited', async () => {
    const { outcome } = (await (await attack('native-await')).json()) as { outcome: string };
    assert.match(outcome, /^(refused: .*only possible while handling a request|no eval)/);
    assert.equal(made('native'), 0);
  });

  it('replacing Promise.prototype.then does not lift the limit of 50 subrequests', async () => {
    const res = await attack('replace-then');
    // Either every call carries the request (and the 51st fails: the request answers 503), or
    // calls lose it and are refused; never more than 50 go out.
    assert.ok(made('then') <= 50, `${made('then')} subrequests went out`);
    if (res.status === 200) {
      const { outcomes } = (await res.json()) as { outcomes: string[] };
      assert.ok(outcomes.filter((o) => o.startsWith('ok')).length <= 50);
    } else assert.equal(res.status, 503);
  });

  it('60 concurrent fetches from one request: 50 go out, the rest fail, the request answers 503', async () => {
    const res = await attack('spread');
    assert.equal(res.status, 503);
    assert.match(await res.text(), /subrequest/);
    assert.equal(made('spread'), 50);
  });

  it('a timer outliving its request makes no subrequest', async () => {
    assert.equal(await (await attack('after-response')).text(), 'answered');
    const line = await waitFor(
      () => net.logs.find((e) => e.message.startsWith('after-response:')),
      5000,
      'the timer',
    );
    assert.equal(line.message, 'after-response: 0 went out');
    assert.ok(!upstream.records.some((r) => r.startsWith('late')));
  });

  it("the await rewrite's token shows no frame, and switching to a finished request's frame gets no I/O out", async () => {
    const seen = (await (await attack('frames-inspect')).json()) as Record<string, unknown>;
    assert.deepEqual(seen, {
      reached: true,
      own: [],
      proto: ['constructor', 's', 'r', 'c', 'x', 't'],
      frozen: true,
      tampered: false,
      values: [42, 7, 'x'],
    });
    assert.equal(await (await attack('frames-stash')).text(), 'stashed');
    const { outcome } = (await (await attack('frames-replay')).json()) as { outcome: string };
    assert.match(outcome, /^refused: .*request that has finished/);
    assert.equal(made('frames'), 0);
  });

  it('the neighbour tenant is unaffected', async () => {
    const res = await net.fetchAs('victim', `/ok?upstream=${encodeURIComponent(upstream.url)}`);
    assert.equal(await res.text(), 'ok 404');
  });
});
