/**
 * Which process of a node serves a connection (`outpost node --processes N`): tenant affinity.
 *
 * Each process of a node is a whole node with its own isolates. Spread round-robin (Node's
 * cluster), every process would warm an isolate for every tenant that comes, so a machine
 * would hold N copies of each and one process's limit on isolates (~4,900 hello-world tenants
 * here, where V8's mappings meet vm.max_map_count: src/runtime/capacity.ts) would also be the
 * machine's. Instead the node's primary
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
 * - A process not ready (starting, its channel closed, gone) or with MAX_IN_FLIGHT connections
 *   not yet taken off the channel (stuck) hands its slot to the next one in order, so the
 *   fallback of a slot is stable too; with none ready, connections wait (bounded in number and
 *   time). A process that serves a host of another slot closes the connection after the answer
 *   (acceptHanded's `slot`), so a connection that fell back while that slot's process started
 *   comes back to it.
 * - A head that is not HTTP/1 with a Host (HTTP/2 prior knowledge, garbage) or that does not
 *   arrive within HOLD_MS goes round-robin, with what was read: the process's HTTP server then
 *   answers it (its own header timeout counting from then).
 * - Sends go through Node's IPC with the socket as the handle: one at a time per process, each
 *   acknowledged by it; a send that fails closes the connection (the client retries).
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
/** How long a connection waits for a ready process before it is closed. */
const WAIT_MS = 30_000;
/** How often connections waiting for a process are tried again. */
const RETRY_MS = 20;
/** Connections handed to one process and not yet off the channel: past this, it is passed over. */
export const MAX_IN_FLIGHT = 64;

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

/** An absolute-form request target's authority (RFC 9112 §3.2.2). */
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]+)/i;

/**
 * The host a request names, lower case, without its port: an absolute-form target's authority
 * wins over Host (RFC 9112 §3.2.2), as for the URL the worker sees (network/urls.ts).
 */
function requestHost(target: string, host: string | undefined): string | null {
  const authority = ABSOLUTE_FORM.exec(target)?.[1] ?? host;
  return authority === undefined ? null : hostName(authority).toLowerCase() || null;
}

/**
 * The host a request head names (an absolute-form target's authority, else its Host field,
 * RFC 9112 §3.2). undefined: the head is not complete yet; null: complete (or too long) without a
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
  let host: string | undefined;
  for (let i = 1; i < lines.length && host === undefined; i++) {
    const line = lines[i] as string;
    if (line.length > 5 && line.charCodeAt(4) === 58 /* : */ && line.slice(0, 4).toLowerCase() === 'host')
      host = line.slice(5);
  }
  return requestHost(start[1] as string, host);
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
  /** It said it serves (READY_MESSAGE), and its channel is open. */
  ready: boolean;
  /** Connections handed to it that have not left the channel yet (processSlot keeps it). */
  readonly inFlight?: number;
  send(message: HandedConnection, socket: Socket): void;
}

/** What processSlot needs of a forked process: a ChildProcess or a cluster Worker. */
export interface HandedProcess {
  send(
    message: unknown,
    socket: Socket,
    options: { keepOpen: boolean },
    done: (err: Error | null) => void,
  ): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect' | 'exit', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * The slot of a forked process: ready once it sends READY_MESSAGE, not from the moment its
 * channel closes. A send that fails, or that is still queued when the channel closes, closes its
 * connection; a failing channel never throws into the primary. `onChange` is called when it
 * becomes ready and whenever a connection leaves its queue: connections waiting for a process
 * (none ready, or all with MAX_IN_FLIGHT queued) may go now (ConnectionShare.flush).
 */
export function processSlot(child: HandedProcess, onChange: () => void): Slot {
  const queued = new Set<Socket>();
  const slot = {
    ready: false,
    get inFlight() {
      return queued.size;
    },
    send(message: HandedConnection, socket: Socket) {
      queued.add(socket);
      const failed = () => {
        queued.delete(socket);
        socket.destroy();
      };
      try {
        child.send(message, socket, { keepOpen: false }, (err) => {
          if (err) failed();
          else queued.delete(socket);
          onChange();
        });
      } catch {
        failed();
      }
    },
  };
  const gone = () => {
    slot.ready = false;
    for (const s of queued) s.destroy(); // still in Node's queue, never sent: the handle is here
    queued.clear();
  };
  child.on('message', (m) => {
    if ((m as { type?: string } | null)?.type !== READY_MESSAGE.type) return;
    slot.ready = true;
    onChange();
  });
  child.on('disconnect', gone);
  child.on('exit', gone);
  child.on('error', gone); // a send on a closing channel; the process's exit follows
  return slot;
}

export interface ConnectionShare {
  port: number;
  /** A slot became ready: connections waiting for one go now. */
  flush(): void;
  /** Stop accepting; connections not yet handed over are closed (those handed over are the processes'). */
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
  const waiting = new Set<{ socket: Socket; head: Buffer; host: string | null; timer: NodeJS.Timeout }>();
  const reading = new Set<Socket>();
  let turn = 0;

  /** The slot for `host` (or the next ready one), or round-robin over the ready ones. */
  const choose = (host: string | null): number => {
    const n = slots.length;
    const from = host === null ? turn++ % n : slotOf(host, n);
    for (let i = 0; i < n; i++) {
      const s = (from + i) % n;
      const slot = slots[s];
      if (slot?.ready && (slot.inFlight ?? 0) < MAX_IN_FLIGHT) return s;
    }
    return -1;
  };

  const handOver = (socket: Socket, head: Buffer, host: string | null) => {
    if (socket.destroyed) return;
    const s = choose(host);
    if (s < 0) {
      if (waiting.size >= MAX_WAITING) return void socket.destroy();
      const w = {
        socket,
        head,
        host,
        timer: setTimeout(() => (waiting.delete(w), socket.destroy()), WAIT_MS),
      };
      waiting.add(w);
      retryWhileWaiting();
      return;
    }
    handed[s] = (handed[s] ?? 0) + 1;
    (slots[s] as Slot).send({ type: 'outpost:connection', head: head.toString('latin1') }, socket);
  };
  const flush = () => {
    if (waiting.size === 0) return;
    for (const w of [...waiting]) {
      if (choose(w.host) < 0) return;
      clearTimeout(w.timer);
      waiting.delete(w);
      handOver(w.socket, w.head, w.host);
    }
  };
  // Besides flush() on news from a slot, connections waiting are tried again every RETRY_MS
  // while there are any, so none waits on a slot that freed up without saying so.
  let retry: NodeJS.Timeout | null = null;
  const retryWhileWaiting = () => {
    if (retry || waiting.size === 0) return;
    retry = setInterval(() => {
      flush();
      if (waiting.size === 0 && retry) {
        clearInterval(retry);
        retry = null;
      }
    }, RETRY_MS);
    retry.unref();
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
        flush,
        // Not waiting for server.close's callback: it waits for every connection handed on to
        // end in its process, which the processes' own drain decides.
        close: async () => {
          server.close();
          if (retry) clearInterval(retry);
          for (const s of reading) s.destroy();
          for (const w of waiting) {
            clearTimeout(w.timer);
            w.socket.destroy();
          }
          waiting.clear();
        },
      });
    });
  });
}

/** A process's side of the handover (acceptHanded). */
export interface Handed {
  /** Close connections handed over from now on (the process is closing). */
  stop(): void;
  /** Settles once every connection handed to this process has closed. */
  drained(): Promise<void>;
}

/**
 * In a process of the node: serve with `server` the connections the primary hands over. The
 * server does not listen itself; its connection tracking (request and header timeouts,
 * closeAllConnections) starts as it would on listening. With `slot`, a request for a host of
 * another slot gets its answer with `Connection: close` (see the top).
 */
export function acceptHanded(server: HttpServer, slot?: { slot: number; of: number }): Handed {
  // http.Server starts tracking connections on 'listening', with a listener its constructor adds.
  const track = server.listeners('listening').find((f) => f.name === 'setupConnectionsTracking');
  if (!track)
    throw new Error(
      "this Node's http.Server does not track connections the way Outpost expects: connections handed over would have no header or request timeout",
    );
  (track as () => void).call(server);
  if (slot && slot.of > 1)
    server.prependListener('request', (req, res) => {
      const host = requestHost(req.url ?? '/', req.headers.host);
      if (host !== null && slotOf(host, slot.of) !== slot.slot) res.shouldKeepAlive = false;
    });
  const open = new Set<Socket>();
  let stopped = false;
  const waiters: (() => void)[] = [];
  const onMessage = (message: unknown, socket: unknown) => {
    const m = message as Partial<HandedConnection> | null;
    if (m?.type !== 'outpost:connection' || !socket) return;
    const s = socket as Socket;
    if (stopped) return void s.destroy();
    open.add(s);
    s.once('close', () => {
      open.delete(s);
      if (open.size === 0) for (const w of waiters.splice(0)) w();
    });
    server.emit('connection', s);
    // The bytes the primary read, first: the parser sees the stream whole. The server resumes
    // the socket itself (resuming here would undo its pause for an upgrade or back-pressure).
    if (m.head) s.emit('data', Buffer.from(m.head, 'latin1'));
  };
  process.on('message', onMessage);
  return {
    // Still listening: a connection handed over from now on is closed, not left open unserved.
    stop: () => {
      stopped = true;
    },
    drained: () =>
      open.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiters.push(resolve);
          }),
  };
}
