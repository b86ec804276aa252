// esbuild's helpers at the top of each extension take the prelude's intrinsics, and their
// property descriptors have no prototype (test/security/extension-capability.test.ts attacks it).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { extensionSources, isolateHelpers } from './extensions.ts';

it('rewrites the captured builtins and the descriptors of __name and __export', () => {
  const code = isolateHelpers(
    '"use strict";var a=Object.defineProperty;var b=Object.getPrototypeOf,c=Object.prototype.hasOwnProperty;' +
      'var o=(e,t)=>a(e,"name",{value:t,configurable:!0}),x=(e,t)=>{for(var r in t)a(e,r,{get:t[r],enumerable:!0})};' +
      'Object.defineProperty(globalThis,"y",{value:1});',
    'x.ts',
  );
  assert.equal(
    code,
    '"use strict";var a=outpost.intrinsics["Object.defineProperty"];var b=outpost.intrinsics["Object.getPrototypeOf"],' +
      'c=outpost.intrinsics["Object.prototype.hasOwnProperty"];' +
      'var o=(e,t)=>a(e,"name",{__proto__:null,value:t,configurable:!0}),x=(e,t)=>{for(var r in t)a(e,r,{__proto__:null,get:t[r],enumerable:!0})};' +
      // Code after the helpers is the extension's own: left as written.
      'Object.defineProperty(globalThis,"y",{value:1});',
  );
});

it('refuses a capture the prelude does not provide (an esbuild upgrade must be looked at)', () => {
  assert.throws(
    () => isolateHelpers('var a=Object.freeze;var b=1;', 'x.ts'),
    /esbuild's helpers changed \(Object\.freeze, in x\.ts\)/,
  );
});

it('every built extension takes its helpers from the intrinsics', async () => {
  for (const [name, source] of await extensionSources()) {
    const head = source.slice(0, 600);
    assert.doesNotMatch(head, /=Object\.(defineProperty|create|getOwnProperty|getPrototypeOf)/, name);
    assert.doesNotMatch(source, /,"name",\{value:[\w$]+,configurable:!0\}\)\}?;?var /, name);
  }
});
