// WebSocket handles a tenant can name (issue 14 item 8): the ends passed from a Durable Object
// or another worker are redeemable only with an unguessable token, by the isolate they were
// passed to (src/runtime/bridge/passed-sockets.test.ts); and the prelude's own plumbing does not
// run through globals a tenant can replace, so a tenant cannot watch or rewrite the outcome it
// sends the host (the tuple naming the WebSocket the PoP bridges).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  net = await startTenants({ attacker: 'then-intercept', neighbour: 'api' });
});
after(() => net.close());

describe('the prelude trusts no global a tenant can replace', () => {
  it("a replaced Promise.prototype.then never sees or rewrites a response's outcome", async () => {
    for (let i = 0; i < 5; i++) assert.equal(await (await net.fetchAs('attacker', '/')).text(), 'plain');
    assert.deepEqual(await (await net.fetchAs('attacker', '/seen')).json(), []);
  });
  it('the neighbour answers meanwhile', async () => {
    assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
  });
});
