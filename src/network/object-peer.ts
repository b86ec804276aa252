/**
 * Durable Object calls between the nodes of a network: a node sends a call to the node that owns
 * the object (src/durable-objects/across-nodes.ts decides where), over HTTP on the owner's own port, under
 * `/__outpost/peer/object`, with the network's shared secret (a node is no open door to every
 * tenant's objects). The call is V8-serialized (structured clone, as RPC arguments are):
 *
 *   request   POST, Outpost-Peer-Secret, body = v8(PeerObjectCall)
 *   RPC       200, body = v8({ value } | { error: { name, message } })
 *   fetch     200, Outpost-Object-Response = base64(v8({ status, statusText, headers })),
 *             body = the object's response body, streamed
 *   refused   409 + JSON owner: this node does not own the object (the caller asks again)
 *
 * A WebSocket upgrade (`stub.fetch()` of an Upgrade: websocket request) is a WebSocket between the
 * nodes instead: the call travels in the Outpost-Object-Call header of the upgrade request, the
 * owner attaches the object's end to that connection (so hibernation stays at the owner), and the
 * calling node bridges it to its client message by message, with back-pressure
 * (socket-bridge.ts). The owner's node dying closes the client's socket abnormally (1006):
 * clients reconnect and reach the next owner.
 *
 * A call that never reached the owner (connection refused) is OwnerUnreachable: the caller may
 * wait and retry, nothing ran. A connection that broke after the call was sent may have run it:
 * that is "Network connection lost" for the caller, never retried here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { deserialize, serialize } from 'node:v8';
import type { Agent, Dispatcher } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import {
  type DurableObjects,
  ObjectElsewhere,
  type ObjectPeers,
  type OwnerEntry,
  OwnerUnreachable,
  type PeerObjectCall,
} from '../durable-objects/index.ts';
import { undici } from '../http/undici.ts';
import { fromAsyncIterable } from '../runtime/bridge/bodies.ts';
import { NamedError } from '../runtime/bridge/named-error.ts';
import type { WorkerResponse } from '../runtime/index.ts';
import { secretMatches } from './shield.ts';
import { bridge } from './socket-bridge.ts';

export const PEER_OBJECT_PATH = '/__outpost/peer/object';
const SECRET = 'outpost-peer-secret';
const RESPONSE = 'outpost-object-response';
const CALL = 'outpost-object-call';
/** The largest call body a node accepts from a peer (a request body read whole, plus framing). */
const MAX_CALL_BYTES = 128 * 1024 * 1024;

/** Codes that mean the connection was never made: nothing reached the owner. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export function objectPeers(o: {
  secret: string;
  timeoutMs?: number;
}): ObjectPeers & { close(): Promise<void> } {
  // Response headers travel in one header (a large set of them grows past undici's 16 KiB default).
  // Made on first use (undici.ts); after close, one already closed (calls fail, as before).
  let made: Agent | null = null;
  let closed = false;
  const agent = (): Agent => {
    if (made === null) {
      made = new (undici().Agent)({
        connections: 64,
        keepAliveTimeout: 4000,
        connectTimeout: 2000,
        maxHeaderSize: 1024 * 1024,
      });
      if (closed) void made.close();
    }
    return made;
  };
  return {
    async call(owner: OwnerEntry, call: PeerObjectCall, signal?: AbortSignal): Promise<unknown> {
      if (call.op.kind === 'fetch' && isUpgrade(call.op.headers))
        return upgradeCall(owner, call, o.secret, signal);
      let res: Dispatcher.ResponseData;
      try {
        res = await undici().request(new URL(PEER_OBJECT_PATH, owner.url), {
          method: 'POST',
          dispatcher: agent(),
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
    close: async () => {
      closed = true;
      await made?.close();
    },
  };
}

function isUpgrade(headers: string[]): boolean {
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i] === 'upgrade' && headers[i + 1].toLowerCase() === 'websocket') return true;
  return false;
}

/** A WebSocket upgrade sent to the owner: a WebSocket between the nodes, bridged to the client. */
function upgradeCall(
  owner: OwnerEntry,
  call: PeerObjectCall,
  secret: string,
  signal?: AbortSignal,
): Promise<WorkerResponse> {
  const url = new URL(PEER_OBJECT_PATH, owner.url);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const peer = new WebSocket(url, {
    headers: { [SECRET]: secret, [CALL]: serialize(call).toString('base64') },
    perMessageDeflate: false,
    maxPayload: 32 * 1024 * 1024,
    handshakeTimeout: 60_000,
  });
  return new Promise((resolve, reject) => {
    let meta: Omit<WorkerResponse, 'body'> | null = null;
    const fail = (err: Error) => {
      peer.removeAllListeners();
      peer.on('error', () => {});
      peer.terminate();
      reject(err);
    };
    signal?.addEventListener('abort', () => fail(signal.reason as Error), { once: true });
    peer.once('upgrade', (res) => {
      const h = res.headers[RESPONSE];
      if (typeof h === 'string') meta = deserialize(Buffer.from(h, 'base64')) as Omit<WorkerResponse, 'body'>;
    });
    peer.once('open', () => {
      peer.removeAllListeners('error');
      resolve({
        status: 101,
        statusText: 'Switching Protocols',
        headers: meta?.headers ?? [],
        body: null,
        webSocket: bridge(peer),
      });
    });
    peer.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode === 409) {
          let entry: OwnerEntry | null = null;
          try {
            entry = JSON.parse(body.toString()) as OwnerEntry;
          } catch {}
          return fail(new ObjectElsewhere(entry));
        }
        const h = res.headers[RESPONSE];
        if (typeof h !== 'string')
          return fail(
            new NamedError(
              `the Durable Object's node ${owner.node} refused the WebSocket (${res.statusCode}): ${body.toString().slice(0, 200)}`,
              'Error',
            ),
          );
        // The object answered without accepting a WebSocket (or failed): its response as it is.
        const m = deserialize(Buffer.from(h, 'base64')) as
          | Omit<WorkerResponse, 'body'>
          | { error: { name: string; message: string } };
        peer.removeAllListeners();
        peer.on('error', () => {});
        if ('error' in m) return reject(new NamedError(m.error.message, m.error.name));
        resolve({
          status: m.status,
          statusText: m.statusText,
          headers: m.headers,
          body: new Uint8Array(body),
        });
      });
    });
    peer.once('error', (err) => {
      const code = (err as { code?: string }).code;
      fail(
        code && NOT_REACHED.has(code)
          ? new OwnerUnreachable(`node ${owner.node} (${owner.url}) did not answer: ${code}`)
          : new NamedError(`Network connection lost (to the Durable Object's node ${owner.node})`, 'Error'),
      );
    });
  });
}

const upgrades = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: 32 * 1024 * 1024,
});
const upgradeMeta = new WeakMap<IncomingMessage, string>();
upgrades.on('headers', (lines: string[], req: IncomingMessage) => {
  const m = upgradeMeta.get(req);
  if (m) lines.push(`${RESPONSE}: ${m}`);
});

/** Serve a peer's call on this node; false when the request is not one (not this path). */
export async function servePeerObject(
  req: IncomingMessage,
  res: ServerResponse,
  o: { secret: string; pop: string; objects: () => DurableObjects | null },
  upgrade?: { socket: Duplex; head: Buffer },
): Promise<boolean> {
  if ((req.url ?? '').split('?')[0] !== PEER_OBJECT_PATH) return false;
  const objects = o.objects();
  const h = req.headers[SECRET];
  const method = upgrade ? 'GET' : 'POST';
  if (req.method !== method || !objects || !secretMatches(typeof h === 'string' ? h : undefined, o.secret)) {
    req.resume();
    res.writeHead(403, { 'content-type': 'text/plain' }).end('not a peer of this network\n');
    return true;
  }
  let call: PeerObjectCall;
  try {
    const head = req.headers[CALL];
    const bytes = upgrade ? Buffer.from(typeof head === 'string' ? head : '', 'base64') : await readAll(req);
    call = deserialize(bytes) as PeerObjectCall;
    if (!call || typeof call.tenant !== 'string' || typeof call.id !== 'string' || !call.op)
      throw new Error('not a Durable Object call');
    if (upgrade && call.op.kind !== 'fetch') throw new Error('only fetch() upgrades to a WebSocket');
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    return true;
  }
  if (upgrade) return serveUpgrade(req, res, objects, o.pop, call, upgrade);
  try {
    const out = await objects.peerCall(o.pop, call);
    if (call.op.kind !== 'fetch') {
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

/** A WebSocket upgrade from a peer: the object's answer, its WebSocket attached to the peer's. */
async function serveUpgrade(
  req: IncomingMessage,
  res: ServerResponse,
  objects: DurableObjects,
  pop: string,
  call: PeerObjectCall,
  upgrade: { socket: Duplex; head: Buffer },
): Promise<boolean> {
  let r: WorkerResponse;
  try {
    r = (await objects.peerCall(pop, call)) as WorkerResponse;
  } catch (err) {
    if (err instanceof ObjectElsewhere) {
      res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify(err.owner));
      return true;
    }
    const e = err as { name?: string; message?: string };
    const error = { name: typeof e.name === 'string' ? e.name : 'Error', message: String(e.message ?? err) };
    res.writeHead(500, { [RESPONSE]: serialize({ error }).toString('base64') }).end();
    return true;
  }
  const meta = serialize({ status: r.status, statusText: r.statusText, headers: r.headers }).toString(
    'base64',
  );
  const ws = r.webSocket;
  if (r.status === 101 && ws) {
    // The calling node may have gone while the object answered: its end is then refused, so the
    // object does not keep a socket (and itself) for nobody.
    if (upgrade.socket.destroyed) {
      ws.refuse('the calling node went away');
      return true;
    }
    let taken = false;
    upgrade.socket.once('close', () => {
      if (!taken) ws.refuse('the calling node went away');
    });
    upgradeMeta.set(req, meta);
    upgrades.handleUpgrade(req, upgrade.socket, upgrade.head, (socket) => {
      taken = true;
      ws.attach(socket);
    });
    return true;
  }
  ws?.refuse('the object did not accept the WebSocket');
  res.writeHead(r.status === 101 ? 502 : r.status, { [RESPONSE]: meta });
  if (r.body instanceof Uint8Array) res.end(r.body);
  else if (r.body) {
    const chunks: Uint8Array[] = [];
    for (let c = await r.body.next(); c; c = await r.body.next()) chunks.push(c);
    res.end(Buffer.concat(chunks));
  } else res.end();
  return true;
}
