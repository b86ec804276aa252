// TextDecoder's encodings besides UTF-8 (src/runtime/isolate/ext/encodings.ts), inside a real
// isolate, against Node's TextDecoder (full ICU, WHATWG's algorithms) on the same bytes: whole,
// in streamed chunks, fatal or not, with and without a byte order mark, and by every label.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

/** A tiny deterministic generator, so a failure can be run again. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What Node's decoder gives for each case: its chunks' outputs, or where it threw. */
function expected(label: string, fatal: boolean, ignoreBOM: boolean, parts: number[][]): string[] {
  const d = new TextDecoder(label, { fatal, ignoreBOM });
  const out: string[] = [];
  for (let i = 0; i <= parts.length; i++) {
    try {
      out.push(i < parts.length ? d.decode(Uint8Array.from(parts[i]), { stream: true }) : d.decode());
    } catch {
      out.push(`threw at ${i}`);
      break;
    }
  }
  return out;
}

// The same, inside the isolate.
const RUN = `
  const results = [];
  for (const [label, fatal, ignoreBOM, parts] of input) {
    const d = new TextDecoder(label, { fatal, ignoreBOM });
    const out = [];
    for (let i = 0; i <= parts.length; i++) {
      try {
        out.push(i < parts.length ? d.decode(new Uint8Array(parts[i]), { stream: true }) : d.decode());
      } catch (e) {
        if (!(e instanceof TypeError)) throw e;
        out.push('threw at ' + i);
        break;
      }
    }
    results.push([d.encoding, out]);
  }
  return results;`;

describe('TextDecoder: utf-16le, utf-16be, windows-1252', () => {
  it('decodes as WHATWG’s decoders do: whole and streamed, fatal or not, BOM or not', async () => {
    const next = rng(5);
    const cases: [string, boolean, boolean, number[][]][] = [];
    const units = [0x0041, 0x00e9, 0x20ac, 0xfeff, 0xd83d, 0xde00, 0xdc00, 0xd800, 0x0000, 0xffff];
    for (const label of ['utf-16le', 'utf-16be', 'windows-1252']) {
      for (let round = 0; round < 150; round++) {
        const bytes: number[] = [];
        if (label !== 'windows-1252' && next() < 0.3)
          bytes.push(...(label === 'utf-16le' ? [0xff, 0xfe] : [0xfe, 0xff]));
        const n = Math.floor(next() * 12);
        for (let k = 0; k < n; k++) {
          if (label === 'windows-1252') bytes.push(Math.floor(next() * 256));
          else {
            const u = next() < 0.7 ? units[Math.floor(next() * units.length)] : Math.floor(next() * 0x10000);
            bytes.push(...(label === 'utf-16le' ? [u & 0xff, u >> 8] : [u >> 8, u & 0xff]));
          }
        }
        if (next() < 0.2) bytes.push(0x41); // an odd byte left at the end
        const cut = Math.floor(next() * (bytes.length + 1));
        cases.push([label, next() < 0.5, next() < 0.3, [bytes.slice(0, cut), bytes.slice(cut)]]);
      }
    }
    const got = (await h.run(RUN, cases)) as [string, string[]][];
    cases.forEach(([label, fatal, ignoreBOM, parts], i) => {
      const [encoding, out] = got[i];
      assert.equal(encoding, label);
      assert.deepEqual(
        out,
        expected(label, fatal, ignoreBOM, parts),
        `${label} fatal ${fatal} ${JSON.stringify(parts)}`,
      );
    });
  });

  it('every WHATWG label of these encodings, trimmed and in any case; others are a RangeError', async () => {
    const labels = [
      ' UTF-16 ',
      'ucs-2',
      'unicodeFFFE',
      'Latin1',
      'iso-8859-1',
      'us-ascii',
      'cp1252',
      '\tascii\n',
    ];
    const got = (await h.run(`return input.map((l) => new TextDecoder(l).encoding);`, labels)) as string[];
    assert.deepEqual(
      got,
      labels.map((l) => new TextDecoder(l).encoding),
    );
    for (const label of ['shift-jis', 'iso-8859-2', 'nope']) {
      const e = await h.fails(`new TextDecoder(${JSON.stringify(label)});`);
      assert.equal(e.name, 'RangeError');
      assert.match(e.message, new RegExp(`"${label}" is not supported`));
    }
  });
});
