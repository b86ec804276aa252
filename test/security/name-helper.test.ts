// The prelude's __name helper (src/runtime/prelude-names.ts) runs after tenant code too (inside
// setInterval, and when a lazily made global is first read): a tenant that replaced
// Object.getOwnPropertyDescriptor must neither be handed the prelude's functions nor break them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorkerSource, type TestNetwork } from '../helpers.ts';

const WORKER = `
const seen = [];
const original = Object.getOwnPropertyDescriptor;
Object.getOwnPropertyDescriptor = function (o, k) {
  if (typeof o === 'function') seen.push(String(o.name));
  return original(o, k);
};
export default {
  async fetch() {
    const ticks = await new Promise((resolve) => {
      let n = 0;
      const id = setInterval(() => {
        if (++n === 2) {
          clearInterval(id);
          resolve(n);
        }
      }, 1);
    });
    // Lazily made globals, first read now.
    const lazy = [typeof crypto.DigestStream, typeof TextEncoderStream, typeof FixedLengthStream];
    const hashed = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('x'));
    return Response.json({ ticks, lazy, hashed: hashed.byteLength, seen });
  },
};
`;

describe("the prelude's name helper after tenant code ran", () => {
  let net: TestNetwork;
  before(async () => {
    net = await startWorkerSource(WORKER);
  });
  after(() => net.close());

  it('reads no global a tenant replaced', async () => {
    const res = await fetch(`${net.url}/`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), {
      ticks: 2,
      lazy: ['function', 'function', 'function'],
      hashed: 32,
      seen: [],
    });
  });
});
