/**
 * Durable Object calls between the nodes of a network: a node sends a call to the node that owns
 * the object (src/runtime/objects.ts decides where), over HTTP on the owner's own port, under
 * `/__outpost/peer/object`, with the network's shared secret (a node is no open door to every
 * tenant's objects). The call is V8-serialized (structured clone, as RPC arguments are):
 *
 *   request   POST, Outpost-Peer-Secret, body = v8(PeerObjectCall)
 *   RPC       200, body = v8({ value } | { error: { name, message } })
 *   fetch     200, Outpost-Object-Response = base64(v8({ status, statusText, headers })),
 *             body = the object's response body, streamed
 *   refused   409 + JSON owner: this node does not own the object (the caller asks again)
 *
 * A call that never reached the owner (connection refused) is OwnerUnreachable: the caller may
 * wait and retry, nothing ran. A connection that broke after the call was sent may have run it:
 * that is "Network connection lost" for the caller, never retried here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deserialize, serialize } from 'node:v8';
import { Agent, request } from 'undici';
import { ObjectElsewhere, type OwnerEntry } from '../durable-objects/index.ts';
import { fromAsyncIterable } from '../runtime/bridge/bodies.ts';
import { NamedError } from '../runtime/bridge/named-error.ts';
import {
  type DurableObjects,
  type ObjectPeers,
  OwnerUnreachable,
  type PeerObjectCall,
  type WorkerResponse,
} from '../runtime/index.ts';
import { secretMatches } from './shield.ts';

export const PEER_OBJECT_PATH = '/__outpost/peer/object';
const SECRET = 'outpost-peer-secret';
const RESPONSE = 'outpost-object-response';
/** The largest call body a node accepts from a peer (a request body read whole, plus framing). */
const MAX_CALL_BYTES = 128 * 1024 * 1024;

/** Codes that mean the connection was never made: nothing reached the owner. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export function objectPeers(o: {
  secret: string;
  timeoutMs?: number;
}): ObjectPeers & { close(): Promise<void> } {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 4000, connectTimeout: 2000 });
  return {
    async call(owner: OwnerEntry, call: PeerObjectCall, signal?: AbortSignal): Promise<unknown> {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(new URL(PEER_OBJECT_PATH, owner.url), {
          method: 'POST',
          dispatcher: agent,
          headers: { [SECRET]: o.secret, 'content-type': 'application/octet-stream' },
          body: serialize(call),
          ...(signal ? { signal } : {}),
          headersTimeout: o.timeoutMs ?? 60_000,
          bodyTimeout: o.timeoutMs ?? 60_000,
        });
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
        if (code && NOT_REACHED.has(code))
          throw new OwnerUnreachable(`node ${owner.node} (${owner.url}) did not answer: ${code}`);
        throw new NamedError(`Network connection lost (to the Durable Object's node ${owner.node})`, 'Error');
      }
      if (res.statusCode === 409) {
        const entry = (await res.body.json().catch(() => null)) as OwnerEntry | null;
        throw new ObjectElsewhere(entry);
      }
      if (res.statusCode !== 200) {
        const text = await res.body.text().catch(() => '');
        throw new NamedError(
          `the Durable Object's node ${owner.node} refused the call (${res.statusCode}): ${text.slice(0, 200)}`,
          'Error',
        );
      }
      const head = res.headers[RESPONSE];
      if (typeof head === 'string') {
        const meta = deserialize(Buffer.from(head, 'base64')) as Omit<WorkerResponse, 'body'>;
        const body = res.body;
        return {
          status: meta.status,
          statusText: meta.statusText,
          headers: meta.headers,
          body: fromAsyncIterable(body, () => body.destroy()),
        } satisfies WorkerResponse;
      }
      const out = deserialize(Buffer.from(await res.body.arrayBuffer())) as
        | { value: unknown }
        | { error: { name: string; message: string } };
      if ('error' in out) throw new NamedError(out.error.message, out.error.name);
      return out.value;
    },
    close: () => agent.close(),
  };
}

/** Serve a peer's call on this node; false when the request is not one (not this path). */
export async function servePeerObject(
  req: IncomingMessage,
  res: ServerResponse,
  o: { secret: string; pop: string; objects: () => DurableObjects | null },
): Promise<boolean> {
  if ((req.url ?? '').split('?')[0] !== PEER_OBJECT_PATH) return false;
  const objects = o.objects();
  const h = req.headers[SECRET];
  if (req.method !== 'POST' || !objects || !secretMatches(typeof h === 'string' ? h : undefined, o.secret)) {
    req.resume();
    res.writeHead(403, { 'content-type': 'text/plain' }).end('not a peer of this network\n');
    return true;
  }
  let call: PeerObjectCall;
  try {
    call = deserialize(await readAll(req)) as PeerObjectCall;
    if (!call || typeof call.tenant !== 'string' || typeof call.id !== 'string' || !call.op)
      throw new Error('not a Durable Object call');
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    return true;
  }
  try {
    const out = await objects.peerCall(o.pop, call);
    if (call.op.kind === 'rpc') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(serialize({ value: out }));
      return true;
    }
    const r = out as WorkerResponse;
    if (r.webSocket) {
      r.webSocket.refuse('WebSocket connections to a Durable Object on another node are not supported yet');
      throw new NamedError(
        'WebSocket connections to a Durable Object owned by another node are not supported yet: connect through a node of the PoP that owns it',
        'Error',
      );
    }
    const meta = serialize({ status: r.status, statusText: r.statusText, headers: r.headers });
    res.writeHead(200, { 'content-type': 'application/octet-stream', [RESPONSE]: meta.toString('base64') });
    if (r.body instanceof Uint8Array) res.end(r.body);
    else if (r.body) {
      const body = r.body;
      res.once('close', () => body.cancel('the calling node went away'));
      for (let c = await body.next(); c; c = await body.next())
        if (!res.write(c)) await new Promise((ok) => res.once('drain', ok));
      res.end();
    } else res.end();
  } catch (err) {
    if (err instanceof ObjectElsewhere) {
      res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify(err.owner));
      return true;
    }
    if (res.headersSent) {
      res.destroy(err as Error);
      return true;
    }
    const e = err as { name?: string; message?: string };
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(
      serialize({
        error: { name: typeof e.name === 'string' ? e.name : 'Error', message: String(e.message ?? err) },
      }),
    );
  }
  return true;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_CALL_BYTES) throw new Error(`call larger than ${MAX_CALL_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
