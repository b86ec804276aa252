// The syscall tables are shared by every isolate (syscalls.ts): a name that is not a syscall —
// one an object has by inheritance (`__proto__`, `constructor`, `toString`, `hasOwnProperty`)
// or nothing at all — is refused the same way, synchronous or posted, and never reaches a host
// function or object. Called as a tampered prelude would call them: the raw callbacks
// createSyscalls hands `__outpost_init`, installed in a bare isolate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ivm from 'isolated-vm';
import { IsolateCalls } from '../calls.ts';
import { createSyscalls, type Slot } from './syscalls.ts';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'nope', ''];

describe('syscall names', () => {
  let iso: ivm.Isolate;
  let context: ivm.Context;
  const slot: Slot = { owner: null };
  before(async () => {
    iso = new ivm.Isolate({ memoryLimit: 32 });
    context = await iso.createContext();
    const list = createSyscalls(
      slot,
      { memoryLimitMb: 32, workerName: 't' },
      new IsolateCalls(() => {}),
      () => undefined,
    );
    list.shift(); // the ivm module
    // The order of __outpost_init's parameters: log, urlParse, urlSet, random, limit, cancelBody,
    // abortFetch, post, sys, …
    const install = (await context.eval(
      '(function (...raw) { globalThis.post = raw[7]; globalThis.sys = raw[8]; })',
      { reference: true },
    )) as ivm.Reference;
    await install.apply(undefined, list);
  });
  after(() => iso.dispose());

  it('a synchronous call by a name that is not a syscall is refused as unknown', async () => {
    for (const name of NAMES) {
      const out = await context.eval(
        `(() => { try { return 'returned ' + typeof sys(1, ${JSON.stringify(name)}); } catch (e) { return String(e); } })()`,
      );
      assert.equal(out, 'TypeError: unknown syscall', `sys(${JSON.stringify(name)})`);
    }
  });

  it('a posted call by such a name is answered as unknown, and the host throws nothing', async () => {
    // Without an owner every posted call is refused before any table is read; with one (a
    // stand-in that fails every check), a name must still be refused by the table itself.
    for (const owner of [null, {} as Slot['owner']]) {
      slot.owner = owner;
      for (const name of NAMES) {
        // posted: [call id, invocation, which, args, span, ...]; ASYNC (3) takes the name first.
        const out = await context.eval(
          `(() => { try { post([1, 1, 3, [${JSON.stringify(name)}], 0]); return 'posted'; } catch (e) { return String(e); } })()`,
        );
        assert.equal(out, 'posted', `post(${JSON.stringify(name)})`);
      }
    }
    slot.owner = null;
    // The answers went to no isolate (the slot has no hostDone); nothing was thrown on the host.
    await new Promise((r) => setTimeout(r, 20));
  });
});
