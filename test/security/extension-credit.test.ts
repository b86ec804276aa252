// The CPU credit for loading a runtime extension (issue 14 item 3): a worker that makes the load
// burn CPU and fail, then retries it, gets no free CPU — the request meets the CPU limit — and a
// neighbour keeps answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  net = await startTenants({ burner: 'ext-credit', neighbour: 'api' });
});
after(() => net.close());

describe('extension-load CPU credit', () => {
  it('failed, retried loads are not credited: the request meets the CPU limit', async () => {
    const res = await net.fetchAs('burner', '/');
    const body = await res.text();
    assert.equal(res.status, 503, body);
    assert.match(body, /CPU/i);
  });
  it('the neighbour is unaffected and the tenant answers again', async () => {
    assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
    assert.equal(await (await net.fetchAs('burner', '/ok')).text(), 'ok');
  });
});
