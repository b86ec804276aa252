/**
 * `outpost node` (one PoP of a network, serving what is deployed; src/pop/node.ts) and
 * `outpost router` (the front that routes to the nearest PoP with a live node;
 * src/network/router-server.ts). Both find the network through NATS.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseConfigText, parseSecurity, type SecurityConfig } from '../config/index.ts';
import {
  loadTopology,
  Membership,
  MIN_SECRET_LENGTH,
  parseLocation,
  processSlot,
  type Slot,
  shareByHost,
  startRouterServer,
  startShieldServer,
} from '../network/index.ts';
import { consoleObserver, type LogLevel } from '../observability/index.ts';
import { OUTPOST_VERSION, startNode } from '../pop/index.ts';
import { CliError } from './cache.ts';
import { type Command, ISOLATE_BUDGET, type OptionSpec } from './commands.ts';
import { egressFlags } from './dev.ts';
import { NATS_OPTION as NATS, natsOf } from './nats.ts';

/** What the primary of `outpost node --processes N` hands its processes (src/pop/node.ts). */
const PROCESS_SECRET_ENV = 'OUTPOST_NODE_PROCESS_SECRET';
/** Set by the primary in each process it forks: the slot of hosts whose connections it hands it (affinity.ts). */
const SLOT_ENV = 'OUTPOST_NODE_SLOT';
/** Where the network secret may come from instead of a file. */
const SECRET_ENV = 'OUTPOST_NETWORK_SECRET';

const TOPOLOGY: OptionSpec = {
  name: 'topology',
  type: 'string',
  default: 'world',
  help: 'a built-in topology or a topology file',
};
const IP: OptionSpec = { name: 'ip', type: 'string', default: '127.0.0.1', help: 'address to listen on' };
const REPLICAS: OptionSpec = {
  name: 'replicas',
  type: 'number',
  default: 1,
  help: 'JetStream replicas of every bucket and stream this process makes (3 on a NATS cluster)',
};

const LOG_LEVEL: OptionSpec = {
  name: 'log-level',
  type: 'string',
  default: 'info',
  help: 'debug | info | warn | error',
};

function logLevelOf(v: Record<string, unknown>): LogLevel {
  const l = String(v['log-level']);
  if (!['debug', 'info', 'warn', 'error'].includes(l))
    throw new CliError(`--log-level must be debug, info, warn or error, received "${l}"`);
  return l as LogLevel;
}

function waitForSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

const EGRESS: OptionSpec = {
  name: 'egress-allow',
  type: 'string',
  multiple: true,
  help: 'what may be fetched besides the public internet: an address, CIDR block, host[:port] or loopback/private/link-local/cgnat (repeatable)',
};

export const SECRET_FILE: OptionSpec = {
  name: 'secret-file',
  type: 'string',
  help: `a file holding the network's shared secret (or set ${SECRET_ENV}); nodes and shields with the same secret tier their caches`,
};

/** The network secret from --secret-file or the environment, if any. */
export function secretOf(v: Record<string, unknown>): string | undefined {
  let secret: string | undefined;
  if (typeof v['secret-file'] === 'string') {
    try {
      secret = readFileSync(v['secret-file'], 'utf8').trim();
    } catch (err) {
      throw new CliError(`--secret-file: ${(err as Error).message}`);
    }
  } else secret = process.env[SECRET_ENV]?.trim() || undefined;
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH)
    throw new CliError(
      `the network secret must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -hex 32)`,
    );
  return secret;
}

export const nodeCommand: Command = {
  name: 'node',
  summary: 'Serve one PoP of a network from what is deployed to it (outpost deploy)',
  options: [
    NATS,
    { name: 'pop', type: 'string', help: 'the PoP served, an id of the topology (e.g. FRA)' },
    TOPOLOGY,
    { name: 'port', type: 'number', default: 8787, help: 'port to listen on (0 picks a free one)' },
    IP,
    {
      name: 'advertise',
      type: 'string',
      help: 'the URL routers reach this node at (default http://<ip>:<port>)',
    },
    {
      name: 'dir',
      type: 'string',
      help: 'where the node keeps artifacts and local data (default .outpost-node/<pop>)',
    },
    {
      name: 'processes',
      type: 'number',
      help: `processes behind the port, each connection handed to the process of its host (default one per core, ${availableParallelism()} here); each also listens on a port of its own for calls to the Durable Objects it owns`,
    },
    ...ISOLATE_BUDGET,
    {
      name: 'peer-port',
      type: 'number',
      default: 0,
      help: 'with --processes above 1: the own port of the first process, the next ones following (0: a free port each)',
    },
    {
      name: 'leave-ms',
      type: 'number',
      default: 3000,
      help: 'ms without a heartbeat before routers drop the node',
    },
    REPLICAS,
    {
      name: 'trusted-proxy-header',
      type: 'string',
      help: 'the header the router sets to the client address (x-forwarded-for behind outpost router)',
    },
    {
      name: 'security',
      type: 'string',
      help: 'an outpost.toml (or .json) whose [security] policies (WAF, rate limits, JWT) run before every worker the node serves; exact rate-limit counters are shared by every node through NATS',
    },
    EGRESS,
    SECRET_FILE,
    {
      name: 'do-lease-ms',
      type: 'number',
      default: 10_000,
      help: "ms a node's hold on its Durable Objects lasts unrenewed (objects shared across nodes with a secret, or across the processes of one node); the longest a dead node's objects wait",
    },
    {
      name: 'do-snapshot-every',
      type: 'number',
      default: 1000,
      help: "Durable Object journal records between snapshots of an object's database (0: never)",
    },
    {
      name: 'do-auto-move',
      type: 'number',
      default: 0,
      help: 'move a Durable Object to the PoP that sent at least 80% of N of its calls within a minute (0: never; objects shared across nodes only)',
    },
    LOG_LEVEL,
  ],
  async run(_p, v, io) {
    const nats = natsOf(v);
    const leaseMs = Number(v['do-lease-ms']);
    if (!Number.isInteger(leaseMs) || leaseMs < 500)
      throw new CliError(`--do-lease-ms must be an integer of at least 500, received ${v['do-lease-ms']}`);
    const snapshotEvery = Number(v['do-snapshot-every']);
    if (!Number.isInteger(snapshotEvery) || snapshotEvery < 0)
      throw new CliError(`--do-snapshot-every must be a whole number, received ${v['do-snapshot-every']}`);
    const autoMove = Number(v['do-auto-move']);
    if (!Number.isInteger(autoMove) || autoMove < 0 || (autoMove > 0 && autoMove < 10))
      throw new CliError(
        `--do-auto-move must be a whole number of calls, at least 10 (0: never), received ${v['do-auto-move']}`,
      );
    if (typeof v.pop !== 'string') throw new CliError('give --pop ID (the PoP this node serves, e.g. FRA)');
    const security = typeof v.security === 'string' ? securityOf(v.security) : undefined;
    const shared = secretOf(v) !== undefined;
    if (autoMove > 0 && !shared)
      throw new CliError(
        '--do-auto-move moves objects between nodes, which share them only with a network secret (--secret-file or $OUTPOST_NETWORK_SECRET)',
      );
    const processes = v.processes === undefined ? availableParallelism() : Number(v.processes);
    if (!Number.isInteger(processes) || processes < 1)
      throw new CliError(`--processes must be a positive integer, received ${v.processes}`);
    const peerPort = Number(v['peer-port']);
    if (!Number.isInteger(peerPort) || peerPort < 0 || peerPort + processes - 1 > 65535)
      throw new CliError(
        `--peer-port must be a port with room for ${processes} after it (0: free ports), received ${v['peer-port']}`,
      );
    if (cluster.isWorker && !shared && !process.env[PROCESS_SECRET_ENV])
      throw new CliError(
        'this node runs as one of several processes that outpost node did not fork (a cluster manager such as pm2?): without the network secret they cannot share Durable Objects; use --processes N instead',
      );
    if (processes > 1 && cluster.isPrimary) {
      if (v.port === 0) throw new CliError('--processes above 1 needs a fixed --port (they share it)');
      // The workers run this same command line; each is a whole node sharing the port. Without
      // the network secret they share Durable Objects among themselves only, with a secret of
      // their own (src/pop/node.ts).
      const env = { [PROCESS_SECRET_ENV]: randomBytes(32).toString('hex') };
      // This process holds the port and hands each connection to the process of the host its
      // first request names, so each tenant is warm in one process (src/network/affinity.ts).
      const slots: Slot[] = [];
      let share: Awaited<ReturnType<typeof shareByHost>> | null = null;
      for (let i = 0; i < processes; i++) {
        const w = cluster.fork({ ...env, [SLOT_ENV]: String(i) });
        slots.push(processSlot(w, () => share?.flush()));
      }
      const stopAll = async () => {
        const workers = Object.values(cluster.workers ?? {});
        const exited = workers.map((w) => new Promise<void>((resolve) => w?.once('exit', () => resolve())));
        for (const w of workers) w?.kill('SIGTERM');
        await Promise.all(exited);
      };
      try {
        share = await shareByHost({ host: String(v.ip), port: Number(v.port), slots });
      } catch (err) {
        await stopAll();
        throw new CliError(`cannot listen on ${v.ip}:${v.port}: ${(err as Error).message}`);
      }
      share.flush();
      io.out(
        `\n  Outpost node: PoP ${v.pop}, ${processes} processes on ${v.ip}:${v.port} (each connection to the process of its host)\n\n`,
      );
      await waitForSignal();
      await share.close();
      await stopAll();
      return 0;
    }
    // Read once and out of the environment: nothing this process starts needs it.
    const processSecret = process.env[PROCESS_SECRET_ENV];
    const slot = process.env[SLOT_ENV];
    delete process.env[PROCESS_SECRET_ENV];
    delete process.env[SLOT_ENV];
    const observer = consoleObserver(logLevelOf(v));
    const egressAllow = egressFlags(v['egress-allow']);
    const secret = secretOf(v);
    const node = await startNode({
      nats,
      pop: v.pop,
      topology: String(v.topology),
      host: String(v.ip),
      port: Number(v.port),
      observer,
      leaveMs: Number(v['leave-ms']),
      replicas: Number(v.replicas),
      ...(typeof v.advertise === 'string' ? { advertise: v.advertise } : {}),
      ...(typeof v.dir === 'string' ? { dir: v.dir } : {}),
      ...(typeof v['trusted-proxy-header'] === 'string'
        ? { trustedProxyHeader: v['trusted-proxy-header'] }
        : {}),
      ...(egressAllow.length ? { egressAllow } : {}),
      ...(security ? { security } : {}),
      ...(secret ? { secret } : {}),
      runtime: {
        memoryBudgetMb: v['memory-budget-mb'] as number,
        ...(v['max-isolates'] !== undefined ? { maxIsolates: v['max-isolates'] as number } : {}),
        ...(v['warm-pool-max'] !== undefined ? { poolMax: v['warm-pool-max'] as number } : {}),
      },
      objectLeaseMs: leaseMs,
      objectSnapshotEvery: snapshotEvery,
      ...(autoMove > 0 ? { objectAutoMove: autoMove } : {}),
      ...(Number(v['peer-port']) > 0 ? { peerPort: Number(v['peer-port']) } : {}),
      ...(cluster.isWorker && cluster.worker
        ? {
            processes: {
              index: cluster.worker.id,
              of: processes,
              ...(slot !== undefined ? { slot: Number(slot) } : {}),
              ...(processSecret ? { secret: processSecret } : {}),
            },
          }
        : {}),
    });
    const served = node.served().map((s) => `${s.worker}@${s.version?.slice(0, 12) ?? '-'}`);
    io.out(
      `\n  Outpost node ${node.id}: PoP ${node.pop} ready on ${node.url} (${served.length ? served.join(', ') : 'nothing deployed yet'})\n\n`,
    );
    await waitForSignal();
    await node.close();
    return 0;
  },
};

export const routerCommand: Command = {
  name: 'router',
  summary: 'Route requests to the nearest PoP with a live node, failing over (the stand-in for anycast)',
  options: [
    NATS,
    TOPOLOGY,
    { name: 'port', type: 'number', default: 8080, help: 'port to listen on (0 picks a free one)' },
    IP,
    { name: 'from', type: 'string', help: 'where clients are that say nothing (default: the first PoP)' },
    {
      name: 'leave-ms',
      type: 'number',
      default: 3000,
      help: 'ms without a heartbeat before a node is dropped',
    },
    {
      name: 'upstream-timeout-ms',
      type: 'number',
      default: 10_000,
      help: 'ms a node may take to start answering',
    },
    LOG_LEVEL,
  ],
  async run(_p, v, io) {
    const observer = consoleObserver(logLevelOf(v));
    const topology = loadTopology(String(v.topology));
    const from = typeof v.from === 'string' ? parseLocation(v.from, topology, '--from') : undefined;
    const members = await Membership.connect({
      servers: natsOf(v),
      leaveMs: Number(v['leave-ms']),
      replicas: Number(v.replicas),
    });
    await members.watch();
    const server = await startRouterServer({
      members,
      topology,
      ...(from ? { from } : {}),
      host: String(v.ip),
      port: Number(v.port),
      upstreamTimeoutMs: Number(v['upstream-timeout-ms']),
      observer,
    });
    io.out(
      `\n  Outpost router on ${server.url}: ${members.members().length} node(s) live in ${topology.name}\n  Header Outpost-Client-Location: <city> places a client; Outpost-Pop: <code> picks a PoP.\n\n`,
    );
    await waitForSignal();
    await server.close();
    await members.close();
    return 0;
  },
};

export const shieldCommand: Command = {
  name: 'shield',
  summary: "Serve a region's shield: the cache tier between its PoP nodes and the origin",
  options: [
    NATS,
    {
      name: 'shield',
      type: 'string',
      help: 'the shield region served, an id of the topology (e.g. eu-west)',
    },
    TOPOLOGY,
    { name: 'port', type: 'number', default: 8788, help: 'port to listen on (0 picks a free one)' },
    IP,
    {
      name: 'advertise',
      type: 'string',
      help: 'the URL nodes reach this shield at (default http://<ip>:<port>)',
    },
    {
      name: 'leave-ms',
      type: 'number',
      default: 3000,
      help: 'ms without a heartbeat before nodes drop the shield',
    },
    REPLICAS,
    { name: 'max-mb', type: 'number', default: 256, help: "the shield cache's budget, MiB" },
    EGRESS,
    SECRET_FILE,
    LOG_LEVEL,
  ],
  async run(_p, v, io) {
    const nats = natsOf(v);
    if (typeof v.shield !== 'string')
      throw new CliError('give --shield ID (the shield region this process serves, e.g. eu-west)');
    const secret = secretOf(v);
    if (!secret)
      throw new CliError(
        `a shield needs the network secret: --secret-file PATH or ${SECRET_ENV} (the same the nodes have)`,
      );
    const maxMb = Number(v['max-mb']);
    if (!Number.isFinite(maxMb) || maxMb <= 0)
      throw new CliError(`--max-mb must be a positive number, received ${v['max-mb']}`);
    const observer = consoleObserver(logLevelOf(v));
    const shield = await startShieldServer({
      nats,
      shield: v.shield,
      topology: loadTopology(String(v.topology)),
      secret,
      host: String(v.ip),
      port: Number(v.port),
      leaveMs: Number(v['leave-ms']),
      replicas: Number(v.replicas),
      maxBytes: Math.round(maxMb * 1024 * 1024),
      egressAllow: egressFlags(v['egress-allow']),
      outpostVersion: OUTPOST_VERSION,
      ...(typeof v.advertise === 'string' ? { advertise: v.advertise } : {}),
      log: (level, message) => observer.log({ level, source: 'outpost', message }),
    });
    io.out(`\n  Outpost shield ${shield.id}: region ${v.shield} ready on ${shield.url}\n\n`);
    await waitForSignal();
    await shield.close();
    return 0;
  },
};

/** The [security] table of `file` (--security), refused when the file cannot be read or has none. */
export function securityOf(file: string): SecurityConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `--security ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const raw = parseConfigText(file, text);
  const security = parseSecurity(raw.security, file);
  if (!security) throw new CliError(`--security ${file}: it has no [security] table`);
  return security;
}
