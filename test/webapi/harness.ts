/**
 * Runs snippets inside a real isolate (test/fixtures/eval) and decodes their results, so each
 * Workers API behaviour is asserted on the host. `run` throws when the snippet threw;
 * `fails` returns the error the snippet threw.
 */
import assert from 'node:assert/strict';
import { transformSync } from 'esbuild';
import { ISOLATE_SUPPORTED } from '../../src/runtime/prelude.ts';
import { startFixture, type TestDev } from '../helpers.ts';

export interface Harness {
  dev: TestDev;
  run(code: string, input?: unknown): Promise<any>;
  fails(code: string, input?: unknown): Promise<{ name: string; message: string; isDOMException: boolean }>;
  raw(code: string, input?: unknown): Promise<Response>;
  close(): Promise<void>;
}

function decode(v: any): any {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') {
    if (typeof v.$bytes === 'string') return Buffer.from(v.$bytes, 'hex');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

/**
 * A snippet as the body of an async function, into a script body that returns the function.
 * Its async functions are lowered to generators, as the prelude's are (src/runtime/prelude.ts):
 * the request context follows their awaits through `then`. A worker's bundle keeps them native
 * and has them rewritten instead (src/runtime/bundle-awaits.ts), which needs the loader's
 * `__outpostFrames`; code made from a string at run time (this snippet) has none.
 */
export function compileSnippet(code: string): string {
  const out = transformSync(`export default async function (input, env, ctx, request) {\n${code}\n}`, {
    format: 'iife',
    globalName: 'snippet',
    target: 'es2022',
    supported: ISOLATE_SUPPORTED,
  });
  return `${out.code}\nreturn snippet.default;`;
}

export async function startHarness(): Promise<Harness> {
  const dev = await startFixture('eval');
  const raw = (code: string, input?: unknown) =>
    fetch(dev.url, { method: 'POST', body: JSON.stringify({ code: compileSnippet(code), input }) });
  const call = async (code: string, input?: unknown) => {
    const res = await raw(code, input);
    assert.equal(res.status, 200, `snippet answered ${res.status}: ${await res.clone().text()}`);
    return (await res.json()) as { ok: boolean; result?: unknown; error?: any };
  };
  return {
    dev,
    raw,
    async run(code, input) {
      const r = await call(code, input);
      if (!r.ok) throw new Error(`snippet threw ${r.error.name}: ${r.error.message}`);
      return decode(r.result);
    },
    async fails(code, input) {
      const r = await call(code, input);
      if (r.ok) throw new Error(`snippet did not throw; it returned ${JSON.stringify(r.result)}`);
      return r.error;
    },
    close: () => dev.close(),
  };
}
