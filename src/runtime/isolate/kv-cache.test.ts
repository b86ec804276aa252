// A worker's copies of its PoP's KV answers (kv-cache.ts) against a real PoP (src/kv/pop.ts): a
// copy answers exactly while the PoP's entry it copies would, and never after that entry changed.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KvPop, kvSlot } from '../../kv/pop.ts';
import { SqliteKvStore } from '../../kv/sqlite-store.ts';
import type { KvRead } from '../bindings/protocol.ts';
import { tick } from './clock.ts';
import { copyMayAnswer, KvCopies, liveValue, openKvNotes, takeKvNotes } from './kv-cache.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: ArrayBuffer | undefined) => (b ? new TextDecoder().decode(b) : null);

function pop(cacheTtl = 60): KvPop {
  return new KvPop('FRA', new SqliteKvStore({ file: ':memory:', propagationMs: 0 }), { cacheTtl });
}

const slotsOf = new WeakMap<KvCopies, Int32Array>();

/** What the host's KV binding sends for a get to the isolate holding `copies` (src/runtime/bridge/kv.ts). */
async function read(p: KvPop, key: string, copies: KvCopies): Promise<KvRead> {
  let slots = slotsOf.get(copies);
  if (!slots) slotsOf.set(copies, (slots = p.slotsFor('ns')));
  const r = await p.read('ns', key, undefined, undefined, slots);
  tick(); // the answer enters the isolate
  const v = r.value && { value: r.value.value.slice().buffer as ArrayBuffer, metadata: r.value.metadata };
  return [v, r.keep.until, r.keep.expiration, r.keep.slots, r.keep.slot, r.keep.epoch];
}

it('a copy answers until the PoP changes its entry: a put or delete by anyone at the PoP', async () => {
  const p = pop();
  const copies = new KvCopies();
  await p.put('ns', 'k', enc('one'));
  await p.put('ns', 'other', enc('x'));
  assert.ok(copies.keep('k', await read(p, 'k', copies)));
  assert.ok(copies.keep('other', await read(p, 'other', copies)));
  assert.equal(dec(liveValue(copies.answer('STORE', 'k') as never)?.value), 'one');
  await p.put('ns', 'k', enc('two')); // another worker's isolate, same PoP
  assert.ok(
    copies.answer('STORE', 'k'),
    'decided once per entry into the isolate: nothing moves while code runs',
  );
  tick();
  assert.equal(copies.answer('STORE', 'k'), null, 'the slot moved: the copy is gone');
  assert.ok(copies.answer('STORE', 'other'), 'a key in another slot keeps its copy');
  assert.ok(copies.keep('k', await read(p, 'k', copies)));
  assert.equal(dec(liveValue(copies.answer('STORE', 'k') as never)?.value), 'two');
  await p.delete('ns', 'k');
  tick();
  assert.equal(copies.answer('STORE', 'k'), null);
  const gone = copies.keep('k', await read(p, 'k', copies));
  assert.ok(gone, 'absence is kept, as the PoP keeps it');
  assert.equal(liveValue(gone), null);
});

it('each isolate has slots of its own; a change at the PoP moves the key’s slot in all of them', async () => {
  const p = pop();
  const one = new KvCopies();
  const two = new KvCopies();
  await p.put('ns', 'k', enc('v'));
  assert.ok(one.keep('k', await read(p, 'k', one)));
  assert.ok(two.keep('k', await read(p, 'k', two)));
  assert.notEqual(slotsOf.get(one)?.buffer, slotsOf.get(two)?.buffer, 'no memory shared between isolates');
  await p.delete('ns', 'k');
  tick();
  assert.equal(one.answer('STORE', 'k'), null);
  assert.equal(two.answer('STORE', 'k'), null);
});

it('a PoP on another clock than real time (a test clock) gives answers that are not kept', async () => {
  const p = new KvPop('FRA', new SqliteKvStore({ file: ':memory:', propagationMs: 0 }), { now: () => 0 });
  const copies = new KvCopies();
  await p.put('ns', 'k', enc('v'));
  const r = await read(p, 'k', copies);
  assert.equal(r[1], 0);
  assert.ok(copies.keep('k', r));
  assert.equal(copies.answer('STORE', 'k'), null);
});

it('keys that share a slot drop each other’s copies (and read the PoP again)', async () => {
  const p = pop();
  const copies = new KvCopies();
  const a = 'a0';
  let b = 'b0';
  for (let i = 1; kvSlot(b) !== kvSlot(a); i++) b = `b${i}`;
  await p.put('ns', a, enc('A'));
  assert.ok(copies.keep(a, await read(p, a, copies)));
  await p.put('ns', b, enc('B'));
  tick();
  assert.equal(copies.answer('STORE', a), null);
});

it('a copy holds only until the PoP entry’s end (cacheTtl), and applies the key’s expiration', async () => {
  const p = pop(0.05); // the PoP keeps answers 50 ms
  const copies = new KvCopies();
  await p.put('ns', 'k', enc('v'));
  await new Promise((r) => setTimeout(r, 60)); // the put's entry ended: the next read fills one
  assert.ok(copies.keep('k', await read(p, 'k', copies)));
  assert.ok(copies.answer('STORE', 'k'));
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(copies.answer('STORE', 'k'), 'the frozen clock has not moved');
  tick();
  assert.equal(copies.answer('STORE', 'k'), null, 'past until');
  const kept = copies.keep('k', await read(p, 'k', copies));
  assert.ok(kept);
  kept.expiration = Math.floor(Date.now() / 1000) - 1;
  tick();
  assert.equal(liveValue(kept), null, 'expired: none, as the PoP answers');
});

it('an answer whose slot moved while it crossed is not kept; large values are not kept', async () => {
  const p = pop();
  const copies = new KvCopies();
  await p.put('ns', 'k', enc('v'));
  const r = await read(p, 'k', copies);
  await p.put('ns', 'k', enc('w'));
  assert.equal(copies.keep('k', r), null);
  await p.put('ns', 'big', new Uint8Array(64 * 1024 + 1));
  assert.equal(copies.keep('big', await read(p, 'big', copies)), null);
  const bad = [...r] as unknown as KvRead;
  bad[3] = null;
  assert.equal(copies.keep('k', bad), null, 'no slots, nothing kept');
});

it('bounded: at most 512 keys, the least recently used out', async () => {
  const p = pop();
  const copies = new KvCopies();
  for (let i = 0; i < 600; i++) {
    await p.put('ns', `k${i}`, enc('v'));
    copies.keep(`k${i}`, await read(p, `k${i}`, copies));
  }
  assert.equal(copies.answer('STORE', 'k0'), null);
  assert.ok(copies.answer('STORE', 'k599'));
});

/**
 * A PoP holding k0…k(n-1), every entry filled there first (a read that fills one moves its slot,
 * which 256 slots share among these keys, and would drop other copies), and copies of k0…k511:
 * the copies' bound reached.
 */
async function fullCopies(n: number): Promise<{ p: KvPop; copies: KvCopies }> {
  const p = pop();
  const copies = new KvCopies();
  for (let i = 0; i < n; i++) await p.put('ns', `k${i}`, enc('v'));
  for (let i = 0; i < n; i++) await read(p, `k${i}`, new KvCopies());
  for (let i = 0; i < 512; i++) copies.keep(`k${i}`, await read(p, `k${i}`, copies));
  return { p, copies };
}

it('reads count as use: a key read again (at once or after others) stays, the least recently read goes', async () => {
  const { p, copies } = await fullCopies(514);
  // k0 read twice in a row (the second finds it most recent already), then k1, then k0 again.
  assert.ok(copies.answer('STORE', 'k0'));
  assert.ok(copies.answer('STORE', 'k0'));
  assert.ok(copies.answer('STORE', 'k1'));
  assert.ok(copies.answer('STORE', 'k0'));
  // The most recent key dropped and kept again is most recent once more.
  copies.drop('k0');
  copies.keep('k0', await read(p, 'k0', copies));
  copies.keep('k512', await read(p, 'k512', copies));
  copies.keep('k513', await read(p, 'k513', copies));
  assert.equal(copies.answer('STORE', 'k2'), null, 'least recently used: out first');
  assert.equal(copies.answer('STORE', 'k3'), null, 'then the next');
  assert.ok(copies.answer('STORE', 'k4'));
  assert.ok(copies.answer('STORE', 'k1'), 'read after the others were kept: stays');
  assert.ok(copies.answer('STORE', 'k0'), 'read (and kept again) last: stays');
});

it('the key read last, once another is kept after it, moves again when it is read', async () => {
  const { p, copies } = await fullCopies(1024);
  assert.ok(copies.answer('STORE', 'k0')); // k0 most recent
  copies.drop('k5');
  copies.keep('k5', await read(p, 'k5', copies)); // now k5 is
  assert.ok(copies.answer('STORE', 'k0')); // and k0 again, after it
  // 510 new keys push out every other old key; the next one, the older of k5 and k0.
  for (let i = 512; i < 1023; i++) copies.keep(`k${i}`, await read(p, `k${i}`, copies));
  assert.equal(copies.answer('STORE', 'k5'), null, 'k5 was used before k0: out first');
  assert.ok(copies.answer('STORE', 'k0'));
});

it('each read is noted with the frozen time of the entry it ran in', async () => {
  const p = pop();
  const copies = new KvCopies();
  await p.put('ns', 'k', enc('v'));
  copies.keep('k', await read(p, 'k', copies));
  openKvNotes(0);
  assert.ok(copies.answer('STORE', 'k'));
  assert.ok(copies.answer('STORE', 'k'));
  const first = (takeKvNotes(0) ?? '').split('\u001e');
  assert.equal(first.length, 3, 'two reads, two notes');
  assert.equal(first[0], first[1], 'one entry: one time');
  await new Promise((r) => setTimeout(r, 5));
  tick();
  openKvNotes(0);
  assert.ok(copies.answer('STORE', 'k'));
  const second = (takeKvNotes(0) ?? '').split('\u001e')[0].split('\u001f');
  assert.ok(Number(second[1]) > Number(first[0].split('\u001f')[1]), 'a later entry: a later time');
});

it('copies answer only while a request is being answered, and those reads are noted for its response', async () => {
  assert.equal(copyMayAnswer(undefined), false, 'no request open (invocation 0 here)');
  openKvNotes(0);
  assert.equal(copyMayAnswer(undefined), true);
  assert.equal(copyMayAnswer(60), true);
  assert.equal(copyMayAnswer(5), false, 'a cacheTtl the PoP refuses goes there, which says so');
  assert.equal(copyMayAnswer(Number.NaN), false);
  assert.equal(takeKvNotes(0), null, 'nothing answered here');
  assert.equal(copyMayAnswer(undefined), false, 'the response went: no more copies for it');
  const p = pop();
  const copies = new KvCopies();
  await p.put('ns', 'k', enc('v'));
  copies.keep('k', await read(p, 'k', copies));
  openKvNotes(0);
  const before = Date.now();
  assert.ok(copies.answer('STORE', 'k'));
  const noted = takeKvNotes(0) ?? '';
  const [binding, at] = noted.split('\u001e')[0].split('\u001f');
  assert.equal(binding, 'STORE');
  assert.ok(Number(at) >= before - 1000);
});
