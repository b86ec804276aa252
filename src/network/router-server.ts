/**
 * `outpost router`: the L7 stand-in for anycast in front of node processes. It routes each
 * request to the nearest PoP (by the client's location, as src/network/select.ts decides) that
 * has a live node in the membership table (membership.ts), spreads requests over that PoP's
 * nodes, and fails over:
 * - a node that refuses the connection, resets it or does not answer within the upstream
 *   timeout is skipped locally for one leave interval, before membership drops it;
 * - a request is tried again on the next node or PoP only when that cannot do harm: a request
 *   without a body whose connection was refused (it never arrived), or a GET/HEAD/OPTIONS
 *   without a body whatever the failure (RFC 9110 §9.2.2: idempotent methods may be retried).
 *   Anything else answers 502 naming the node.
 * Responses pass through with their hop-by-hop fields dropped (hop-by-hop.ts), plus
 * `Outpost-Pop` and `Outpost-Node`. WebSocket upgrades are piped to the chosen node.
 * To a node of several processes, the hosts of each slot go on connections of their own
 * (affinity.ts: the node hands a connection to one process, by its first request's host).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { withoutHopByHop } from '../http/hop-by-hop.ts';
import { undici } from '../http/undici.ts';
import type { Observer } from '../observability/index.ts';
import { OutpostError } from '../runtime/index.ts';
import { hostName, slotOf } from './affinity.ts';
import type { ClientLocation } from './location.ts';
import { type Member, popNodes } from './membership.ts';
import { relay } from './relay.ts';
import { Router } from './router.ts';
import { clientLocation } from './select.ts';
import type { Pop, Topology } from './topology/types.ts';

export interface RouterServerOptions {
  members: { members(): Member[]; leaveMs: number; onChange: () => void };
  topology: Topology;
  /** Where clients are that say nothing (default: the first PoP's place). */
  from?: ClientLocation;
  host?: string;
  port?: number;
  /** How long a node may take to start answering, ms (default 10000). */
  upstreamTimeoutMs?: number;
  observer: Observer;
}

export interface RouterServer {
  url: string;
  port: number;
  /** Recompute which PoPs have live nodes (also done on every membership change and timer). */
  refresh(): void;
  close(): Promise<void>;
}

const RETRY_ANY = new Set(['GET', 'HEAD', 'OPTIONS']);
const MAX_ATTEMPTS = 3;

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

/**
 * The request's fields for the node: hop-by-hop ones dropped, the client's address appended to
 * X-Forwarded-For (the last entry is the one this router vouches for; nodes started with
 * `--trusted-proxy-header x-forwarded-for` take it as the client's).
 */
function forwardedHeaders(req: IncomingMessage): string[] {
  const out: string[] = [];
  const chain: string[] = [];
  const flat = withoutHopByHop(req.rawHeaders);
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i].toLowerCase() === 'x-forwarded-for') chain.push(flat[i + 1]);
    else out.push(flat[i], flat[i + 1]);
  }
  chain.push(req.socket.remoteAddress ?? '0.0.0.0');
  out.push('x-forwarded-for', chain.join(', '));
  return out;
}

function plain(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'outpost-error': code });
  res.end(`${message}\n`);
}

export async function startRouterServer(o: RouterServerOptions): Promise<RouterServer> {
  const router = new Router(o.topology);
  const from: ClientLocation = o.from ?? { ...o.topology.pops[0], source: 'the first PoP' };
  const timeout = o.upstreamTimeoutMs ?? 10_000;
  const agentOptions = { headersTimeout: timeout, bodyTimeout: 0, connectTimeout: Math.min(timeout, 5000) };
  const agent = new (undici().Agent)(agentOptions);
  /**
   * A node of several processes hands each connection to the process of its first request's
   * host, for good (affinity.ts): the hosts of one slot get connections of their own, so each
   * tenant stays warm in one process of the node.
   */
  const slotAgents = new Map<string, Dispatcher>();
  const dispatcherFor = (member: Member, req: IncomingMessage): Dispatcher => {
    const n = member.processes ?? 1;
    if (n <= 1) return agent;
    const key = `${n}/${slotOf(hostName(req.headers.host ?? '').toLowerCase(), n)}`;
    let slotAgent = slotAgents.get(key);
    if (!slotAgent) slotAgents.set(key, (slotAgent = new (undici().Agent)(agentOptions)));
    return slotAgent;
  };
  /** Nodes this router saw fail, skipped until the time noted (monotonic ms). */
  const suspect = new Map<string, number>();
  let byPop = new Map<string, Member[]>();
  let turn = 0;

  /** The last non-empty table: an empty one is taken for NATS trouble, not every node dead. */
  let lastKnown: Member[] = [];
  const refresh = () => {
    const now = performance.now();
    const next = new Map<string, Member[]>();
    const present = popNodes(o.members.members());
    // Nodes that really died are skipped as they refuse connections (suspect, below).
    if (present.length) lastKnown = present;
    for (const m of present.length ? present : lastKnown) {
      const until = suspect.get(m.id);
      if (until !== undefined && until > now) continue;
      if (until !== undefined) suspect.delete(m.id);
      const list = next.get(m.pop);
      if (list) list.push(m);
      else next.set(m.pop, [m]);
    }
    byPop = next;
    for (const p of o.topology.pops) router.setHealthy(p.id, next.has(p.id));
  };
  o.members.onChange = refresh;
  const timer = setInterval(refresh, Math.max(50, o.members.leaveMs / 4));
  timer.unref();
  refresh();

  /** The node for attempt n: nearest PoP with nodes first, nodes of a PoP in turn. */
  const choose = (req: IncomingMessage, tried: Set<string>): { pop: Pop; member: Member } | OutpostError => {
    const direct = req.headers['outpost-pop'];
    const client = clientLocation(req, o.topology, from);
    if (client instanceof OutpostError) return client;
    const pops =
      typeof direct === 'string'
        ? o.topology.pops.filter((p) => p.id === direct)
        : router.ranked(client).map((r) => r.pop);
    if (typeof direct === 'string' && pops.length === 0)
      return new OutpostError('NO_SUCH_POP', `No PoP "${direct}" in topology ${o.topology.name}`);
    for (const pop of pops) {
      const members = (byPop.get(pop.id) ?? []).filter((m) => !tried.has(m.id));
      if (members.length) return { pop, member: members[turn++ % members.length] };
    }
    return new OutpostError(
      'NO_LIVE_NODE',
      typeof direct === 'string'
        ? `PoP ${direct} has no live node`
        : `No node is serving (none has heartbeated in the last ${o.members.leaveMs} ms)`,
    );
  };

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const tried = new Set<string>();
    const body = hasBody(req);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const chosen = choose(req, tried);
      if (chosen instanceof OutpostError) {
        if (tried.size && attempt > 0) break;
        return plain(res, chosen.code === 'BAD_LOCATION' ? 400 : 503, chosen.code, chosen.message);
      }
      const { pop, member } = chosen;
      tried.add(member.id);
      let r: Dispatcher.ResponseData;
      try {
        r = await undici().request(new URL(req.url ?? '/', member.url), {
          method: req.method as 'GET',
          headers: forwardedHeaders(req),
          body: body ? req : null,
          dispatcher: dispatcherFor(member, req),
        });
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        suspect.set(member.id, performance.now() + o.members.leaveMs);
        refresh();
        const neverArrived = code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT';
        if (!body && (neverArrived || RETRY_ANY.has(req.method ?? ''))) continue;
        return plain(
          res,
          502,
          'NODE_FAILED',
          `Node ${member.id} (${pop.id}) failed: ${(err as Error).message}`,
        );
      }
      const flat: string[] = [];
      for (const [k, v] of Object.entries(r.headers))
        for (const one of Array.isArray(v) ? v : [v ?? '']) flat.push(k, one);
      const headers = withoutHopByHop(flat);
      // The node names its PoP itself; the router adds which node answered.
      if (!('outpost-pop' in r.headers)) headers.push('outpost-pop', pop.id);
      headers.push('outpost-node', member.id);
      res.writeHead(r.statusCode, headers);
      await relay(r.body, res);
      return;
    }
    plain(res, 502, 'NO_LIVE_NODE', `No node answered after ${MAX_ATTEMPTS} attempts`);
  };

  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const chosen = choose(req, new Set());
    if (chosen instanceof OutpostError) {
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\noutpost-error: ${chosen.code}\r\nconnection: close\r\n\r\n`,
      );
      return;
    }
    const target = new URL(chosen.member.url);
    const up = netConnect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const close = () => {
      up.destroy();
      socket.destroy();
    };
    up.on('error', () => {
      if (!socket.writableEnded && up.bytesRead === 0)
        socket.end(`HTTP/1.1 502 Bad Gateway\r\noutpost-error: NODE_FAILED\r\nconnection: close\r\n\r\n`);
      close();
    });
    socket.on('error', close);
    up.on('close', close);
    socket.on('close', close);
  };

  const server: Server = createServer((req, res) => {
    forward(req, res).catch((err) => {
      o.observer.log({ level: 'error', source: 'outpost', message: `router: ${(err as Error).message}` });
      plain(res, 500, 'ROUTER_ERROR', 'The router failed');
    });
  });
  server.on('upgrade', upgrade);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    refresh,
    close: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([agent, ...slotAgents.values()].map((a) => a.close()));
    },
  };
}
