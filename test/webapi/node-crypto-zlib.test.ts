// node:crypto, node:zlib and node:assert under nodejs_compat (test/fixtures/node-crypto-zlib):
// what the worker computes is checked against Node's own modules given the same inputs, errors
// keep Node's classes and codes, and the caps on host work refuse before any work is done.
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { startFixture, type TestDev } from '../helpers.ts';

let dev: TestDev;
before(async () => {
  // Generous CPU: RSA key generation and scrypt are real work on a loaded machine.
  dev = await startFixture('node-crypto-zlib', { limits: { cpuMs: 5000 } });
});
after(() => dev.close());

async function json(path: string, body?: unknown): Promise<any> {
  const res = await fetch(
    `${dev.url}/${path}`,
    body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
  );
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b as Uint8Array).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('node:crypto', () => {
  it('pbkdf2, scrypt and hkdf derive what Node derives', async () => {
    assert.deepEqual(await json('kdf'), {
      pbkdf2: hex(nc.pbkdf2Sync('password', 'salt', 1000, 32, 'sha256')),
      pbkdf2Sha512: hex(nc.pbkdf2Sync('password', 'salt', 2000, 64, 'sha512')),
      scrypt: hex(nc.scryptSync('password', 'salt', 64)),
      scryptOpts: hex(nc.scryptSync('password', 'salt', 32, { N: 1024, r: 8, p: 2 })),
      scryptCb: hex(nc.scryptSync('pw', 'NaCl', 16, { cost: 2048, blockSize: 4 })),
      hkdf: hex(nc.hkdfSync('sha256', 'key', 'salt', 'info', 42)),
      hkdfCb: hex(nc.hkdfSync('sha384', 'ikm', 'salt', 'info', 20)),
    });
  });

  it('hashes: any of Node’s digests, copy(), HMAC with a KeyObject', async () => {
    const h = nc.createHash('sha256').update('abc');
    const copied = h.copy().update('def').digest('hex');
    assert.deepEqual(await json('hash'), {
      sha256: h.digest('hex'),
      copied,
      sha3: nc.createHash('sha3-256').update('abc').digest('base64'),
      sha512_256: nc.createHash('sha512-256').update('abc').digest('hex'),
      hmacKeyObject: nc.createHmac('sha256', 'k').update('abc').digest('hex'),
      hashes: true,
    });
  });

  it('ciphers encrypt to Node’s bytes (and tags) and decrypt their own', async () => {
    const r = await json('cipher');
    const plain = 'The quick brown fox jumps over the lazy dog. '.repeat(3);
    const aad = Buffer.from('header');
    const cases: Array<[string, Buffer, Buffer | null]> = [
      ['aes-128-cbc', Buffer.alloc(16, 1), Buffer.alloc(16, 4)],
      ['aes-192-cbc', Buffer.alloc(24, 2), Buffer.alloc(16, 4)],
      ['aes-256-cbc', Buffer.alloc(32, 3), Buffer.alloc(16, 4)],
      ['aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16, 4)],
      ['aes-256-ctr', Buffer.alloc(32, 3), Buffer.alloc(16, 4)],
      ['aes-128-ecb', Buffer.alloc(16, 1), null],
      ['aes-256-ecb', Buffer.alloc(32, 3), null],
      ['aes-128-gcm', Buffer.alloc(16, 1), Buffer.alloc(12, 5)],
      ['aes-256-gcm', Buffer.alloc(32, 3), Buffer.alloc(12, 5)],
      ['chacha20-poly1305', Buffer.alloc(32, 3), Buffer.alloc(12, 5)],
    ];
    for (const [alg, key, iv] of cases) {
      const c = nc.createCipheriv(alg, key, iv) as nc.CipherGCM;
      const aead = /gcm|poly/.test(alg);
      if (aead) c.setAAD(aad);
      const enc = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      assert.deepEqual(
        r[alg],
        { enc: hex(enc), tag: aead ? hex(c.getAuthTag()) : null, roundTrip: true },
        alg,
      );
    }
    const c = nc.createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16, 4));
    assert.equal(
      r.base64,
      c.update('ab', 'utf8', 'base64') + c.update('cdefg', 'utf8', 'base64') + c.final('base64'),
    );
    const p = nc
      .createCipheriv('aes-128-cbc', Buffer.alloc(16, 1), Buffer.alloc(16, 4))
      .setAutoPadding(false);
    assert.equal(r.noPadding, hex(Buffer.concat([p.update(Buffer.alloc(32, 7)), p.final()])));
    assert.ok(r.ciphers.includes('aes-256-gcm') && r.ciphers.includes('chacha20-poly1305'));
  });

  it('deciphers what Node enciphered (GCM with AAD and tag, CBC)', async () => {
    const key = nc.randomBytes(32);
    const iv = nc.randomBytes(12);
    const c = nc.createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from('aad'));
    const data = Buffer.concat([c.update('from node'), c.final()]);
    assert.deepEqual(
      await json('decipher', {
        alg: 'aes-256-gcm',
        key: b64(key),
        iv: b64(iv),
        data: b64(data),
        tag: b64(c.getAuthTag()),
        aad: b64(Buffer.from('aad')),
      }),
      { plain: 'from node' },
    );
    const civ = nc.randomBytes(16);
    const cbc = nc.createCipheriv('aes-256-cbc', key, civ);
    const enc = Buffer.concat([cbc.update('cbc from node, more than one block'), cbc.final()]);
    assert.deepEqual(
      await json('decipher', { alg: 'aes-256-cbc', key: b64(key), iv: b64(civ), data: b64(enc) }),
      {
        plain: 'cbc from node, more than one block',
      },
    );
  });

  it('KeyObjects import PEM, DER and JWK, export like Node, and sign/verify/encrypt across', async () => {
    const rsa = nc.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = nc.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = nc.generateKeyPairSync('ed25519');
    const data = Buffer.from('message to sign');
    const rsaPrivate = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const r = await json('keys', {
      rsaPrivate,
      rsaPublicPem,
      rsaPublicJwk: rsa.publicKey.export({ format: 'jwk' }),
      ecPrivateDer: b64(ec.privateKey.export({ type: 'pkcs8', format: 'der' }) as Buffer),
      edPrivate: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      nodeRsaSig: b64(nc.sign('sha256', data, rsa.privateKey)),
      nodeEdSig: b64(nc.sign(null, data, ed.privateKey)),
      nodeEncrypted: b64(nc.publicEncrypt(rsa.publicKey, Buffer.from('for the worker'))),
    });
    assert.deepEqual(r.rsa, { type: 'private', kind: 'rsa', bits: 2048 });
    assert.equal(r.exponent, '65537');
    assert.equal(r.pubPem, rsaPublicPem);
    assert.equal(r.pkcs1, rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    assert.deepEqual(r.jwk, rsa.publicKey.export({ format: 'jwk' }));
    assert.equal(r.jwkEquals, true);
    assert.deepEqual(r.ec, { type: 'private', kind: 'ec', curve: 'prime256v1' });
    assert.equal(r.ed, 'ed25519');
    assert.deepEqual(r.secret, {
      type: 'secret',
      size: 6,
      raw: 'secret',
      jwk: { kty: 'oct', k: 'c2VjcmV0' },
    });
    assert.equal(r.isKeyObject, true);
    // Deterministic signatures are Node's bytes; the others verify in Node.
    assert.equal(r.rsaSig, hex(nc.sign('sha256', data, rsa.privateKey)));
    assert.equal(r.rsaSigStream, r.rsaSig);
    assert.equal(r.edSig, hex(nc.sign(null, data, ed.privateKey)));
    const pss = { key: rsa.publicKey, padding: nc.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    assert.ok(nc.verify('sha256', data, pss, Buffer.from(r.pssSig, 'base64')), 'RSA-PSS');
    assert.ok(nc.verify('sha256', data, ec.publicKey, Buffer.from(r.ecSig, 'base64')), 'ECDSA');
    const p1363 = { key: ec.publicKey, dsaEncoding: 'ieee-p1363' as const };
    assert.ok(nc.verify('sha256', data, p1363, Buffer.from(r.ecSigP1363, 'base64')), 'ECDSA P1363');
    assert.equal(r.verifyNode, true);
    assert.equal(r.verifyNodeStream, true);
    assert.equal(r.verifyBad, false);
    assert.equal(r.verifyEd, true);
    const oaep = { key: rsa.privateKey, oaepHash: 'sha256' };
    assert.equal(nc.privateDecrypt(oaep, Buffer.from(r.oaep, 'base64')).toString(), 'secret note');
    assert.equal(r.decrypted, 'for the worker');
  });

  it('generates key pairs Node can use', async () => {
    const r = await json('generate');
    const data = Buffer.from('generated');
    assert.ok(nc.verify('sha256', data, nc.createPublicKey(r.ecPublic), Buffer.from(r.ecSig, 'base64')));
    assert.ok(nc.verify(null, data, nc.createPublicKey(r.edPublic), Buffer.from(r.edSig, 'base64')));
    const rsaPub = nc.createPublicKey({
      key: Buffer.from(r.rsaPublicDer, 'base64'),
      format: 'der',
      type: 'spki',
    });
    assert.ok(nc.verify('sha256', data, rsaPub, Buffer.from(r.rsaSig, 'base64')));
    assert.equal(r.rsaBits, 3072);
    assert.equal(r.rsaSyncBits, 1024);
    // generateKeyPairSync holds the host's main thread: RSA up to 2048 bits.
    assert.deepEqual([r.rsaSyncLarge.name, r.rsaSyncLarge.code], ['RangeError', 'ERR_OUT_OF_RANGE']);
    assert.match(r.rsaSyncLarge.message, /generateKeyPairSync makes RSA keys of 512 to 2048 bits/);
  });

  it('random numbers, UUIDs and timingSafeEqual', async () => {
    assert.deepEqual(await json('random'), {
      uuid: true,
      intsInRange: true,
      intsVary: true,
      values: 8,
      filled: 4,
      equal: true,
      unequal: false,
      subtle: 'function',
    });
  });

  it('errors keep Node’s classes, codes and messages; caps refuse with a RangeError', async () => {
    const r = await json('errors');
    const node = (fn: () => unknown) => {
      try {
        fn();
        return { ok: true };
      } catch (e) {
        const err = e as Error & { code?: string };
        return { ok: false, name: err.name, code: err.code ?? null, message: err.message };
      }
    };
    const key = Buffer.alloc(16, 1);
    const iv = Buffer.alloc(16, 4);
    // As Node says it.
    for (const [name, fn] of Object.entries({
      badDecrypt: () => {
        const d = nc.createDecipheriv('aes-128-cbc', key, iv);
        d.update(Buffer.alloc(16));
        d.final();
      },
      pbkdf2NoDigest: () => (nc.pbkdf2Sync as any)('p', 's', 1, 32),
      pbkdf2BadDigest: () => nc.pbkdf2Sync('p', 's', 1, 32, 'nope'),
      pbkdf2Zero: () => nc.pbkdf2Sync('p', 's', 0, 32, 'sha256'),
      unknownCipher: () => nc.createCipheriv('aes-128-foo', key, iv),
      badKey: () => nc.createCipheriv('aes-128-cbc', Buffer.alloc(15), iv),
      badIv: () => nc.createCipheriv('aes-128-cbc', key, Buffer.alloc(15)),
      timingLength: () => nc.timingSafeEqual(Buffer.alloc(1), Buffer.alloc(2)),
      randomInt: () => nc.randomInt(5, 1),
    }))
      assert.deepEqual(r[name], node(fn), name);
    // Not computed here: a failed scrypt poisons Node's next crypto call in this process.
    assert.deepEqual(r.scryptMaxmem, {
      ok: false,
      name: 'RangeError',
      code: 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS',
      message: 'Invalid scrypt params: error:030000AC:digital envelope routines::memory limit exceeded',
    });
    assert.deepEqual(r.unknownHash, {
      ok: false,
      name: 'Error',
      code: null,
      message: 'Digest method not supported',
    });
    assert.deepEqual(
      { name: r.badTag.name, message: r.badTag.message },
      { name: 'Error', message: 'Unsupported state or unable to authenticate data' },
    );
    assert.deepEqual(
      [r.afterFinal.code, r.hashArg.code],
      ['ERR_CRYPTO_INVALID_STATE', 'ERR_INVALID_ARG_TYPE'],
    );
    assert.equal(r.badPem.ok, false);
    // Outpost's caps: refused, named, before any work.
    assert.deepEqual([r.pbkdf2TooMany.name, r.pbkdf2TooMany.code], ['RangeError', 'ERR_OUT_OF_RANGE']);
    assert.match(r.pbkdf2TooMany.message, /iteration counts above 100000 are not supported/);
    for (const k of ['scryptHugeN', 'scryptHugeP']) {
      assert.deepEqual([r[k].name, r[k].code], ['RangeError', 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS'], k);
      assert.match(r[k].message, /Outpost allows at most 64 MiB of memory \(128·N·r\) and N·r·p ≤ 524288/);
    }
    assert.deepEqual([r.rsaHuge.name, r.rsaHuge.code], ['RangeError', 'ERR_OUT_OF_RANGE']);
    assert.match(r.rsaHuge.message, /512 to 2048 bits.*generateKeyPair makes them up to 4096 bits/);
    assert.match(r.dsa.message, /Outpost generates rsa, rsa-pss, ec/);
  });

  it('encrypted private keys: decrypted under the caps, refused past them before the KDF runs', async () => {
    const { privateKey } = nc.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' });
    assert.deepEqual(await json('import-key', { pem, passphrase: 'pw' }), { ok: true, value: 'ec' });
    // The same structure with PBKDF2 at 10,000,000 iterations (seconds of host CPU to decrypt).
    const der = (tag: number, ...parts: Buffer[]) => {
      const body = Buffer.concat(parts);
      const len =
        body.length < 128
          ? Buffer.from([body.length])
          : Buffer.from([0x82, body.length >> 8, body.length & 255]);
      return Buffer.concat([Buffer.from([tag]), len, body]);
    };
    const oid = (h: string) => der(0x06, Buffer.from(h, 'hex'));
    const costly = der(
      0x30,
      der(
        0x30,
        oid('2a864886f70d01050d'),
        der(
          0x30,
          der(
            0x30,
            oid('2a864886f70d01050c'),
            der(0x30, der(0x04, Buffer.alloc(8, 1)), der(0x02, Buffer.from('00989680', 'hex'))),
          ),
          der(0x30, oid('60864801650304012a'), der(0x04, Buffer.alloc(16, 2))),
        ),
      ),
      der(0x04, Buffer.alloc(48, 3)),
    );
    const costlyPem = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${costly.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
    for (const asBytes of [false, true]) {
      const r = await json('import-key', { pem: costlyPem, passphrase: 'pw', asBytes });
      assert.deepEqual(
        [r.ok, r.name, r.code],
        [false, 'RangeError', 'ERR_OUT_OF_RANGE'],
        `asBytes ${asBytes}`,
      );
      assert.match(r.message, /iteration counts above 100000 are not supported.*Received 10000000/);
    }
  });

  it('a scrypt with huge N is refused, not run', async () => {
    const t0 = performance.now();
    const r = await json('scrypt-huge');
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS');
    assert.match(r.message, /requested N=1048576, r=8, p=1/);
    // 1 GiB and seconds of work had it run; refused, it costs nothing.
    assert.ok(performance.now() - t0 < 2000);
  });
});

describe('node:zlib', () => {
  const text = 'hello zlib '.repeat(200);

  it('compresses to streams Node decompresses; crc32 and constants as Node', async () => {
    const r = await json('zlib');
    assert.equal(zlib.gunzipSync(Buffer.from(r.gzip, 'base64')).toString(), text);
    assert.equal(zlib.inflateSync(Buffer.from(r.deflate, 'base64')).toString(), text);
    assert.equal(zlib.inflateRawSync(Buffer.from(r.deflateRaw, 'base64')).toString(), text);
    // The gzip header is Node's (no mtime, OS unix); the deflate bytes are fflate's own.
    assert.equal(
      hex(Buffer.from(r.gzip, 'base64').subarray(0, 10)),
      hex(zlib.gzipSync(text).subarray(0, 10)),
    );
    assert.equal(r.roundTrip, true);
    assert.equal(r.crc32, zlib.crc32('hello'));
    assert.equal(r.crc32Chained, zlib.crc32('hello world'));
    assert.deepEqual(r.constants, [9, 2, 3]);
  });

  it('decompresses what Node compressed: gzip (multi-member), zlib, raw, unzip, callbacks', async () => {
    const multi = Buffer.concat([zlib.gzipSync('first '), zlib.gzipSync('second')]);
    assert.deepEqual(
      await json('inflate', {
        gzip: b64(zlib.gzipSync(text)),
        deflate: b64(zlib.deflateSync(text)),
        raw: b64(zlib.deflateRawSync(text)),
        multi: b64(multi),
      }),
      {
        gunzip: text,
        inflate: text,
        inflateRaw: text,
        unzip: text,
        multiMember: 'first second',
        callback: text,
      },
    );
  });

  it('Transform streams (createGzip/createGunzip through pipeline, createDeflateRaw)', async () => {
    const r = await json('zlib-stream');
    assert.equal(r.same, true);
    assert.equal(zlib.inflateRawSync(Buffer.from(r.raw, 'base64')).toString(), 'raw stream');
  });

  it('bounds inflate output by maxOutputLength, as Node (a decompression bomb stops early)', async () => {
    const bomb = zlib.deflateSync(Buffer.alloc(128 * 1024 * 1024));
    const t0 = performance.now();
    const res = await fetch(`${dev.url}/zlib-bomb`, { method: 'POST', body: bomb });
    const r = (await res.json()) as any;
    assert.deepEqual(r.limited, {
      ok: false,
      name: 'RangeError',
      code: 'ERR_BUFFER_TOO_LARGE',
      message: 'Cannot create a Buffer larger than 1048576 bytes',
    });
    // A stream hands its output on in pieces: its consumer can stop it.
    assert.deepEqual(r.stream, {
      ok: false,
      name: 'RangeError',
      code: null,
      message: 'consumer stopped at 4 MiB',
    });
    // Stopped near the bounds, not after inflating 128 MiB (twice).
    assert.ok(performance.now() - t0 < 3000, `${performance.now() - t0} ms`);
  });

  it('errors as Node; brotli says it is missing', async () => {
    const r = await json('zlib-errors');
    assert.deepEqual(r.notGzip, {
      ok: false,
      name: 'Error',
      code: 'Z_DATA_ERROR',
      message: 'incorrect header check',
    });
    assert.deepEqual(r.notZlib, {
      ok: false,
      name: 'Error',
      code: 'Z_DATA_ERROR',
      message: 'incorrect header check',
    });
    assert.deepEqual(r.truncated, {
      ok: false,
      name: 'Error',
      code: 'Z_BUF_ERROR',
      message: 'unexpected end of file',
    });
    for (const k of ['brotli', 'brotliStream']) {
      assert.equal(r[k].ok, false);
      assert.match(r[k].message, /Outpost does not provide brotli in node:zlib/);
    }
  });
});

describe('node:assert', () => {
  it('passes, fails with AssertionError (code, operator) as Node, and is callable with .strict', async () => {
    const r = await json('assert');
    assert.equal(r.callable, true);
    assert.equal(r.strictSame, true);
    assert.deepEqual(r.passes, { ok: true, value: null });
    const expect: Record<string, [operator: string, message: string | RegExp, generated: boolean]> = {
      ok: ['==', 'false == true', true],
      okMessage: ['==', 'custom message', false],
      equal: ['==', '1 == 2', true],
      strictEqual: ['strictEqual', /^Expected values to be strictly equal:\n\n1 !== '1'\n/, true],
      deepStrictEqual: ['deepStrictEqual', /^Expected values to be strictly deep-equal:/, true],
      deepEqual: ['deepEqual', /^Expected values to be loosely deep-equal:/, true],
      strictDeepEqual: ['deepStrictEqual', /^Expected values to be strictly deep-equal:/, true],
      notDeepStrictEqual: [
        'notDeepStrictEqual',
        /^Expected "actual" not to be strictly deep-equal to:/,
        true,
      ],
      throwsMissing: ['throws', 'Missing expected exception.', false],
      throwsWrongClass: [
        'throws',
        'The error is expected to be an instance of "RangeError". Received "TypeError"\n\nError message:\n\nx',
        true,
      ],
      doesNotThrow: ['doesNotThrow', 'Got unwanted exception.\nActual message: "oops"', false],
      match: ['match', "The input did not match the regular expression /z/. Input:\n\n'abc'\n", true],
      fail: ['fail', 'boom', false],
      ifError: ['ifError', 'ifError got unwanted exception: inner', false],
    };
    for (const [name, [operator, message, generated]] of Object.entries(expect)) {
      const got = r[name];
      assert.deepEqual(
        {
          isAssertionError: got.isAssertionError,
          name: got.name,
          code: got.code,
          operator: got.operator,
          generated: got.generatedMessage,
        },
        { isAssertionError: true, name: 'AssertionError', code: 'ERR_ASSERTION', operator, generated },
        name,
      );
      if (typeof message === 'string') assert.equal(got.message, message, name);
      else assert.match(got.message, message, name);
    }
    // An Error as the message is thrown as it is.
    assert.deepEqual([r.errorMessage.name, r.errorMessage.message], ['RangeError', 'mine']);
    assert.deepEqual(
      [r.rejects.code, r.rejects.message, r.rejectsOk.ok],
      ['ERR_ASSERTION', 'Missing expected rejection.', true],
    );
    assert.equal(r.doesNotReject.message, 'Got unwanted rejection.\nActual message: "nope"');
  });
});
