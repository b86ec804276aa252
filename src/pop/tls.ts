/**
 * TLS material for the PoP front: a certificate and key from files, or a development
 * certificate for localhost and 127.0.0.1 (self-signed, made once with `selfsigned` and kept in
 * `.outpost/tls/` so browsers can be told to trust it once).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '../runtime/index.ts';

export interface TlsMaterial {
  key: string;
  cert: string;
}

export function tlsFromFiles(certFile: string, keyFile: string): TlsMaterial {
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new OutpostError('BAD_TLS', `cannot read the TLS ${what} ${f}: ${(err as Error).message}`);
    }
  };
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  if (!cert.includes('BEGIN CERTIFICATE'))
    throw new OutpostError('BAD_TLS', `${certFile} is not a PEM certificate`);
  if (!/BEGIN [A-Z ]*PRIVATE KEY/.test(key))
    throw new OutpostError('BAD_TLS', `${keyFile} is not a PEM private key`);
  return { cert, key };
}

/** The development certificate of a project (made on first use). */
export async function devCertificate(rootDir: string): Promise<TlsMaterial> {
  const dir = join(rootDir, '.outpost', 'tls');
  const certFile = join(dir, 'dev-cert.pem');
  const keyFile = join(dir, 'dev-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return tlsFromFiles(certFile, keyFile);
  // Loaded only here: it and its X.509 library cost ~35 ms of every process's start otherwise.
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { cert: pems.cert, key: pems.private };
}
