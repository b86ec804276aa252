/**
 * The egress policy of worker fetch(): which addresses a tenant's subrequests may connect to.
 *
 * A tenant's fetch() runs on the host, inside the operator's network: without a policy it
 * reaches the PoP's own loopback services (the admin endpoints, a local database), the cloud
 * metadata service at 169.254.169.254, and private networks. By default every address that is
 * not public unicast is refused: loopback, private (RFC 1918, fc00::/7), link-local, the shared
 * address space of carrier-grade NAT (100.64/10), unspecified, multicast, documentation,
 * benchmarking and reserved ranges, and IPv6 forms that embed one of them (IPv4-mapped, NAT64,
 * 6to4). The operator allows more with `[egress] allow` / `--egress-allow` (src/config/egress.ts);
 * `outpost dev` on its single PoP allows loopback, so a worker can call an API on the
 * developer's machine.
 *
 * The check is made where the connection is made (an undici connector): on the address a host
 * name resolved to at that moment, so a name that resolves to 127.0.0.1 (DNS rebinding) is
 * refused like the literal, and on every connection, so every hop of a redirect and every new
 * pooled connection is checked. Literal addresses in odd forms (`http://2130706433/`,
 * `http://0x7f.1/`) reach the connector already normalised by the WHATWG URL parser.
 */
import { lookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Agent } from 'undici';
import { type EgressClass, type EgressRule, ipBytes, parseEgressAllow } from '../config/index.ts';
import { undici } from '../http/undici.ts';
import { OutpostError } from './errors.ts';

/** Why an address is outside the default policy: a class an allow entry may name, or another. */
export type AddressKind = EgressClass | 'unspecified' | 'multicast' | 'reserved';

const PHRASE: Record<AddressKind, string> = {
  loopback: 'loopback addresses are',
  private: 'private network addresses are',
  'link-local': 'link-local addresses are',
  cgnat: 'shared (carrier-grade NAT) addresses are',
  unspecified: 'the unspecified address is',
  multicast: 'multicast addresses are',
  reserved: 'reserved addresses are',
};

type Block = [bytes: number[], prefix: number, kind: AddressKind];

const V4: Block[] = [
  [[0, 0, 0, 0], 32, 'unspecified'],
  [[0, 0, 0, 0], 8, 'reserved'], // "this network"
  [[127, 0, 0, 0], 8, 'loopback'],
  [[10, 0, 0, 0], 8, 'private'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 168, 0, 0], 16, 'private'],
  [[100, 64, 0, 0], 10, 'cgnat'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[192, 0, 0, 0], 24, 'reserved'], // IETF protocol assignments
  [[192, 0, 2, 0], 24, 'reserved'], // documentation
  [[198, 51, 100, 0], 24, 'reserved'],
  [[203, 0, 113, 0], 24, 'reserved'],
  [[192, 88, 99, 0], 24, 'reserved'], // 6to4 relay anycast
  [[198, 18, 0, 0], 15, 'reserved'], // benchmarking
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'], // and the broadcast address
];

const V6: Block[] = [
  [[], 128, 'unspecified'],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, 'loopback'],
  [[0xfc], 7, 'private'], // unique local
  [[0xfe, 0xc0], 10, 'private'], // site-local (deprecated)
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xff], 8, 'multicast'],
];

function inBlock(addr: Uint8Array, bytes: ArrayLike<number>, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((addr[i] & mask) !== ((bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any. */
function embeddedV4(a: Uint8Array): Uint8Array | null {
  const zero = (from: number, to: number) => a.slice(from, to).every((b) => b === 0);
  if (zero(0, 10) && a[10] === 0xff && a[11] === 0xff) return a.slice(12); // ::ffff:0:0/96
  if (inBlock(a, [0, 0x64, 0xff, 0x9b], 32) && zero(4, 12)) return a.slice(12); // 64:ff9b::/96
  if (a[0] === 0x20 && a[1] === 0x02) return a.slice(2, 6); // 2002::/16
  return null;
}

/** Why `addr` (4 or 16 bytes) is refused by default, or null for public unicast. */
export function classify(addr: Uint8Array): AddressKind | null {
  if (addr.length === 4) {
    for (const [bytes, prefix, kind] of V4) if (inBlock(addr, bytes, prefix)) return kind;
    return null;
  }
  for (const [bytes, prefix, kind] of V6) if (inBlock(addr, bytes, prefix)) return kind;
  const v4 = embeddedV4(addr);
  if (v4) return classify(v4);
  // Global unicast is 2000::/3; inside it, Teredo, documentation and ORCHID are not the internet.
  if (!inBlock(addr, [0x20], 3)) return 'reserved';
  if (inBlock(addr, [0x20, 0x01, 0, 0], 32)) return 'reserved';
  if (inBlock(addr, [0x20, 0x01, 0x0d, 0xb8], 32)) return 'reserved';
  if (inBlock(addr, [0x20, 0x01, 0, 0x10], 28)) return 'reserved';
  return null;
}

/** A fetch() the egress policy refused; reaches the worker as a TypeError with this message. */
export class EgressRefusedError extends OutpostError {
  constructor(message: string) {
    super('EGRESS_REFUSED', message);
    this.name = 'EgressRefusedError';
  }
}

const HOW_TO_ALLOW =
  'allow them with [egress] allow in outpost.toml or --egress-allow, if this network should reach them';

export interface EgressOptions {
  /** Allow-list entries (src/config/egress.ts); `outpost dev` on one PoP adds "loopback". */
  allow?: readonly string[];
}

/** The policy and the undici dispatcher that enforces it for one runtime's fetch() subrequests. */
export class EgressPolicy {
  readonly rules: EgressRule[];
  #dispatcher: Agent | null = null;
  #closed = false;

  constructor(options: EgressOptions = {}) {
    try {
      this.rules = parseEgressAllow(options.allow ?? []);
    } catch (err) {
      throw new OutpostError('INVALID_OPTION', `egress.allow: ${(err as Error).message}`);
    }
  }

  /**
   * The dispatcher that connects only where the policy allows (made on first use: undici.ts).
   * Asked for after close, it is one already destroyed: requests fail, as they did on the old one.
   */
  get dispatcher(): Agent {
    if (this.#dispatcher === null) {
      const { Agent, buildConnector } = undici();
      const connect = buildConnector({});
      this.#dispatcher = new Agent({
        connect: (opts, callback) => {
          this.resolve(opts.hostname, Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80)).then(
            (address) => connect({ ...opts, hostname: address }, callback),
            (err: Error) => callback(err, null),
          );
        },
      });
      if (this.#closed) void this.#dispatcher.destroy();
    }
    return this.#dispatcher;
  }

  /** Whether a host name entry covers `host:port`. */
  #hostAllowed(host: string, port: number): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.rules.some(
      (r) => r.kind === 'host' && r.host === h && (r.port === undefined || r.port === port),
    );
  }

  /** Why connecting to `ip`:`port` is refused, or null when it is allowed. */
  refusal(ip: string, port: number): AddressKind | null {
    const addr = ipBytes(ip);
    if (!addr) return 'reserved';
    const kind = classify(addr);
    if (kind === null) return null;
    const v4 = addr.length === 16 ? embeddedV4(addr) : null;
    for (const r of this.rules) {
      if (r.kind === 'class' && r.name === kind) return null;
      if (r.kind !== 'cidr' || (r.port !== undefined && r.port !== port)) continue;
      if (r.bytes.length === addr.length && inBlock(addr, r.bytes, r.prefix)) return null;
      if (v4 && r.bytes.length === 4 && inBlock(v4, r.bytes, r.prefix)) return null;
    }
    return kind;
  }

  /**
   * The address to connect to for `host`: the literal itself, or the first address the name
   * resolves to now that the policy allows; rejects with EgressRefusedError otherwise.
   */
  async resolve(host: string, port: number): Promise<string> {
    if (isIP(host)) {
      this.checkLiteral(host, port);
      return host;
    }
    const addresses = await new Promise<{ address: string }[]>((resolve, reject) =>
      lookup(host, { all: true }, (err, list) => (err ? reject(err) : resolve(list))),
    );
    if (this.#hostAllowed(host, port) && addresses.length) return addresses[0].address;
    let first: { address: string; kind: AddressKind } | null = null;
    for (const { address } of addresses) {
      const kind = this.refusal(address, port);
      if (!kind) return address;
      first ??= { address, kind };
    }
    if (!first) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    throw refused(host, first.address, first.kind);
  }

  /**
   * A `lookup` for node:net / node:tls (outgoing WebSockets): resolves through the policy. Node
   * skips `lookup` for literal addresses, so a caller checks those with `refusal` first.
   */
  lookupFor(port: number): LookupFunction {
    return (host, options, callback) => {
      this.resolve(host, port).then(
        (address) => {
          const family = isIP(address);
          if (options.all) callback(null, [{ address, family }]);
          else callback(null, address, family);
        },
        (err: NodeJS.ErrnoException) => callback(err, ''),
      );
    };
  }

  /** Throws EgressRefusedError when a literal address is refused (names go through lookupFor). */
  checkLiteral(host: string, port: number): void {
    if (!isIP(host)) return;
    const kind = this.refusal(host, port);
    if (kind) throw refused(host, host, kind);
  }

  /** Drop the policy's connections (the runtime is closing: nothing waits on them any more). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#dispatcher?.destroy();
  }
}

function refused(host: string, address: string, kind: AddressKind): EgressRefusedError {
  const what = host === address ? address : `${host} (${address})`;
  return new EgressRefusedError(
    `fetch to ${what} refused: ${PHRASE[kind]} outside this network's egress policy (${HOW_TO_ALLOW})`,
  );
}
