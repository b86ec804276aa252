/**
 * Writing an answer to the client: a worker's response, or the site's cached or origin one
 * (src/pop/site-serve.ts). What was written is told to the request's end (request-end.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connectionListed, HOP_BY_HOP } from '../http/hop-by-hop.ts';
import { drained } from '../network/relay.ts';
import type { WorkerResponse } from '../runtime/index.ts';
import { recordWritten } from './request-end.ts';

export { HOP_BY_HOP } from '../http/hop-by-hop.ts';

const NO_BODY_STATUS = new Set([101, 204, 205, 304]);

/**
 * The one length a worker's Content-Length fields declare, null for none, or 'invalid' when
 * they are not one decimal number (RFC 9110 §8.6: a list of identical values counts as one).
 */
function declaredLength(values: string[]): number | null | 'invalid' {
  let n: number | null = null;
  for (const v of values)
    for (const part of v.split(',')) {
      const t = part.trim();
      if (!/^\d{1,15}$/.test(t) || (n !== null && Number(t) !== n)) return 'invalid';
      n = Number(t);
    }
  return n;
}

/**
 * Write a worker's response. The body's framing is the PoP's, never the worker's: a Content-Length
 * the worker set is kept only on a streamed body (as Workers does), and that body must then be
 * exactly that long. Written as it came, a body longer than its Content-Length put the rest on the
 * keep-alive connection as the next response (a second, worker-authored response to whoever sends
 * the next request on it); a shorter one left the client waiting for bytes that the next response
 * would supply. Now a longer body is cut at the declared length and its stream cancelled, and in
 * both cases the connection is closed (HTTP/2: the stream is reset) and a line logged.
 */
export async function writeResponse(
  req: IncomingMessage,
  res: ServerResponse,
  response: WorkerResponse,
  warn: (message: string) => void,
): Promise<void> {
  const headers: string[] = [];
  const lengths: string[] = [];
  const body = response.body;
  // Fields the response's own Connection names are hop-by-hop too (RFC 9110 §7.6.1).
  const connection: string[] = [];
  for (let i = 0; i < response.headers.length; i += 2)
    if (response.headers[i].toLowerCase() === 'connection') connection.push(response.headers[i + 1]);
  const listed = connectionListed(connection);
  for (let i = 0; i < response.headers.length; i += 2) {
    // Lower-cased here: the framing checks below must not be dodged by "Content-Length".
    const name = response.headers[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || listed.has(name)) continue;
    // The PoP's own cf-ray comes last; one a worker or an origin set is not passed on.
    if (name === 'cf-ray' && i !== response.headers.length - 2) continue;
    if (name === 'content-length') lengths.push(response.headers[i + 1]);
    else headers.push(name, response.headers[i + 1]);
  }
  const noBody = req.method === 'HEAD' || NO_BODY_STATUS.has(response.status);
  const out = { bytes: 0, cacheStatus: headerValue(response.headers, 'cf-cache-status') ?? 'none' };
  recordWritten(res, out);
  if (body instanceof Uint8Array) {
    // A whole body is sent with its real length, whatever the worker said.
    if (!noBody) headers.push('content-length', String(body.byteLength));
    if (!noBody) out.bytes = body.byteLength;
    res.writeHead(response.status, response.statusText || undefined, headers);
    res.end(noBody ? undefined : body);
    return;
  }
  let length = lengths.length ? declaredLength(lengths) : null;
  if (length === 'invalid') {
    warn(`Content-Length "${lengths.join(', ').slice(0, 100)}" is not one length: not sent`);
    length = null;
  }
  if (length !== null && (body !== null || noBody)) headers.push('content-length', String(length));
  if (body === null) {
    // No body: a HEAD, 204 or 304 may say the length of what it stands for; any other is empty.
    res.writeHead(response.status, response.statusText || undefined, headers);
    res.end();
    return;
  }
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (noBody) {
    body.cancel('no body for this response');
    return void res.end();
  }
  let closed = false;
  res.on('close', () => {
    if (!res.writableFinished) {
      closed = true;
      body.cancel('client disconnected');
    }
  });
  let sent = 0;
  try {
    for (;;) {
      const chunk = await body.next();
      if (chunk === null || closed) break;
      if (length !== null && sent + chunk.byteLength > length) {
        body.cancel('the body is longer than its Content-Length');
        // What fits is the response as declared: sent, and flushed before the connection closes.
        const fits = chunk.subarray(0, length - sent);
        if (fits.byteLength > 0) await new Promise<void>((done) => res.write(fits, () => done()));
        throw new Error(`the response body is longer than its Content-Length (${length} bytes)`);
      }
      sent += chunk.byteLength;
      out.bytes = sent;
      if (!res.write(chunk)) await drained(res);
    }
    if (!closed && length !== null && sent < length)
      throw new Error(
        `the response body ended after ${sent} of the ${length} bytes its Content-Length declared`,
      );
    res.end();
  } catch (err) {
    // Headers were sent: the only honest signal left is closing the connection (or the stream).
    if (!closed) warn(`${(err as Error).message}: connection closed`);
    res.destroy();
  }
}

export function headerValue(flat: string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

export { drained };
