// CDN proxy mode across the world topology: each PoP's cache fills from its shield, the shields'
// through one upper tier; every response names the PoP and shield and times each hop.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { builtinTopology } from '../src/network/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { type ProxyServer, startProxy } from '../src/pop/index.ts';

let origin: Server;
let proxy: ProxyServer;
let hits = 0;

before(async () => {
  origin = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'cache-control': 'max-age=300', 'content-type': 'text/plain' });
    res.end(`origin #${hits}`);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  proxy = await startProxy({
    origin: `http://127.0.0.1:${(origin.address() as AddressInfo).port}`,
    port: 0,
    observer: memoryObserver(),
    network: { topology: builtinTopology('world')! },
  });
});
after(async () => {
  await proxy.close();
  await new Promise((r) => origin.close(r));
});

const at = async (location: string, path = '/page') => {
  const r = await fetch(`${proxy.url}${path}`, { headers: { 'outpost-client-location': location } });
  return {
    pop: r.headers.get('outpost-pop'),
    shield: r.headers.get('outpost-shield'),
    status: r.headers.get('cf-cache-status'),
    timing: r.headers.get('server-timing') ?? '',
    body: await r.text(),
  };
};

describe('CDN proxy mode on the world topology', () => {
  it('Server-Timing and the headers follow the path each request took', async () => {
    const fra = await at('Frankfurt');
    assert.deepEqual([fra.pop, fra.status, fra.shield], ['FRA', 'MISS', 'eu-west MISS']);
    assert.match(
      fra.timing,
      /^edge;dur=[\d.]+;desc="client to FRA, simulated", shield;dur=[\d.]+;desc="FRA to eu-west MISS, simulated", origin;dur=[\d.]+;desc="eu-west to origin, simulated"$/,
    );
    const lhr = await at('London');
    assert.deepEqual([lhr.pop, lhr.status, lhr.shield, lhr.body], ['LHR', 'MISS', 'eu-west HIT', fra.body]);
    assert.match(
      lhr.timing,
      /^edge;dur=[\d.]+;desc="client to LHR, simulated", shield;dur=[\d.]+;desc="LHR to eu-west HIT, simulated"$/,
    );
    const again = await at('Frankfurt');
    assert.deepEqual([again.status, again.shield], ['HIT', null]);
    assert.match(again.timing, /^edge;dur=[\d.]+;desc="client to FRA, simulated"$/);
    assert.equal(hits, 1);
  });
  it('every PoP missing at once makes one origin request; a purge reaches every PoP and shield', async () => {
    const cities = ['Mumbai', 'Tokyo', 'Sydney', 'Toronto', 'São Paulo', 'Johannesburg', 'Paris'];
    const before = hits;
    await Promise.all(cities.map((c) => at(c, '/hot')));
    assert.equal(hits - before, 1);
    const purge = await fetch(`${proxy.url}/__outpost/cache/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxy.adminToken}` },
      body: JSON.stringify({ purge_everything: true }),
    });
    assert.equal(purge.status, 200);
    const after = await at('Mumbai', '/hot');
    assert.deepEqual([after.status, after.shield], ['MISS', 'apac MISS']);
    assert.equal(hits - before, 2);
  });
  it('refuses unknown PoPs and locations', async () => {
    assert.equal((await fetch(`${proxy.url}/x`, { headers: { 'outpost-pop': 'XXX' } })).status, 404);
    assert.equal(
      (await fetch(`${proxy.url}/x`, { headers: { 'outpost-client-location': 'Atlantis' } })).status,
      400,
    );
  });
});
