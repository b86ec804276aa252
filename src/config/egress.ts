/**
 * The egress allow-list of worker fetch(): the entries an operator writes in `[egress] allow`
 * (outpost.toml) or `--egress-allow`, parsed and validated here; the runtime matches them
 * (src/runtime/egress.ts). An entry is one of:
 *
 *   "loopback" | "private" | "link-local" | "cgnat"   a class of addresses the policy refuses by default
 *   "10.0.0.0/8", "fd00::/8"                          a CIDR block
 *   "10.1.2.3", "::1", "10.1.2.3:8080", "[::1]:8080"  one address, any port or one port
 *   "api.internal", "api.internal:8080"               a host name, whatever it resolves to
 *
 * A host name entry trusts the name's DNS: a fetch to that name connects to whatever it
 * resolves to, private addresses included. Everything else is matched on the address a
 * connection is about to be made to.
 */
import { isIP } from 'node:net';

/** Address classes refused by default that an entry may name as a whole. */
export const EGRESS_CLASSES = ['loopback', 'private', 'link-local', 'cgnat'] as const;
export type EgressClass = (typeof EGRESS_CLASSES)[number];

export type EgressRule =
  | { kind: 'class'; name: EgressClass; text: string }
  /** `bytes` is 4 (IPv4) or 16 (IPv6) bytes long; `port` undefined: any port. */
  | { kind: 'cidr'; bytes: Uint8Array; prefix: number; port: number | undefined; text: string }
  | { kind: 'host'; host: string; port: number | undefined; text: string };

/** 4 or 16 bytes of an IP address in its textual form (IPv6 without brackets), or null. */
export function ipBytes(ip: string): Uint8Array | null {
  const v = isIP(ip);
  if (v === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (v !== 6) return null;
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const words: number[] = [];
  const tail: number[] = [];
  const toWords = (part: string, into: number[]) => {
    if (part === '') return;
    for (const w of part.split(':')) {
      if (w.includes('.')) {
        const [a, b, c, d] = w.split('.').map(Number);
        into.push((a << 8) | b, (c << 8) | d);
      } else into.push(Number.parseInt(w, 16));
    }
  };
  const gap = text.indexOf('::');
  if (gap >= 0) {
    toWords(text.slice(0, gap), words);
    toWords(text.slice(gap + 2), tail);
  } else toWords(text, words);
  const all = [...words, ...new Array(8 - words.length - tail.length).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

const HOST =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Parse one allow-list entry; throws an Error saying what is wrong with it. */
export function parseEgressRule(entry: string): EgressRule {
  const text = entry.trim();
  const fail = (why: string): never => {
    throw new Error(`"${entry}" is not ${why}`);
  };
  if ((EGRESS_CLASSES as readonly string[]).includes(text))
    return { kind: 'class', name: text as EgressClass, text };
  const port = (p: string | undefined): number | undefined => {
    if (p === undefined) return undefined;
    const n = Number(p);
    if (!/^\d{1,5}$/.test(p) || n < 1 || n > 65535) fail('a valid port (1 to 65535)');
    return n;
  };
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const bytes = ipBytes(text.slice(0, slash));
    const prefix = text.slice(slash + 1);
    if (!bytes) return fail('a CIDR block like 10.0.0.0/8 or fd00::/8');
    const n = Number(prefix);
    if (!/^\d{1,3}$/.test(prefix) || n > bytes.length * 8)
      return fail(`a CIDR block: the prefix length must be 0 to ${bytes.length * 8}`);
    return { kind: 'cidr', bytes, prefix: n, port: undefined, text };
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    const bytes = ipBytes(bracketed[1]);
    if (!bytes || bytes.length !== 16) return fail('an IPv6 address in brackets');
    return { kind: 'cidr', bytes, prefix: 128, port: port(bracketed[2]), text };
  }
  const whole = ipBytes(text);
  if (whole) return { kind: 'cidr', bytes: whole, prefix: whole.length * 8, port: undefined, text };
  const [host, p, extra] = text.toLowerCase().split(':');
  if (extra !== undefined || !host) return fail('an address, CIDR block, host name or class');
  const v4 = ipBytes(host);
  if (v4) return { kind: 'cidr', bytes: v4, prefix: 32, port: port(p), text };
  if (!HOST.test(host) || /^[\d.]+$/.test(host))
    return fail(`an address, CIDR block, host name or one of ${EGRESS_CLASSES.join(', ')}`);
  return { kind: 'host', host, port: port(p), text };
}

/** Parse a whole allow-list, naming the entry at fault. */
export function parseEgressAllow(entries: readonly string[]): EgressRule[] {
  return entries.map((e) => parseEgressRule(e));
}
