/**
 * `outpost geodns`: the production stand-in for anycast — a DNS responder that answers the
 * network's hostname with the nearest healthy PoP's address (src/network/geodns.ts).
 */
import { readFileSync } from 'node:fs';
import {
  type GeoDnsServer,
  type Locator,
  loadTopology,
  Membership,
  maxmindLocator,
  parseLocation,
  popNodes,
  Router,
  startGeoDns,
  type Topology,
  tableLocator,
} from '../network/index.ts';
import { CliError } from './cache.ts';
import type { Command } from './commands.ts';

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`${what} ${file} is not readable JSON: ${(err as Error).message}`);
  }
}

export const geodnsCommand: Command = {
  name: 'geodns',
  summary: 'Answer DNS for the network hostname with the nearest healthy PoP (UDP and TCP)',
  options: [
    { name: 'hostname', type: 'string', help: 'the name to answer, e.g. edge.example.com' },
    { name: 'topology', type: 'string', default: 'world', help: 'a built-in topology or a topology file' },
    {
      name: 'addresses',
      type: 'string',
      help: 'JSON file: { "FRA": { "a": ["192.0.2.1"], "aaaa": ["2001:db8::1"] }, … }',
    },
    { name: 'maxmind', type: 'string', help: 'a MaxMind-format City database to place clients' },
    {
      name: 'networks',
      type: 'string',
      help: 'JSON file: [{ "cidr": "203.0.113.0/24", "location": "Mumbai" }, …]',
    },
    {
      name: 'from',
      type: 'string',
      help: 'where to route clients nothing can place (default: the first PoP)',
    },
    { name: 'ttl', type: 'number', default: 30, help: 'TTL of answers, seconds' },
    {
      name: 'nats',
      type: 'string',
      help: 'route from the live membership of node processes there: a PoP without a live node is not answered',
    },
    {
      name: 'leave-ms',
      type: 'number',
      default: 3000,
      help: 'with --nats: ms without a heartbeat before a node is gone',
    },
    { name: 'port', type: 'number', default: 5353, help: 'UDP and TCP port' },
    { name: 'ip', type: 'string', default: '127.0.0.1', help: 'address to listen on' },
  ],
  async run(_p, v, io) {
    const { server, topology } = await startGeodnsFrom(v);
    io.out(
      `\n  Outpost GeoDNS: ${v.hostname} on ${v.ip}:${server.port} (UDP and TCP), ${topology.pops.length} PoPs\n\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await server.close();
    return 0;
  },
};

/** Start the responder the command's options describe (tests call this without the signal wait). */
export async function startGeodnsFrom(
  v: Parameters<Command['run']>[1],
): Promise<{ server: GeoDnsServer; topology: Topology }> {
  if (typeof v.hostname !== 'string') throw new CliError('give --hostname (the name to answer)');
  if (typeof v.addresses !== 'string')
    throw new CliError('give --addresses FILE (the PoPs’ public addresses)');
  const topology = loadTopology(String(v.topology));
  const addresses = readJson(v.addresses, '--addresses') as Record<string, { a?: string[]; aaaa?: string[] }>;
  for (const id of Object.keys(addresses))
    if (!topology.pops.some((p) => p.id === id))
      throw new CliError(`--addresses names "${id}", not a PoP of ${topology.name}`);
  if (typeof v.maxmind === 'string' && typeof v.networks === 'string')
    throw new CliError('give --maxmind FILE or --networks FILE, not both: each places every client');
  let locate: Locator = () => undefined;
  if (typeof v.maxmind === 'string') {
    try {
      locate = await maxmindLocator(v.maxmind);
    } catch (err) {
      throw new CliError(
        `--maxmind ${v.maxmind} is not a readable MaxMind database: ${(err as Error).message}`,
      );
    }
  } else if (typeof v.networks === 'string')
    locate = tableLocator(
      readJson(v.networks, '--networks') as { cidr: string; location: string }[],
      topology,
    );
  const fallback = v.from
    ? parseLocation(String(v.from), topology, '--from')
    : { ...topology.pops[0], source: 'default' };
  const router = new Router(topology);
  // With --nats, a PoP is healthy while it has a live node (src/network/membership.ts).
  let membership: Membership | null = null;
  let timer: NodeJS.Timeout | null = null;
  if (typeof v.nats === 'string') {
    membership = await Membership.connect({ servers: v.nats, leaveMs: Number(v['leave-ms']) });
    await membership.watch();
    const m = membership;
    const refresh = () => {
      const live = new Set(popNodes(m.members()).map((x) => x.pop));
      for (const p of topology.pops) router.setHealthy(p.id, live.has(p.id));
    };
    refresh();
    m.onChange = refresh;
    timer = setInterval(refresh, Math.max(50, m.leaveMs / 4));
    timer.unref();
  }
  const dns = await startGeoDns({
    hostname: v.hostname,
    router,
    addresses,
    locate,
    fallback,
    ttl: v.ttl as number,
    port: v.port as number,
    host: v.ip as string,
  });
  const server: GeoDnsServer = {
    ...dns,
    close: async () => {
      if (timer) clearInterval(timer);
      await membership?.close();
      await dns.close();
    },
  };
  return { server, topology };
}
