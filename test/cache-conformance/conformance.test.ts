// HTTP cache conformance of CDN proxy mode: every case in cases.ts against a scripted origin.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { memoryObserver } from '../../src/observability/index.ts';
import { type ProxyServer, startProxy } from '../../src/pop/index.ts';
import { CASES } from './cases.ts';
import { runCase, ScriptedOrigin } from './harness.ts';

const origin = new ScriptedOrigin();
let proxy: ProxyServer;
let results: Map<string, Promise<string[]>>;

before(async () => {
  await origin.start();
  proxy = await startProxy({ origin: origin.url, port: 0, observer: memoryObserver() });
  // All cases at once (each has its own URL), so the pauses overlap.
  results = new Map(CASES.map((c) => [c.id, runCase(proxy.url, origin, c)]));
  await Promise.all(results.values());
});
after(async () => {
  await proxy.close();
  await origin.close();
});

describe('HTTP cache conformance (CDN proxy mode)', () => {
  for (const c of CASES)
    it(`${c.id}: ${c.name}`, async () => {
      assert.deepEqual(await results.get(c.id), []);
    });
});
