/**
 * GeoDNS for production: a DNS responder (UDP and TCP) that answers A/AAAA for the network's
 * hostname with the address of the nearest healthy PoP for the client — located by the EDNS
 * Client Subnet when the resolver sends one (RFC 7871), else by the resolver's own address.
 * Packets are encoded and decoded by dns-packet; locating an address is a `Locator` (a
 * MaxMind-format database through `maxmind`, or a table of networks).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import maxmind, { type CityResponse } from 'maxmind';
import type { ClientLocation } from './location.ts';
import { parseLocation } from './location.ts';
import type { Router } from './router.ts';
import type { Topology } from './topology/types.ts';

/** Where an IP address is, or undefined when nothing knows. */
export type Locator = (ip: string) => ClientLocation | undefined;

export interface GeoDnsOptions {
  /** The name answered (e.g. edge.example.com); other names get REFUSED. */
  hostname: string;
  router: Router;
  /** Each PoP's public addresses. */
  addresses: Record<string, { a?: string[]; aaaa?: string[] }>;
  locate: Locator;
  /** Where clients nothing can place are routed from. */
  fallback: ClientLocation;
  /** TTL of answers, seconds (default 30: short, so failover is quick). */
  ttl?: number;
  host?: string;
  port?: number;
}

export interface GeoDnsServer {
  port: number;
  close(): Promise<void>;
}

/** A locator over a MaxMind-format (GeoLite2/GeoIP2 City) database file. */
export async function maxmindLocator(file: string): Promise<Locator> {
  const reader = await maxmind.open<CityResponse>(file);
  return (ip) => {
    const r = reader.get(ip);
    if (!r?.location) return undefined;
    return {
      latitude: r.location.latitude,
      longitude: r.location.longitude,
      city: r.city?.names?.en,
      country: r.country?.iso_code,
      continent: r.continent?.code,
      timezone: r.location.time_zone,
      source: `maxmind ${ip}`,
    };
  };
}

/** A locator over a table of IPv4 networks: [{ cidr: "203.0.113.0/24", location: "Mumbai" }]. */
export function tableLocator(rows: { cidr: string; location: string }[], topology: Topology): Locator {
  const nets = rows.map((r, i) => {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(r.cidr);
    if (!m || net.isIPv4(m[1]) === false || Number(m[2]) > 32)
      throw new RangeError(
        `networks[${i}].cidr must be an IPv4 network like 203.0.113.0/24, received ${r.cidr}`,
      );
    const bits = Number(m[2]);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return {
      base: (v4(m[1]) & mask) >>> 0,
      mask,
      location: parseLocation(r.location, topology, `networks[${i}].location`),
    };
  });
  return (ip) => {
    if (!net.isIPv4(ip)) return undefined;
    const n = v4(ip);
    return nets.find((x) => (n & x.mask) >>> 0 === x.base)?.location;
  };
}

function v4(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

/** The answer to one query packet from `from` (the resolver's address). */
export function answer(query: Packet, from: string, o: GeoDnsOptions): Packet {
  const q = query.questions?.[0];
  const base = {
    id: query.id,
    type: 'response' as const,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: query.questions,
  };
  if (!q || q.name.toLowerCase().replace(/\.$/, '') !== o.hostname.toLowerCase())
    return { ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | 5, answers: [] }; // REFUSED
  const opt = query.additionals?.find((a) => a.type === 'OPT') as
    | { options?: { code: number; ip?: string; sourcePrefixLength?: number }[] }
    | undefined;
  const ecs = opt?.options?.find((x) => x.code === 8);
  const client = (ecs?.ip && o.locate(ecs.ip)) || o.locate(from) || o.fallback;
  const pop = o.router.route(client);
  const answers: Answer[] = [];
  if (pop) {
    const addr = o.addresses[pop.id] ?? {};
    const ttl = o.ttl ?? 30;
    if (q.type === 'A') for (const a of addr.a ?? []) answers.push({ type: 'A', name: q.name, ttl, data: a });
    if (q.type === 'AAAA')
      for (const a of addr.aaaa ?? []) answers.push({ type: 'AAAA', name: q.name, ttl, data: a });
  }
  const additionals = ecs?.ip
    ? [
        {
          type: 'OPT' as const,
          name: '.',
          udpPayloadSize: 1232,
          // RFC 7871 §7.2.1: echo the option; the scope says how wide the answer holds.
          options: [
            {
              code: 8,
              ip: ecs.ip,
              sourcePrefixLength: ecs.sourcePrefixLength,
              scopePrefixLength: ecs.sourcePrefixLength,
            },
          ],
        },
      ]
    : [];
  return { ...base, answers, additionals } as Packet;
}

/** DNS answers UDP and TCP on one port: a free UDP port whose TCP twin is taken is tried again. */
const BIND_ATTEMPTS = 5;

export async function startGeoDns(o: GeoDnsOptions): Promise<GeoDnsServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await listenGeoDns(o);
    } catch (err) {
      // Port 0 (a free one): the UDP port was free but its TCP twin was not; a fixed port fails.
      if ((o.port ?? 5353) !== 0 || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
}

async function listenGeoDns(o: GeoDnsOptions): Promise<GeoDnsServer> {
  const host = o.host ?? '127.0.0.1';
  const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => {
    try {
      const reply = dnsPacket.encode(answer(dnsPacket.decode(msg), rinfo.address, o));
      udp.send(reply, rinfo.port, rinfo.address);
    } catch {
      // A packet that does not decode gets no answer (as resolvers expect of garbage).
    }
  });
  const tcp = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        try {
          socket.write(dnsPacket.streamEncode(answer(dnsPacket.decode(msg), socket.remoteAddress ?? '', o)));
        } catch {
          socket.destroy();
        }
      }
    });
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(o.port ?? 5353, host, () => resolve(udp.address().port));
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve());
    });
  } catch (err) {
    // Neither socket is left open behind the error (a bound UDP socket kept the process alive).
    try {
      udp.close();
    } catch {
      // Never bound.
    }
    tcp.close();
    throw err;
  }
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        udp.close();
        tcp.close(() => resolve());
      }),
  };
}
