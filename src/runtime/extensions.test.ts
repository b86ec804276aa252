// esbuild's helpers at the top of each extension take the prelude's intrinsics, and their
// property descriptors have no prototype (test/security/extension-capability.test.ts attacks it).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { extensionSources, isolateHelpers, polyfillPromises } from './extensions.ts';

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
      // A class's name is deleted before it is defined (extensions.ts, namedHelper).
      'var o=(e,t)=>(outpost.intrinsics["Object.getOwnPropertyDescriptor"](e,"prototype")?.writable===!1&&delete e.name,a(e,"name",{__proto__:null,value:t,configurable:!0})),' +
      'x=(e,t)=>{for(var r in t)a(e,r,{__proto__:null,get:t[r],enumerable:!0})};' +
      // Code after the helpers is the extension's own: left as written.
      'Object.defineProperty(globalThis,"y",{value:1});',
  );
});

it('names classes and functions as the language would, a class through a deleted name', () => {
  const code = isolateHelpers(
    '"use strict";var a=Object.defineProperty;var o=(e,t)=>a(e,"name",{value:t,configurable:!0});' +
      'class t{static{o(this,"Element")}}var f=o(function(){},"handler");return [t,f];',
    'x.ts',
  );
  const outpost = {
    intrinsics: {
      'Object.defineProperty': Object.defineProperty,
      'Object.getOwnPropertyDescriptor': Object.getOwnPropertyDescriptor,
    },
  };
  const [cls, fn] = new Function('outpost', code)(outpost) as [Function, Function];
  const plain = { writable: false, enumerable: false, configurable: true };
  assert.deepEqual(Object.getOwnPropertyDescriptor(cls, 'name'), { value: 'Element', ...plain });
  assert.deepEqual(Object.getOwnPropertyDescriptor(fn, 'name'), { value: 'handler', ...plain });
});

it('refuses a capture the prelude does not provide (an esbuild upgrade must be looked at)', () => {
  assert.throws(
    () => isolateHelpers('var a=Object.freeze;var b=1;', 'x.ts'),
    /esbuild's helpers changed \(Object\.freeze, in x\.ts\)/,
  );
});

it("points esbuild's __async at the prelude's, and refuses one it does not know", () => {
  // esbuild's helper as a minified extension has it (its names vary from build to build).
  const esbuildAsync =
    'var q=(i,c,o)=>new Promise((a,u)=>{var d=s=>{try{l(o.next(s))}catch(f){u(f)}},h=s=>{try{l(o.throw(s))}catch(f){u(f)}},' +
    'l=s=>s.done?a(s.value):Promise.resolve(s.value).then(d,h);l((o=o.apply(i,c)).next())});var z=1;';
  assert.equal(isolateHelpers(esbuildAsync, 'x.ts'), 'var q=outpost.asyncHelper;var z=1;');
  assert.throws(
    () => isolateHelpers(esbuildAsync.replace('o.throw(s)', 'o.throw(s,1)'), 'x.ts'),
    /__async, in x\.ts/,
  );
});

it("rewrites the Web Streams polyfill's capture of Promise's methods, and refuses a capture it does not know", () => {
  const captured =
    'var Lr=Promise,zo=Promise.resolve.bind(Lr),Bo=Promise.prototype.then,Fo=Promise.reject.bind(Lr),Io=zo;' +
    'function J(e,r,t){return Bo.call(e,r,t)}';
  assert.equal(
    polyfillPromises(captured, 'x.ts'),
    'var Lr=Promise,zo=outpost.promises.resolve,Bo=null,Fo=outpost.promises.reject,Io=zo;' +
      'function J(e,r,t){return outpost.promises.thenOfPromise(e,r,t)}',
  );
  assert.throws(
    () => polyfillPromises(`${captured}var q=Bo;`, 'x.ts'),
    /uses its Promise\.prototype\.then otherwise/,
  );
  assert.throws(
    () => polyfillPromises('var T=Promise.prototype.then;', 'x.ts'),
    /a capture of Promise\.prototype\.then changed/,
  );
  assert.equal(polyfillPromises('var a=1;', 'x.ts'), 'var a=1;');
});

it('every built extension takes its helpers from the intrinsics', async () => {
  let lowered = 0;
  for (const [name, source] of await extensionSources()) {
    const head = source.slice(0, 600);
    assert.doesNotMatch(head, /=Object\.(defineProperty|create|getOwnProperty|getPrototypeOf)/, name);
    assert.doesNotMatch(source, /,"name",\{value:[\w$]+,configurable:!0\}\)\}?;?var /, name);
    assert.doesNotMatch(source, /Promise\.resolve\([\w$]+\.value\)\.then\([\w$]+,[\w$]+\);/, name);
    if (source.includes('=outpost.asyncHelper')) lowered++;
    assert.doesNotMatch(source, /Promise\.prototype\.then[,;]/, name);
  }
  // node:crypto, node:fs, node:stream, HTMLRewriter… lower async functions.
  assert.ok(lowered >= 5, `${lowered} extensions use the prelude's async helper`);
});
