import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DispatchResult, responseProblem, toResult } from './dispatch-result.ts';

/** A response as the isolate's dispatch would hand it over (a tenant's code could forge one). */
const answer = (status: unknown, headers: unknown): DispatchResult =>
  toResult([status, '', headers, 'none', null, 0, null]);

describe('a response from the isolate is checked before the PoP writes it', () => {
  it('accepts a well-formed one', () => {
    assert.equal(responseProblem(answer(200, ['content-type', 'text/plain', 'x-a', 'b c'])), null);
    assert.equal(responseProblem(answer(101, [])), null);
  });
  it('names a status outside 101-599 or not an integer', () => {
    for (const s of [0, 100, 600, 200.5, Number.NaN, '200', null])
      assert.equal(responseProblem(answer(s, [])), `status ${String(s)}`);
  });
  it('refuses headers that are not name/value string pairs, bad names, or values that split lines', () => {
    for (const h of [
      'content-type: text/plain',
      ['content-type'],
      ['content-type', 1],
      [1, 'x'],
      ['bad name', 'x'],
      ['x-a', 'b\r\nset-cookie: evil=1'],
      ['x-a', 'nul\0'],
      // biome-ignore lint/suspicious/noSparseArray: a hole is what a forged list may hold
      [, 'x'],
    ])
      assert.equal(responseProblem(answer(200, h)), 'malformed headers', JSON.stringify(h));
  });
});
