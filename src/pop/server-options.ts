/** What startPopServer (server.ts) takes and returns. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PurgeBus } from '../cache/index.ts';
import type { KvPop } from '../kv/index.ts';
import type { EdgeMetrics, Hop, Observer, RequestStream, TailHub, Tracer } from '../observability/index.ts';
import type { OutpostError, Runtime } from '../runtime/index.ts';
import type { AdminOptions } from './admin.ts';
import type { Pages } from './pages.ts';
import type { Policies } from './policies.ts';
import type { Site } from './site.ts';

/** Which PoP serves a request (a network of several): its runtime, request.cf, headers it adds. */
export interface PopSelection {
  runtime: Runtime;
  cf: Record<string, unknown>;
  /** Added to the response (Outpost-Pop). */
  headers: string[];
  /** The client ↔ PoP hop, first in Server-Timing (a network's PoPs). */
  edge?: Hop;
  /** Simulated network delay before the response is sent, ms. */
  delayMs?: number;
  /** The PoP's id (the colo of CF-Ray). */
  popId?: string;
  /** The client's country (CF-IPCountry), when its location is known. */
  country?: string;
}

export interface PopServerOptions {
  runtime: Runtime;
  /** Where answered requests are counted (`/__outpost/metrics`); none: not counted. */
  metrics?: EdgeMetrics;
  /** Traces requests (src/observability/tracer.ts); none: tracing off. */
  tracer?: Tracer;
  /** `[security]` policies run before the worker (src/pop/policies.ts); none: no policies. */
  policies?: Policies;
  /** Several PoPs behind one front: picks the PoP of each request (default: `runtime` and `cf`). */
  select?: (req: IncomingMessage) => PopSelection | OutpostError;
  /** Which deployed worker serves a request (one project in `outpost dev`). */
  route: (req: IncomingMessage) => string | OutpostError;
  /**
   * The site (src/pop/site.ts): with workers' routes, a request no route matches goes through
   * the cache to the site's origin instead of a worker.
   */
  site?: Site;
  /** ESI and 103 Early Hints for pages (src/pop/pages.ts); none: neither. */
  pages?: Pages;
  /**
   * `GET /__scheduled?cron=…&time=…` runs the worker's scheduled() instead of fetch(), as
   * `wrangler dev --test-scheduled` does (off by default: it lets any client fire crons).
   */
  testScheduled?: boolean;
  /** Cron Triggers for the admin endpoint (`outpost trigger scheduled`). */
  scheduled?: AdminOptions['scheduled'];
  /** Workflows for the admin endpoint (`/__outpost/workflows`). */
  workflows?: AdminOptions['workflows'];
  host?: string;
  port?: number;
  /** Development shows stacks in error responses. */
  dev?: boolean;
  /** `request.cf` for a request. */
  cf: (req: IncomingMessage) => Record<string, unknown>;
  /** Largest request body accepted, bytes (default 100 MB, Workers' free-plan limit). */
  maxBodyBytes?: number;
  /** Where ctx.passThroughOnException() sends a failed request. */
  origin?: string;
  /** The PoP's id, sent as Outpost-Pop (a network's select() says it per request). */
  popId?: string;
  /**
   * TLS: the front speaks HTTPS, HTTP/2 and HTTP/1.1 chosen by ALPN; TLS sessions resume by
   * ticket (Node's default). Without it: HTTP/1.1 in the clear.
   */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** How long close() lets requests in flight finish before cutting connections, ms (default 5000). */
  drainMs?: number;
  /**
   * Also speak HTTP/2 in the clear (h2c, prior knowledge) on a port of its own (Node's HTTP/2
   * server cannot fall back to HTTP/1.1 without TLS; 0 picks a free port).
   */
  h2cPort?: number;
  /**
   * Also listen, the same way, on a port of this process alone (0 picks a free one), not shared
   * with the other processes of a node (`outpost node --processes N`, Node's cluster): where
   * other nodes and processes send what must reach this process (calls to the Durable Objects
   * it owns).
   */
  ownPort?: number;
  /**
   * Connections come from the node's primary process, handed over by the host of their first
   * request (src/network/affinity.ts), instead of being accepted on `port` (which the primary
   * holds), this process serving the hosts of slot `slot` of `of`. Plain HTTP only: the
   * primary reads the request head.
   */
  handed?: { slot: number; of: number };
  /**
   * The header a proxy the operator runs in front sets to the client's address (lower case,
   * e.g. `x-forwarded-for`). Unset (the default): the client's address is the socket's peer,
   * and no client-sent header is believed (src/network/visitor.ts).
   */
  trustedProxyHeader?: string;
  /**
   * Token for the /__outpost/ admin endpoints, at least 16 characters (purges reach
   * runtime.purges); none: no admin endpoints.
   */
  adminToken?: string;
  /**
   * The dashboard opens without the token for a browser on this machine (src/dashboard/auth.ts):
   * `outpost dev` only, never a node or a server behind a trusted proxy.
   */
  dashboardLoopback?: boolean;
  /** KV namespaces the admin KV view may show (binding name or id → id). */
  kvNamespace?: (bindingOrId: string) => string | undefined;
  /** The purge bus and KV views of every PoP, for a network (default: `runtime`'s). */
  /**
   * Run before each request; a promise holds the request until it settles (a node that was
   * paused purges what it cannot prove fresh first: src/cache/nats-purge.ts).
   */
  beforeRequest?: () => Promise<void> | null;
  /**
   * Calls from the other nodes of a network (src/network/object-peer.ts): answers true when it
   * took the request, before anything else sees it.
   */
  peer?: (
    req: IncomingMessage,
    res: ServerResponse,
    upgrade?: { socket: Duplex; head: Buffer },
  ) => Promise<boolean>;
  admin?: {
    purges: PurgeBus;
    kvPops: () => KvPop[];
    network?: AdminOptions['network'];
    workers?: AdminOptions['workers'];
  };
  /** Live tail (`/__outpost/tail`, `outpost tail`); none: no tail endpoint. */
  tail?: TailHub;
  /** Every request as it ends, while someone listens (`/__outpost/requests`, the dashboard). */
  requests?: RequestStream;
  /** A network of nodes: its deployments and rollback (`outpost node`). */
  deployments?: AdminOptions['deployments'];
  /** A network of nodes: the admin purge reaches every node (`outpost node`). */
  networkPurge?: AdminOptions['networkPurge'];
  observer: Observer;
}

export interface PopServer {
  url: string;
  port: number;
  /** HTTP/2 in the clear, when h2cPort was given. */
  h2cUrl?: string;
  /** The port of this process alone, when ownPort was given. */
  ownPort?: number;
  server: Server;
  close(): Promise<void>;
}
