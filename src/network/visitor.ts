/**
 * Who is asking: the headers a PoP sets on every request it hands to a worker or an origin, as
 * Cloudflare does (https://developers.cloudflare.com/fundamentals/reference/http-headers/):
 *
 *   CF-Connecting-IP  the client's address
 *   X-Forwarded-For   the chain as received, with the client's address appended (unless it already ends with it)
 *   X-Real-IP         the client's address
 *   CF-Ray            `<16 hex>-<PoP>`, the same value as the response's `cf-ray`
 *   CF-Visitor        {"scheme":"https"} or {"scheme":"http"}: how the client reached the PoP
 *   CF-IPCountry      the client's country (ISO 3166-1 alpha-2), "XX" when unknown
 *
 * The client's address is the socket's peer. Only when the operator names a trusted proxy
 * header (`[trusted_proxy] header` in outpost.toml, `--trusted-proxy-header`) is it taken from
 * that header instead, because only a proxy the operator runs can be believed: a client can send
 * any CF-Connecting-IP or X-Forwarded-For it likes. Whatever a client sent in these fields
 * (X-Forwarded-For aside, which is kept and appended to) is replaced, never passed on.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/** The request fields the platform sets; a client's own values never reach a worker. */
export const PLATFORM_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'cf-connecting-ip',
  'x-forwarded-for',
  'x-real-ip',
  'cf-ray',
  'cf-visitor',
  'cf-ipcountry',
]);

/** What the PoP knows about one request's client. */
export interface Visitor {
  /** The socket's peer address. */
  peer: string | undefined;
  /** The trusted proxy header's value, when one is configured and the request has it. */
  trusted?: string;
  /** X-Forwarded-For as received (several fields joined with ", "). */
  forwardedFor?: string;
  /** The client reached the PoP over TLS. */
  https: boolean;
  /** ISO country code, when the client's location is known. */
  country?: string;
  /** The request's ray id (`newRay()`). */
  ray: string;
}

const VISITOR_HTTPS = '{"scheme":"https"}';
const VISITOR_HTTP = '{"scheme":"http"}';

/** The client's address: the trusted header's (last) entry when it holds one, else the peer. */
export function clientAddress(v: Pick<Visitor, 'peer' | 'trusted'>): string {
  if (v.trusted !== undefined) {
    // A proxy appends the address it saw: the last entry is the one it vouches for.
    const comma = v.trusted.lastIndexOf(',');
    const ip = bareAddress(comma === -1 ? v.trusted : v.trusted.slice(comma + 1));
    if (ip) return ip;
  }
  return unmapped(v.peer ?? '') || '0.0.0.0';
}

/** Flat name/value pairs of the headers the platform sets, to append to the request's own. */
export function visitorHeaders(v: Visitor): string[] {
  const ip = clientAddress(v);
  const chain = v.forwardedFor?.trim();
  let xff = ip;
  if (chain) {
    const comma = chain.lastIndexOf(',');
    const last = (comma === -1 ? chain : chain.slice(comma + 1)).trim();
    xff = last === ip ? chain : `${chain}, ${ip}`;
  }
  return [
    'cf-connecting-ip',
    ip,
    'x-forwarded-for',
    xff,
    'x-real-ip',
    ip,
    'cf-ray',
    v.ray,
    'cf-visitor',
    v.https ? VISITOR_HTTPS : VISITOR_HTTP,
    'cf-ipcountry',
    v.country && /^[A-Z]{2}$/.test(v.country) ? v.country : 'XX',
  ];
}

// Ray ids: 16 hex digits, unique per process without a random draw per request (a random
// 32-bit prefix per process, then a counter from a random start).
const rayPrefix = randomBytes(4).toString('hex');
let rayCounter = randomBytes(4).readUInt32BE(0);

/** A new ray id for a request served by `pop`: `<16 hex>-<POP>`, as Cloudflare's CF-Ray. */
export function newRay(pop: string): string {
  rayCounter = (rayCounter + 1) >>> 0;
  return `${rayPrefix}${rayCounter.toString(16).padStart(8, '0')}-${pop}`;
}

/** An address without port, brackets or IPv4-mapping; '' when it is not an IP address. */
function bareAddress(raw: string): string {
  let s = raw.trim();
  if (s.startsWith('[')) s = s.slice(1, s.indexOf(']') === -1 ? undefined : s.indexOf(']'));
  else if (s.indexOf(':') !== -1 && s.indexOf(':') === s.lastIndexOf(':')) s = s.slice(0, s.indexOf(':'));
  s = unmapped(s);
  return isIP(s) ? s : '';
}

function unmapped(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
