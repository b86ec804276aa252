// Run by test/security/boundary-errors.test.ts in a child process (a crash must not take the
// test runner with it): the raw synchronous syscalls, as a tampered prelude would hold them,
// made to throw, and each thrown value read through another receiver.
import ivm from 'isolated-vm';
import { createSyscalls, type Slot } from '../../src/runtime/bridge/syscalls.ts';
import { IsolateCalls } from '../../src/runtime/calls.ts';
import { extensionSource } from '../../src/runtime/extensions.ts';

const isolate = new ivm.Isolate({ memoryLimit: 64 });
const context = isolate.createContextSync();
const slot = {} as Slot;
const list = createSyscalls(
  slot,
  { memoryLimitMb: 64, workerName: 'probe' },
  new IsolateCalls(() => {}),
  extensionSource,
);
// [ivm, log, urlParse, urlSet, random, limit, cancelBody, abortFetch, posted, sys, …]
const [, , urlParse, urlSet, random, , , , , sys] = list as ivm.Callback[];
await context.global.set('raw', new ivm.ExternalCopy({}).copyInto());
const raw = (await context.global.get('raw', { reference: true })) as ivm.Reference;
await raw.set('urlParse', urlParse);
await raw.set('urlSet', urlSet);
await raw.set('random', random);
await raw.set('sys', sys);
const out = context.evalSync(
  `(() => {
    const seen = [];
    const attempts = {
      'sys, no such call': () => raw.sys(0, 'no-such-syscall'),
      'sys, no owner': () => raw.sys(0, 'doAbort', 'x'),
      'urlSet, bad property': () => raw.urlSet('https://a.example/', 'nope', 'x'),
      'random, too many': () => raw.random(1e9),
    };
    for (const [what, f] of Object.entries(attempts)) {
      try {
        f();
        seen.push(what + ': no throw');
      } catch (e) {
        const derived = Object.create(typeof e === 'object' && e !== null ? e : Object(e));
        seen.push(what + ': ' + typeof e + ' | ' + String(derived.stack) + ' | ' + String(Reflect.get(Object(e), 'stack', {})));
      }
    }
    return JSON.stringify(seen);
  })()`,
);
process.stdout.write(`${out}\n`);
