// Attacks on what waits to cross to the host, and on an object's held answers
// (src/runtime/isolate/bridge.ts, outbox.ts; the batching itself: test/batched-crossings.test.ts).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startWorkerWithObjects, type TestNetwork } from '../helpers.ts';

// Requests with no body that a worker sends to an object, a service or an origin: their header
// lists are made for the call alone (src/runtime/isolate/headers.ts flattenHeaders, bindings/
// crossing.ts), so the calls of one task cross together; a tenant that hooks what it can
// (Array.prototype's `then`, index setters and iterator, Symbol.species, Promise's constructor and `then`)
// never gets one of those lists, so cannot change one between the call and its crossing.
const FETCHES = `
import { DurableObject } from 'cloudflare:workers';
export class Echo extends DurableObject {
  fetch(request) { return new Response(request.headers.get('x-n') + ':' + request.headers.get('x-tag')); }
  args(...a) { return a.join(':'); }
}
/** Its responses' status text comes from a getter whose value writes when made a string. */
export class Tricky extends DurableObject {
  fetch() {
    const s = this.ctx.storage;
    Object.defineProperty(Response.prototype, 'statusText', {
      configurable: true,
      get() { return { toString() { s.put('t', 1); return 'Tricked'; } }; },
    });
    return new Response('ok');
  }
}
/** Grabs what the prelude's promises resolve to (a \`then\` getter), and changes it later. */
export class Hooker extends DurableObject {
  grabbed = new Set();
  hook() {
    const grabbed = this.grabbed;
    const get = function () { grabbed.add(this); return undefined; };
    Object.defineProperty(Array.prototype, 'then', { configurable: true, get });
    Object.defineProperty(Object.prototype, 'then', { configurable: true, get });
    return 'hooked';
  }
  spoil() {
    let n = 0;
    for (const g of this.grabbed) {
      try { for (let i = 0; i < 8; i++) g[i] = { get x() { return 1; } }; } catch {}
      try { g.value = 'spoiled'; n++; } catch {}
    }
    return n >= 0 ? 'spoiled' : '';
  }
  fetch() { return new Response('fine'); }
  plain() { return 'v'; }
}
function hook(seen) {
  const saved = {
    then: Object.getOwnPropertyDescriptor(Array.prototype, 'then'),
    zero: Object.getOwnPropertyDescriptor(Array.prototype, '0'),
    species: Object.getOwnPropertyDescriptor(Array, Symbol.species),
    ctor: Object.getOwnPropertyDescriptor(Promise.prototype, 'constructor'),
    pthen: Promise.prototype.then,
    iterator: Array.prototype[Symbol.iterator],
  };
  let busy = false;
  const grab = (v) => {
    if (busy || v === null || typeof v !== 'object') return;
    busy = true;
    seen.add(v);
    busy = false;
  };
  Object.defineProperty(Array.prototype, 'then', { configurable: true, get() { grab(this); return undefined; } });
  Object.defineProperty(Array.prototype, '0', { configurable: true, set(v) { grab(this); Object.defineProperty(this, '0', { value: v, writable: true, enumerable: true, configurable: true }); } });
  Object.defineProperty(Array, Symbol.species, { configurable: true, get() { return function (n) { const a = new Array(n); grab(a); return a; }; } });
  // Spreading a list (a rest argument passed on with ...args) walks it with this: the list and
  // what it holds would be seen.
  const iterator = saved.iterator;
  Array.prototype[Symbol.iterator] = function () {
    grab(this);
    for (let i = 0; i < this.length; i++) grab(this[i]);
    return iterator.call(this);
  };
  class Other extends Promise {}
  Object.defineProperty(Promise.prototype, 'constructor', { configurable: true, writable: true, value: Other });
  const then = saved.pthen;
  Promise.prototype.then = function (a, b) {
    return then.call(this, (v) => { grab(v); return typeof a === 'function' ? a(v) : v; }, b);
  };
  return () => {
    if (saved.then) Object.defineProperty(Array.prototype, 'then', saved.then); else delete Array.prototype.then;
    if (saved.zero) Object.defineProperty(Array.prototype, '0', saved.zero); else delete Array.prototype[0];
    Object.defineProperty(Array, Symbol.species, saved.species);
    Object.defineProperty(Promise.prototype, 'constructor', saved.ctor);
    Promise.prototype.then = then;
    Array.prototype[Symbol.iterator] = iterator;
  };
}
/** Every list the hooks saw, changed: each string in it (at any depth) replaced. */
function spoil(seen) {
  const visit = (v, depth) => {
    if (depth > 3 || v === null || typeof v !== 'object') return;
    try {
      for (let i = 0; i < v.length; i++) {
        if (typeof v[i] === 'string') v[i] = 'spoiled';
        else visit(v[i], depth + 1);
      }
    } catch {}
  };
  for (const v of seen) visit(v, 0);
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const origin = url.searchParams.get('origin');
    if (url.pathname === '/objects') {
      const calls = [];
      for (let i = 0; i < 20; i++)
        calls.push(env.ECHO.getByName('e').fetch('https://do/', { headers: { 'x-n': String(i), 'x-tag': 'kept' } }).then((r) => r.text()));
      return Response.json(await Promise.all(calls));
    }
    if (url.pathname === '/origins') {
      const calls = [];
      for (let i = 0; i < 20; i++)
        calls.push(fetch(origin, { headers: { 'x-n': String(i), 'x-tag': 'kept' } }).then((r) => r.text()));
      return Response.json(await Promise.all(calls));
    }
    if (url.pathname === '/hooked') {
      const stub = env.HOOK.getByName('h');
      await stub.hook();
      const text = (p) => p.then((r) => r.status + ' ' + r.statusText + ' ' + r.headers.get('content-type')).catch((e) => 'error: ' + e.message);
      const value = (p) => p.catch((e) => 'error: ' + e.message);
      return Response.json(
        await Promise.all([text(stub.fetch('https://do/')), value(stub.plain()), value(stub.spoil()), text(stub.fetch('https://do/')), value(stub.plain())]),
      );
    }
    if (url.pathname === '/tricky') {
      const all = await Promise.all(
        Array.from({ length: 5 }, () => env.TRICKY.getByName('t').fetch('https://do/').then(async (r) => r.status + ' ' + r.statusText + ' ' + (await r.text()))),
      );
      return Response.json(all);
    }
    if (url.pathname === '/tampered') {
      const seen = new Set();
      const unhook = hook(seen);
      let out;
      try {
        const calls = [];
        const make = [
          (i) => env.ECHO.getByName('t').fetch('https://do/', { headers: { 'x-n': String(i), 'x-tag': 'kept' } }),
          (i) => env.SELF.fetch('https://self/echo', { headers: { 'x-n': String(i), 'x-tag': 'kept' } }),
          (i) => fetch(origin, { headers: { 'x-n': String(i), 'x-tag': 'kept' } }),
          // An RPC call of primitives: its argument list waits to cross as it is.
          (i) => env.ECHO.getByName('t').args(String(i), 'kept').then((s) => new Response(s)),
        ];
        for (let i = 0; i < 12; i++) {
          calls.push(make[i % 4](i));
          spoil(seen);
        }
        // And in the microtasks after each call is made, before the task's calls leave.
        let chain = Promise.resolve();
        for (let k = 0; k < 20; k++) chain = chain.then(() => spoil(seen));
        const responses = await Promise.all(calls);
        out = await Promise.all(responses.map((r) => r.text()));
      } finally {
        unhook();
      }
      return Response.json(out);
    }
    if (url.pathname === '/echo') return new Response(request.headers.get('x-n') + ':' + request.headers.get('x-tag'));
    return new Response('not found', { status: 404 });
  },
};
`;

describe('batched crossings: requests without a body', () => {
  let net: TestNetwork;
  let origin: ReturnType<typeof createServer>;
  let at = '';
  before(async () => {
    origin = createServer((req, res) => res.end(`${req.headers['x-n']}:${req.headers['x-tag']}`));
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    at = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    net = await startWorkerWithObjects(
      FETCHES,
      { egress: { allow: ['loopback'] } },
      'services = [{ binding = "SELF", service = "source" }]\n' +
        '[[durable_objects.bindings]]\nname = "ECHO"\nclass_name = "Echo"\n' +
        '[[durable_objects.bindings]]\nname = "TRICKY"\nclass_name = "Tricky"\n' +
        '[[durable_objects.bindings]]\nname = "HOOK"\nclass_name = "Hooker"\n' +
        '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Echo", "Tricky", "Hooker"]\n',
    );
  });
  after(async () => {
    await net.close();
    origin.closeAllConnections();
    await new Promise((r) => origin.close(r));
  });

  const expected = (n: number) => Array.from({ length: n }, (_, i) => `${i}:kept`);

  it("an object's stub.fetch() calls made in one task cross together", async () => {
    // First in this describe: the mean is this request's (a crossing per call would make it 1).
    const res = await fetch(`${net.url}/objects`);
    assert.deepEqual(await res.json(), expected(20));
    const { meanPosted } = net.runtime.stats();
    assert.ok(meanPosted > 2, `mean calls per crossing: ${meanPosted}`);
  });

  it('subrequests made in one task reach their origin with their own headers', async () => {
    const res = await fetch(`${net.url}/origins?origin=${encodeURIComponent(at)}`);
    assert.deepEqual(await res.json(), expected(20));
  });

  it("an object's response whose parts come from its own getters leaves whole, made once", async () => {
    // The object's answers are held and sent ahead of its next crossing (outbox.ts): what they
    // hold was made plain when reported, so sending them runs none of its code.
    const res = await fetch(`${net.url}/tricky`);
    assert.deepEqual(await res.json(), Array(5).fill('200 Tricked ok'));
  });

  it('an object that grabs its own outcomes (a then getter) cannot change them once made', async () => {
    // Held uncopied (a response tuple, an RPC result of a primitive): frozen when made.
    const res = await fetch(`${net.url}/hooked`);
    const ok = '200  text/plain;charset=UTF-8';
    assert.deepEqual(await res.json(), [ok, 'v', 'spoiled', ok, 'v']);
  });

  it('a tenant that hooks Array and Promise cannot change a waiting call’s headers or arguments', async () => {
    const res = await fetch(`${net.url}/tampered?origin=${encodeURIComponent(at)}`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), expected(12));
  });
});
