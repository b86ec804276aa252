// Attacks by recursion: a worker fetching its own URL through the PoP, calling itself through a
// service binding (fetch and RPC), or fanning out through one, made invocations without end —
// each level a new request with a fresh subrequest budget. The platform now counts invocations
// down the chain (CF-EW-Via, set by the host on every subrequest whatever the worker writes) and
// per request through bindings; past the limit the request is refused with a clear error, and
// a neighbour is unaffected.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_LOOP_HOPS, MAX_SERVICE_INVOCATIONS } from '../../src/runtime/index.ts';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  // The PoP listens on 127.0.0.1: the worker reaching itself needs loopback egress, as in `outpost dev`.
  net = await startTenants({ loops: 'loops', neighbour: 'api' }, { egress: { allow: ['loopback'] } });
});
after(() => net.close());

async function counts(): Promise<Record<string, number>> {
  return (await (await net.fetchAs('loops', '/count')).json()) as Record<string, number>;
}

describe('loops: a worker calling itself', () => {
  it('fetching its own URL through the PoP stops after 16 invocations, whatever the worker sets', async () => {
    await counts();
    const r = await net.fetchAs('loops', '/self');
    const body = await r.text();
    // The innermost fetch was answered 508 by the PoP; every level passed that status up.
    assert.equal(r.status, 508, body);
    assert.match(body, /Worker subrequest loop \(error 1019\)/);
    assert.equal(r.headers.get('x-seen-via'), '', 'the client sent no CF-EW-Via');
    assert.equal((await counts())['/self'], MAX_LOOP_HOPS);
  });

  it('a client cannot lengthen the chain, and can only shorten its own request', async () => {
    await counts();
    const long = await net.fetchAs('loops', '/self', { headers: { 'cf-ew-via': '1000' } });
    assert.equal(long.status, 508);
    await long.text();
    assert.equal((await counts())['/self'], MAX_LOOP_HOPS, 'capped at 16');
    const short = await net.fetchAs('loops', '/self', { headers: { 'cf-ew-via': '3' } });
    assert.equal(short.status, 508);
    await short.text();
    assert.equal((await counts())['/self'], 3);
    const none = await net.fetchAs('loops', '/hello', { headers: { 'cf-ew-via': '0' } });
    assert.equal(none.status, 508, 'its own request only');
    await none.text();
    // Malformed values are ignored rather than failing the request.
    const odd = await net.fetchAs('loops', '/hello', { headers: { 'cf-ew-via': 'abc' } });
    assert.equal(odd.status, 200);
    assert.equal(await odd.text(), 'hello, cf-ew-via abc');
  });

  it('recursion through a service binding to itself stops at the chain limit, in the caller', async () => {
    await counts();
    const r = await net.fetchAs('loops', '/svc');
    const body = await r.text();
    assert.equal(r.status, 508);
    assert.match(body, /^Error: Worker subrequest loop \(error 1019\): calling the service binding "SELF"/);
    assert.equal((await counts())['/svc'], MAX_LOOP_HOPS);
  });

  it('RPC recursion through a service binding stops too', async () => {
    await counts();
    const r = (await (await net.fetchAs('loops', '/rpc')).json()) as { error?: string; message?: string };
    assert.equal(r.error, 'Error');
    assert.match(r.message ?? '', /Worker subrequest loop \(error 1019\)/);
    assert.equal((await counts()).rpc, MAX_LOOP_HOPS - 1);
  });

  it('fan-out through a binding is bounded by the invocations per request', async () => {
    await counts();
    const r = (await (await net.fetchAs('loops', '/fan')).json()) as { ok: number; message?: string };
    assert.equal(r.ok, MAX_SERVICE_INVOCATIONS - 1, 'the request itself is the first invocation');
    assert.match(r.message ?? '', /Too many worker invocations/);
    assert.equal((await counts())['/leaf'], MAX_SERVICE_INVOCATIONS - 1);
  });

  it('a neighbour is unaffected, and a request after the loops is served', async () => {
    assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
    const r = await net.fetchAs('loops', '/hello');
    assert.equal(await r.text(), 'hello, cf-ew-via null');
  });
});
