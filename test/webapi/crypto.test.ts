// crypto.subtle and friends inside an isolate, checked against node:crypto on the host.
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const DATA = 'the quick brown fox';
const b64 = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64');
const PRELUDE = `
const enc = new TextEncoder();
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const data = enc.encode(${JSON.stringify(DATA)});
`;

describe('crypto.subtle.digest', () => {
  for (const [alg, node] of [
    ['SHA-1', 'sha1'],
    ['SHA-256', 'sha256'],
    ['SHA-384', 'sha384'],
    ['SHA-512', 'sha512'],
    ['MD5', 'md5'],
  ]) {
    it(`${alg} matches node:crypto`, async () => {
      const out = await h.run(`${PRELUDE} return crypto.subtle.digest('${alg}', data);`);
      assert.deepEqual(out, nc.createHash(node).update(DATA).digest());
    });
  }
  it('rejects an unknown algorithm with NotSupportedError', async () => {
    const e = await h.fails(`${PRELUDE} return crypto.subtle.digest('SHA-3', data);`);
    assert.equal(e.name, 'NotSupportedError');
    assert.equal(e.isDOMException, true);
  });
  it('rejects non-BufferSource data with a TypeError', async () => {
    const e = await h.fails(`return crypto.subtle.digest('SHA-256', 'text');`);
    assert.equal(e.name, 'TypeError');
  });
  it('DigestStream hashes what is written', async () => {
    const out = await h.run(`${PRELUDE}
      const s = new crypto.DigestStream('SHA-256');
      const w = s.getWriter();
      await w.write(data.slice(0, 5)); await w.write(data.slice(5)); await w.close();
      return s.digest;`);
    assert.deepEqual(out, nc.createHash('sha256').update(DATA).digest());
  });
});

describe('signatures', () => {
  it('HMAC signs like node:crypto and verifies', async () => {
    const out = await h.run(`${PRELUDE}
      const key = await crypto.subtle.importKey('raw', enc.encode('k3y'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      const sig = await crypto.subtle.sign('HMAC', key, data);
      return { sig, ok: await crypto.subtle.verify('HMAC', key, sig, data), bad: await crypto.subtle.verify('HMAC', key, sig, enc.encode('x')), alg: key.algorithm, usages: key.usages, type: key.type };`);
    assert.deepEqual(out.sig, nc.createHmac('sha256', 'k3y').update(DATA).digest());
    assert.equal(out.ok, true);
    assert.equal(out.bad, false);
    assert.deepEqual(out.alg, { name: 'HMAC', hash: { name: 'SHA-256' }, length: 24 });
    assert.deepEqual(out.usages, ['sign', 'verify']);
    assert.equal(out.type, 'secret');
  });

  const pairs: [string, nc.KeyPairKeyObjectResult, string, string][] = [
    [
      'RSASSA-PKCS1-v1_5',
      nc.generateKeyPairSync('rsa', { modulusLength: 2048 }),
      `{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }`,
      `'RSASSA-PKCS1-v1_5'`,
    ],
    [
      'RSA-PSS',
      nc.generateKeyPairSync('rsa', { modulusLength: 2048 }),
      `{ name: 'RSA-PSS', hash: 'SHA-256' }`,
      `{ name: 'RSA-PSS', saltLength: 32 }`,
    ],
    [
      'ECDSA P-256',
      nc.generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      `{ name: 'ECDSA', namedCurve: 'P-256' }`,
      `{ name: 'ECDSA', hash: 'SHA-256' }`,
    ],
    [
      'ECDSA P-384',
      nc.generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      `{ name: 'ECDSA', namedCurve: 'P-384' }`,
      `{ name: 'ECDSA', hash: 'SHA-384' }`,
    ],
    ['Ed25519', nc.generateKeyPairSync('ed25519'), `{ name: 'Ed25519' }`, `'Ed25519'`],
    [
      'NODE-ED25519 (Workers alias)',
      nc.generateKeyPairSync('ed25519'),
      `{ name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' }`,
      `{ name: 'NODE-ED25519' }`,
    ],
  ];
  for (const [label, pair, importAlg, signAlg] of pairs) {
    it(`${label}: pkcs8/spki import, sign in the isolate, verify on the host and back`, async () => {
      const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
      const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
      const hostSig = signOnHost(label, pair.privateKey);
      const out = await h.run(
        `${PRELUDE}
        const priv = await crypto.subtle.importKey('pkcs8', fromB64(input.pkcs8), ${importAlg}, false, ['sign']);
        const pub = await crypto.subtle.importKey('spki', fromB64(input.spki), ${importAlg}, true, ['verify']);
        const sig = await crypto.subtle.sign(${signAlg}, priv, data);
        return { sig, hostOk: await crypto.subtle.verify(${signAlg}, pub, fromB64(input.hostSig), data), jwk: await crypto.subtle.exportKey('jwk', pub) };`,
        { pkcs8: b64(pkcs8), spki: b64(spki), hostSig: b64(hostSig) },
      );
      assert.equal(verifyOnHost(label, pair.publicKey, out.sig), true, 'host verifies the isolate signature');
      assert.equal(out.hostOk, true, 'isolate verifies the host signature');
      const again = nc.createPublicKey({ key: out.jwk, format: 'jwk' });
      assert.deepEqual(again.export({ format: 'der', type: 'spki' }), spki, 'jwk export round-trips');
    });
  }

  it('refuses a key used for an operation it does not allow (InvalidAccessError)', async () => {
    const e = await h.fails(`${PRELUDE}
      const key = await crypto.subtle.importKey('raw', enc.encode('k'), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      return crypto.subtle.sign('HMAC', key, data);`);
    assert.equal(e.name, 'InvalidAccessError');
  });
  it('refuses to export a non-extractable key', async () => {
    const e = await h.fails(`${PRELUDE}
      const key = await crypto.subtle.importKey('raw', enc.encode('k'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return crypto.subtle.exportKey('raw', key);`);
    assert.equal(e.name, 'InvalidAccessError');
  });
  it('CryptoKey and SubtleCrypto cannot be constructed', async () => {
    assert.equal((await h.fails('return new CryptoKey({ __outpostKey: 1 });')).name, 'TypeError');
    assert.equal((await h.fails('return new SubtleCrypto();')).name, 'TypeError');
  });
  it('a forged key object is not a key', async () => {
    const e = await h.fails(`${PRELUDE}
      return crypto.subtle.sign('HMAC', { __outpostKey: 1, type: 'secret' }, data);`);
    assert.equal(e.name, 'TypeError');
  });
});

function signOnHost(label: string, key: nc.KeyObject): Buffer {
  if (label.startsWith('RSA-PSS'))
    return nc.sign('sha256', Buffer.from(DATA), {
      key,
      padding: nc.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
  if (label.startsWith('ECDSA'))
    return nc.sign(label.endsWith('384') ? 'sha384' : 'sha256', Buffer.from(DATA), {
      key,
      dsaEncoding: 'ieee-p1363',
    });
  if (label.includes('25519')) return nc.sign(null, Buffer.from(DATA), key);
  return nc.sign('sha256', Buffer.from(DATA), key);
}

function verifyOnHost(label: string, key: nc.KeyObject, sig: Buffer): boolean {
  if (label.startsWith('RSA-PSS'))
    return nc.verify(
      'sha256',
      Buffer.from(DATA),
      { key, padding: nc.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      sig,
    );
  if (label.startsWith('ECDSA'))
    return nc.verify(
      label.endsWith('384') ? 'sha384' : 'sha256',
      Buffer.from(DATA),
      { key, dsaEncoding: 'ieee-p1363' },
      sig,
    );
  if (label.includes('25519')) return nc.verify(null, Buffer.from(DATA), key, sig);
  return nc.verify('sha256', Buffer.from(DATA), key, sig);
}

describe('encryption', () => {
  const key = nc.randomBytes(32);
  const iv16 = nc.randomBytes(16);
  const iv12 = nc.randomBytes(12);
  it('AES-GCM encrypts as node:crypto decrypts, and back', async () => {
    const out = await h.run(
      `${PRELUDE}
      const key = await crypto.subtle.importKey('raw', fromB64(input.key), 'AES-GCM', false, ['encrypt', 'decrypt']);
      const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: fromB64(input.iv), additionalData: enc.encode('ad') }, key, data);
      const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64(input.iv), additionalData: enc.encode('ad') }, key, ct);
      return { ct, pt: new TextDecoder().decode(pt) };`,
      { key: b64(key), iv: b64(iv12) },
    );
    const d = nc.createDecipheriv('aes-256-gcm', key, iv12);
    d.setAAD(Buffer.from('ad'));
    d.setAuthTag(out.ct.subarray(-16));
    assert.equal(Buffer.concat([d.update(out.ct.subarray(0, -16)), d.final()]).toString(), DATA);
    assert.equal(out.pt, DATA);
  });
  it('AES-GCM with a tampered ciphertext fails with OperationError', async () => {
    const e = await h.fails(
      `${PRELUDE}
      const key = await crypto.subtle.importKey('raw', fromB64(input.key), 'AES-GCM', false, ['encrypt', 'decrypt']);
      const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: fromB64(input.iv) }, key, data));
      ct[0] ^= 1;
      return crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64(input.iv) }, key, ct);`,
      { key: b64(key), iv: b64(iv12) },
    );
    assert.equal(e.name, 'OperationError');
  });
  for (const [alg, node, param] of [
    ['AES-CBC', 'aes-256-cbc', `{ name: 'AES-CBC', iv: fromB64(input.iv) }`],
    ['AES-CTR', 'aes-256-ctr', `{ name: 'AES-CTR', counter: fromB64(input.iv), length: 64 }`],
  ]) {
    it(`${alg} matches node:crypto`, async () => {
      const out = await h.run(
        `${PRELUDE}
        const key = await crypto.subtle.importKey('raw', fromB64(input.key), '${alg}', false, ['encrypt']);
        return crypto.subtle.encrypt(${param}, key, data);`,
        { key: b64(key), iv: b64(iv16) },
      );
      const c = nc.createCipheriv(node, key, iv16);
      assert.deepEqual(out, Buffer.concat([c.update(DATA), c.final()]));
    });
  }
  it('RSA-OAEP: the host decrypts what the isolate encrypted', async () => {
    const pair = nc.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const out = await h.run(
      `${PRELUDE}
      const pub = await crypto.subtle.importKey('spki', fromB64(input.spki), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
      return crypto.subtle.encrypt({ name: 'RSA-OAEP' }, pub, data);`,
      { spki: b64(pair.publicKey.export({ format: 'der', type: 'spki' })) },
    );
    const pt = nc.privateDecrypt(
      { key: pair.privateKey, oaepHash: 'sha256', padding: nc.constants.RSA_PKCS1_OAEP_PADDING },
      out,
    );
    assert.equal(pt.toString(), DATA);
  });
  it('AES-KW wraps a key the way node:crypto does', async () => {
    const kek = nc.randomBytes(16);
    const inner = nc.randomBytes(32);
    const out = await h.run(
      `${PRELUDE}
      const kek = await crypto.subtle.importKey('raw', fromB64(input.kek), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
      const inner = await crypto.subtle.importKey('raw', fromB64(input.inner), 'AES-GCM', true, ['encrypt']);
      const wrapped = await crypto.subtle.wrapKey('raw', inner, kek, 'AES-KW');
      const back = await crypto.subtle.unwrapKey('raw', wrapped, kek, 'AES-KW', 'AES-GCM', true, ['encrypt']);
      return { wrapped, back: await crypto.subtle.exportKey('raw', back) };`,
      { kek: b64(kek), inner: b64(inner) },
    );
    const c = nc.createCipheriv('id-aes128-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    assert.deepEqual(out.wrapped, Buffer.concat([c.update(inner), c.final()]));
    assert.deepEqual(out.back, inner);
  });
});

describe('key derivation and generation', () => {
  it('PBKDF2 matches node:crypto', async () => {
    const out = await h.run(`${PRELUDE}
      const base = await crypto.subtle.importKey('raw', enc.encode('password'), 'PBKDF2', false, ['deriveBits']);
      return crypto.subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1000, hash: 'SHA-256' }, base, 256);`);
    assert.deepEqual(out, nc.pbkdf2Sync('password', 'salt', 1000, 32, 'sha256'));
  });
  it('HKDF matches node:crypto', async () => {
    const out = await h.run(`${PRELUDE}
      const base = await crypto.subtle.importKey('raw', enc.encode('ikm'), 'HKDF', false, ['deriveBits']);
      return crypto.subtle.deriveBits({ name: 'HKDF', salt: enc.encode('salt'), info: enc.encode('info'), hash: 'SHA-256' }, base, 256);`);
    assert.deepEqual(out, Buffer.from(nc.hkdfSync('sha256', 'ikm', 'salt', 'info', 32)));
  });
  it('ECDH derives the secret node:crypto derives', async () => {
    const host = nc.createECDH('prime256v1');
    host.generateKeys();
    const out = await h.run(
      `${PRELUDE}
      const mine = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
      const theirs = await crypto.subtle.importKey('raw', fromB64(input.pub), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
      const bits = await crypto.subtle.deriveBits({ name: 'ECDH', public: theirs }, mine.privateKey, 256);
      return { bits, pub: await crypto.subtle.exportKey('raw', mine.publicKey) };`,
      { pub: b64(host.getPublicKey()) },
    );
    assert.deepEqual(out.bits, host.computeSecret(out.pub));
  });
  it('deriveKey makes a usable AES key from PBKDF2', async () => {
    const out = await h.run(`${PRELUDE}
      const base = await crypto.subtle.importKey('raw', enc.encode('pw'), 'PBKDF2', false, ['deriveKey']);
      const key = await crypto.subtle.deriveKey({ name: 'PBKDF2', salt: enc.encode('s'), iterations: 10, hash: 'SHA-256' }, base, { name: 'AES-GCM', length: 256 }, true, ['encrypt']);
      return { raw: await crypto.subtle.exportKey('raw', key), alg: key.algorithm };`);
    assert.deepEqual(out.raw, nc.pbkdf2Sync('pw', 's', 10, 32, 'sha256'));
    assert.deepEqual(out.alg, { name: 'AES-GCM', length: 256 });
  });
  it('generateKey makes RSA pairs whose public half exports as spki', async () => {
    // 1024 bits: a 2048-bit key's generation time varies widely (prime search) and, charged as
    // the worker's CPU, could pass the 1 s limit on a loaded machine; the export is the same.
    const out = await h.run(`
      const pair = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
      return { spki: await crypto.subtle.exportKey('spki', pair.publicKey), pubType: pair.publicKey.type, privType: pair.privateKey.type, modulus: pair.publicKey.algorithm.modulusLength };`);
    assert.equal(
      nc.createPublicKey({ key: out.spki, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength,
      1024,
    );
    assert.deepEqual([out.pubType, out.privType, out.modulus], ['public', 'private', 1024]);
  });
  it('timingSafeEqual compares bytes and refuses different lengths', async () => {
    assert.deepEqual(
      await h.run(
        `const e = new TextEncoder(); return [crypto.subtle.timingSafeEqual(e.encode('ab'), e.encode('ab')), crypto.subtle.timingSafeEqual(e.encode('ab'), e.encode('ac'))];`,
      ),
      [true, false],
    );
    assert.equal(
      (
        await h.fails(
          `const e = new TextEncoder(); return crypto.subtle.timingSafeEqual(e.encode('a'), e.encode('ab'));`,
        )
      ).name,
      'TypeError',
    );
  });
  it('getRandomValues and randomUUID still work beside subtle', async () => {
    const out = await h.run(
      `return [crypto.randomUUID(), crypto.getRandomValues(new Uint8Array(8)).length, crypto instanceof Crypto];`,
    );
    assert.match(out[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(out[1], 8);
    assert.equal(out[2], true);
  });
});

describe('key lifetime', () => {
  it('keys the worker drops cost the host nothing: 12,000 imports over eight requests, held keys keep working', async () => {
    // No per-isolate key table on the host (a worker that imports a key per request, as JWT
    // libraries do, must run forever). Spread over requests to stay well inside the CPU limit
    // (1,500 imports take ~0.5 s of CPU on a loaded 2-core machine).
    for (let round = 0; round < 8; round++) {
      const n = await h.run(
        `
        globalThis.held ??= [];
        for (let i = 0; i < 1500; i++) {
          const raw = new Uint8Array(16); raw[0] = i & 255; raw[1] = i >> 8; raw[2] = input.round;
          const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
          if (i % 500 === 0) globalThis.held.push(key);
        }
        const iv = new Uint8Array(12);
        for (const k of globalThis.held) await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, k, new Uint8Array(4));
        return globalThis.held.length;`,
        { round },
      );
      assert.equal(n, (round + 1) * 3);
    }
  });
});
