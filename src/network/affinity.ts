/**
 * Which process of a node serves a connection (`outpost node --processes N`): tenant affinity.
 *
 * Each process of a node is a whole node with its own isolates. Spread round-robin (Node's
 * cluster), every process would warm an isolate for every tenant that comes, so a machine
 * would hold N copies of each and one process's limit on isolates (~7,300 here, where V8's
 * mappings meet vm.max_map_count) would also be the machine's. Instead the node's primary
 * process accepts each connection itself, reads the head of its first request, and hands the
 * connection (its socket, with the bytes read) to the process of that request's host: slot
 * `slotOf(host, N)`. A tenant's hosts are thus warm in one process each, and N processes hold N
 * times the tenants.
 *
 * Affinity is per connection: the requests after the first on a keep-alive connection stay in
 * the process it went to, whatever their host. `outpost router` keeps one pool of connections per
 * slot for that reason (router-server.ts); a proxy that mixes hosts on one connection to a node
 * only spreads tenants wider, never serves anything wrong.
 *
 * - A process not ready (starting, or gone) hands its slot to the next ready one in order, so
 *   the fallback of a slot is stable too; with none ready, connections wait (bounded).
 * - A head that is not HTTP/1 with a Host (HTTP/2 prior knowledge, garbage) or that does not
 *   arrive within HOLD_MS goes round-robin, with what was read: the process's HTTP server then
 *   answers (or times out) exactly as it would have.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { parseRoutePattern, type RouteConfig } from '../config/index.ts';

/** The message a handed connection comes with (its socket is the message's handle). */
export interface HandedConnection {
  type: 'outpost:connection';
  /** What the primary read of it, latin1 (the client's first bytes, unchanged). */
  head: string;
}

/** Sent by a process once it serves: connections may come to it. */
export const READY_MESSAGE = { type: 'outpost:ready' } as const;

/** The most of a request head read before handing the connection on regardless. */
const MAX_HEAD = 32 * 1024;
/** How long a connection may take to send its first request head before it goes round-robin. */
const HOLD_MS = 10_000;
/** Connections held while no process is ready; past this they are refused. */
const MAX_WAITING = 4096;

/** The slot (0 … n − 1) of `host` among n: FNV-1a of the host, lower case, without its port. */
export function slotOf(host: string, n: number): number {
  if (n <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < host.length; i++) {
    h ^= host.charCodeAt(i) | 0x20; // case folded (ASCII; RFC 9110 §4.2.3: hosts are case-insensitive)
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}

/** A Host header's value without its port: `a.example:8080` → `a.example`, `[::1]:80` → `[::1]`. */
export function hostName(value: string): string {
  const v = value.trim();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end < 0 ? v : v.slice(0, end + 1);
  }
  const colon = v.indexOf(':');
  return colon < 0 ? v : v.slice(0, colon);
}

/**
 * The host a request head names (its Host field, RFC 9112 §3.2; else an absolute-form target's
 * authority). undefined: the head is not complete yet; null: complete (or too long) without a
 * host, or not HTTP/1.
 */
export function hostOfHead(head: Buffer): string | null | undefined {
  let end = head.indexOf('\r\n\r\n');
  if (end < 0) end = head.indexOf('\n\n');
  if (end < 0) return head.length >= MAX_HEAD ? null : undefined;
  const text = head.toString('latin1', 0, end);
  const lines = text.split(/\r?\n/);
  const start = /^[A-Z]+ (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (!start) return null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length > 5 && line.charCodeAt(4) === 58 /* : */ && line.slice(0, 4).toLowerCase() === 'host')
      return hostName(line.slice(5)).toLowerCase() || null;
  }
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]+)/i.exec(start[1] as string);
  return absolute ? hostName(absolute[1] as string).toLowerCase() : null;
}

/**
 * Whether a worker with `routes` can get connections in slot `slot` of n: one of its routes names
 * a host of that slot, or may match a host of any slot (a wildcard host), or it has no routes
 * (a node's default worker serves every host).
 */
export function reachesSlot(routes: readonly RouteConfig[], slot: number, n: number): boolean {
  const live = routes.filter((r) => r.enabled);
  if (live.length === 0) return true;
  for (const r of live) {
    const p = parseRoutePattern(r.pattern, r.customDomain);
    if (typeof p === 'string' || p.host.kind !== 'exact') return true;
    if (slotOf(p.host.name, n) === slot) return true;
  }
  return false;
}

/** One process of the node as the primary sees it. */
export interface Slot {
  /** It said it serves (READY_MESSAGE) and has not exited since. */
  ready: boolean;
  send(message: HandedConnection, socket: Socket): void;
}

export interface ConnectionShare {
  port: number;
  /** A slot became ready: connections waiting for one go now. */
  flush(): void;
  /** Stop accepting; connections not yet handed over are closed. */
  close(): Promise<void>;
  /** Connections handed to each slot so far (by host, and round-robin). */
  readonly handed: number[];
}

/**
 * Accept connections on `host:port` in this (primary) process and hand each to the slot of the
 * host its first request names (see the top).
 */
export function shareByHost(o: {
  host: string;
  port: number;
  slots: readonly Slot[];
  /** How long a first request head may take before the connection goes round-robin, ms. */
  holdMs?: number;
}): Promise<ConnectionShare> {
  const { slots } = o;
  const handed = slots.map(() => 0);
  const waiting: { socket: Socket; head: Buffer; host: string | null }[] = [];
  const reading = new Set<Socket>();
  let turn = 0;

  /** The slot for `host` (or the next ready one), or round-robin over the ready ones. */
  const choose = (host: string | null): number => {
    const n = slots.length;
    const from = host === null ? turn++ % n : slotOf(host, n);
    for (let i = 0; i < n; i++) {
      const s = (from + i) % n;
      if (slots[s]?.ready) return s;
    }
    return -1;
  };

  const handOver = (socket: Socket, head: Buffer, host: string | null) => {
    if (socket.destroyed) return;
    const s = choose(host);
    if (s < 0) {
      if (waiting.length >= MAX_WAITING) return void socket.destroy();
      waiting.push({ socket, head, host });
      return;
    }
    handed[s] = (handed[s] ?? 0) + 1;
    try {
      (slots[s] as Slot).send({ type: 'outpost:connection', head: head.toString('latin1') }, socket);
    } catch {
      socket.destroy(); // the process went between its exit and our noticing: the client retries
    }
  };

  const server: Server = createServer({ noDelay: true }, (socket) => {
    reading.add(socket);
    let head: Buffer = Buffer.alloc(0);
    const done = (host: string | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      // Stop reading at once, not only pausing the stream (net.Socket reads on into its buffer
      // until that fills): what arrives from now on stays in the kernel and goes with the
      // socket. Called from a 'data' event, so nothing read is left in the stream's buffer.
      (socket as unknown as { _handle?: { readStop?(): number } })._handle?.readStop?.();
      socket.pause();
      reading.delete(socket);
      handOver(socket, head, host);
    };
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const host = hostOfHead(head);
      if (host !== undefined) done(host);
    };
    // A client that half-closes before its head is complete: handed over as it is, so the
    // process's HTTP server answers it as it would (400) rather than a silent close here.
    const onEnd = () => done(null);
    const timer = setTimeout(() => done(null), o.holdMs ?? HOLD_MS);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', () => {
      clearTimeout(timer);
      reading.delete(socket);
    });
  });

  return new Promise<ConnectionShare>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: o.port, host: o.host }, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as { port: number }).port,
        handed,
        flush: () => {
          for (const w of waiting.splice(0)) handOver(w.socket, w.head, w.host);
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of reading) s.destroy();
            for (const w of waiting.splice(0)) w.socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * In a process of the node: serve with `server` the connections the primary hands over. The
 * server does not listen itself; its connection tracking (request and header timeouts,
 * closeAllConnections) starts as it would on listening.
 */
export function acceptHanded(server: HttpServer): () => void {
  // http.Server starts tracking connections on 'listening' (the listener its constructor adds).
  for (const track of server.listeners('listening'))
    if (track.name === 'setupConnectionsTracking') (track as () => void).call(server);
  let open = true;
  const onMessage = (message: unknown, socket: unknown) => {
    const m = message as Partial<HandedConnection> | null;
    if (m?.type !== 'outpost:connection' || !socket) return;
    const s = socket as Socket;
    if (!open) return void s.destroy();
    server.emit('connection', s);
    // The bytes the primary read, first: the parser sees the stream whole.
    if (m.head) s.emit('data', Buffer.from(m.head, 'latin1'));
    s.resume();
  };
  process.on('message', onMessage);
  return () => {
    open = false;
    process.off('message', onMessage);
  };
}
