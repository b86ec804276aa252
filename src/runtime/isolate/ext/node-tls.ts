/**
 * node:tls (nodejs_compat): `tls.connect()` — a node:net Socket over a TLS connection made by
 * the host (`connect()` with secureTransport "on", the server name from `servername` or the
 * host). Certificates are checked against the host's trust store; servers do not exist.
 */
import { normalize, Socket } from 'node:net';

export class TLSSocket extends Socket {}

export function connect(...args: any[]): TLSSocket {
  const [options, cb] = normalize(args);
  return new TLSSocket().open(options, true, cb);
}

export function createServer(): never {
  throw new Error('node:tls servers are not available in Workers');
}

export const DEFAULT_MIN_VERSION = 'TLSv1.2';
export const DEFAULT_MAX_VERSION = 'TLSv1.3';
export default { connect, TLSSocket, createServer, DEFAULT_MIN_VERSION, DEFAULT_MAX_VERSION };
