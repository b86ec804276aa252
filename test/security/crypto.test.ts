// Host crypto (issue 14 item 11): crypto.subtle runs on the host, outside the isolate's CPU
// clock. Knobs that make one call unbounded are refused with workerd's errors (PBKDF2
// iterations, RSA modulus and exponent, PBKDF2 output length) or Outpost's stricter caps; the
// host time of what is allowed is charged to the request, which meets its CPU limit while a
// neighbour tenant keeps answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork, waitFor } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  net = await startTenants({
    attacker: 'crypto-attack', // cpu_ms = 50
    // The same worker with room for one legitimate costly call (RSA-2048 keygen is ~0.3–1 s).
    legit: { fixture: 'crypto-attack', limits: { cpuMs: 10_000 } },
    neighbour: 'api',
  });
});
after(() => net.close());

interface Outcome {
  ok: boolean;
  value?: unknown;
  name?: string;
  message?: string;
  dom?: boolean;
}

async function outcome(tenant: string, op: string): Promise<Outcome> {
  const res = await net.fetchAs(tenant, `/${op}`);
  assert.equal(res.status, 200, `${op} answered ${res.status}: ${await res.clone().text()}`);
  return (await res.json()) as Outcome;
}

async function refused(op: string, name: string, message: RegExp): Promise<void> {
  const t0 = performance.now();
  const r = await outcome('attacker', op);
  assert.equal(r.ok, false, `${op} was not refused`);
  assert.equal(r.name, name);
  assert.equal(r.dom, true, 'a DOMException');
  assert.match(r.message ?? '', message);
  // Refused before any work: well inside the 50 ms budget, which is why the request answers.
  assert.ok(performance.now() - t0 < 2000);
}

const cpuBreaches = () => net.logs.filter((e) => e.fields?.limit === 'cpu').length;

async function neighbourAnswers(): Promise<number> {
  const t0 = performance.now();
  assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
  return performance.now() - t0;
}

describe('host crypto knobs are bounded', () => {
  it('PBKDF2 with 10,000,000 iterations is refused with the Workers error', () =>
    refused(
      'pbkdf2-10m',
      'NotSupportedError',
      /^Pbkdf2 failed: iteration counts above 100000 are not supported \(requested 10000000\)\.$/,
    ));
  it('deriveKey with PBKDF2 is held to the same cap', () =>
    refused('derive-key-10m', 'NotSupportedError', /iteration counts above 100000/));
  it('PBKDF2 with zero iterations is refused', () =>
    refused('pbkdf2-zero', 'OperationError', /requires a positive iteration count \(requested 0\)/));
  it('PBKDF2 output longer than 255 hash blocks is refused (workerd)', () =>
    refused('pbkdf2-too-long', 'OperationError', /derived key length exceeds maximum for this hash/));
  it('PBKDF2 of 100,000 iterations × 255 output blocks (~5 s of host CPU) is refused', () =>
    refused('pbkdf2-long', 'OperationError', /iterations × output blocks above 800000/));
  for (const bits of [16384, 32768]) {
    it(`RSA ${bits}-bit key generation is refused`, () =>
      refused(
        `rsa-${bits}`,
        'OperationError',
        bits > 16384
          ? /^The modulus length must be a multiple of 8 and between 256 and 16k, but 32768 was requested\.$/
          : /RSA key generation above 4096 bits is not supported/,
      ));
  }
  it('an RSA modulus that is not a multiple of 8 is refused (workerd)', () =>
    refused('rsa-1001', 'OperationError', /multiple of 8 and between 256 and 16k, but 1001/));
  it('RSA public exponents other than 3 and 65537 are refused (workerd)', async () => {
    await refused('rsa-exp-5', 'OperationError', /must be either 3 or 65537, but got 5\./);
    await refused('rsa-exp-huge', 'OperationError', /larger than 2\^32/);
  });
  it('an HMAC key of 2^30 bits (128 MB of host memory) is refused', () =>
    refused('hmac-huge', 'OperationError', /HMAC key generation above 65535 bits/));
});

describe('legitimate crypto still works', () => {
  it('PBKDF2 with 100,000 iterations derives its bits', async () => {
    assert.deepEqual(await outcome('legit', 'pbkdf2-100k'), { ok: true, value: 32 });
  });
  it('deriveKey with PBKDF2 100,000 makes an AES key', async () => {
    assert.deepEqual(await outcome('legit', 'derive-key-100k'), { ok: true, value: 'AES-GCM' });
  });
  it('an RSA-2048 key pair is generated and signs', async () => {
    assert.deepEqual(await outcome('legit', 'rsa-2048'), { ok: true, value: true });
  });
});

describe('host crypto time is charged to the request', () => {
  for (const path of ['/loop-pbkdf2', '/loop-rsa', '/flood-pbkdf2', '/hash-loop']) {
    it(`${path}: allowed but costly crypto meets the 50 ms CPU limit; a neighbour keeps answering`, async () => {
      const n = cpuBreaches();
      const t0 = performance.now();
      const answer = net.fetchAs('attacker', path);
      // While the attacker burns host crypto, the neighbour answers promptly.
      for (let i = 0; i < 3; i++) assert.ok((await neighbourAnswers()) < 1000);
      const res = await answer;
      const body = await res.text();
      assert.equal(res.status, 503, body);
      assert.match(body, /exceeded CPU time limit/);
      await waitFor(() => cpuBreaches() > n || undefined, 10_000, 'the CPU breach log line');
      // Stopped long before the whole loop ran (100 PBKDF2s are ~2 s, 20 RSA-4096 keygens
      // ~20 s): after the first RSA keygen, or the first few PBKDF2s.
      const bound = path === '/loop-rsa' ? 15_000 : 1500;
      assert.ok(performance.now() - t0 < bound, `took ${performance.now() - t0} ms`);
      // The tenant serves again from a fresh isolate.
      assert.equal(await (await net.fetchAs('attacker', '/ok')).text(), 'ok');
    });
  }
});
