/**
 * `outpost node` (one PoP of a network, serving what is deployed; src/pop/node.ts) and
 * `outpost router` (the front that routes to the nearest PoP with a live node;
 * src/network/router-server.ts). Both find the network through NATS.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { loadTopology, Membership, parseLocation, startRouterServer } from '../network/index.ts';
import { consoleObserver, type LogLevel } from '../observability/index.ts';
import { startNode } from '../pop/index.ts';
import { CliError } from './cache.ts';
import type { Command, OptionSpec } from './commands.ts';
import { NATS_OPTION as NATS, natsOf } from './nats.ts';

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

export const nodeCommand: Command = {
  name: 'node',
  summary: 'Serve one PoP of a network from what is deployed to it (outpost deploy)',
  options: [
    NATS,
    { name: 'pop', type: 'string', help: 'the PoP served, an id of the topology (e.g. FRA)' },
    { name: 'topology', type: 'string', default: 'world', help: 'a built-in topology or a topology file' },
    { name: 'port', type: 'number', default: 8787, help: 'port to listen on (0 picks a free one)' },
    { name: 'ip', type: 'string', default: '127.0.0.1', help: 'address to listen on' },
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
      help: `processes sharing the port (Node's cluster; default one per core, ${availableParallelism()} here)`,
    },
    {
      name: 'leave-ms',
      type: 'number',
      default: 3000,
      help: 'ms without a heartbeat before routers drop the node',
    },
    {
      name: 'replicas',
      type: 'number',
      default: 1,
      help: 'JetStream replicas of the control buckets (3 on a NATS cluster)',
    },
    {
      name: 'trusted-proxy-header',
      type: 'string',
      help: 'the header the router sets to the client address (x-forwarded-for behind outpost router)',
    },
    LOG_LEVEL,
  ],
  async run(_p, v, io) {
    const nats = natsOf(v);
    if (typeof v.pop !== 'string') throw new CliError('give --pop ID (the PoP this node serves, e.g. FRA)');
    const processes = v.processes === undefined ? availableParallelism() : Number(v.processes);
    if (!Number.isInteger(processes) || processes < 1)
      throw new CliError(`--processes must be a positive integer, received ${v.processes}`);
    if (processes > 1 && cluster.isPrimary) {
      if (v.port === 0) throw new CliError('--processes above 1 needs a fixed --port (they share it)');
      // The workers run this same command line; each is a whole node sharing the port.
      for (let i = 0; i < processes; i++) cluster.fork();
      io.out(`\n  Outpost node: PoP ${v.pop}, ${processes} processes on ${v.ip}:${v.port}\n\n`);
      await waitForSignal();
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      await new Promise<void>((resolve) => cluster.once('exit', () => resolve()));
      return 0;
    }
    const observer = consoleObserver(logLevelOf(v));
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
    { name: 'topology', type: 'string', default: 'world', help: 'a built-in topology or a topology file' },
    { name: 'port', type: 'number', default: 8080, help: 'port to listen on (0 picks a free one)' },
    { name: 'ip', type: 'string', default: '127.0.0.1', help: 'address to listen on' },
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
