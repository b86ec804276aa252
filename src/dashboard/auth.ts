/**
 * Who may use the dashboard, and the admin API through it.
 *
 *  - A request with the admin token (`Authorization: Bearer …`): the CLI's way, unchanged.
 *  - A browser session. Loading the dashboard makes one when the page comes from loopback (the
 *    peer is 127.0.0.0/8 or ::1 *and* the Host header names loopback: a DNS-rebinding page
 *    reaches loopback under its own domain's name, so its Host gives it away), or after the
 *    login form took the admin token. The session id travels in a cookie (HttpOnly,
 *    SameSite=Strict, Path=/__outpost/) and is worth reads; every action (any method but GET
 *    and HEAD) must also carry the session's CSRF token in `x-outpost-csrf`, which only the
 *    page the server rendered holds. Both are compared in constant time.
 *
 * Sessions live in the server's memory (a restart logs everyone out), per admin token (a new
 * token ends the old sessions), at most MAX_SESSIONS, each for SESSION_MS after its last use.
 * The admin token itself is never sent to a browser.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const SESSION_COOKIE = 'outpost_session';
export const CSRF_HEADER = 'x-outpost-csrf';
const MAX_SESSIONS = 1000;
const SESSION_MS = 12 * 60 * 60 * 1000;

export interface Session {
  id: string;
  csrf: string;
  /** When it lapses unless used (Date.now() ms). */
  expires: number;
}

/** Equal strings, compared in time independent of where they differ. */
export function sameSecret(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The admin token from `Authorization: Bearer …`, checked. */
export function bearerAuthorized(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m !== null && sameSecret(m[1], token);
}

/** A peer address on this machine's loopback (IPv4-mapped IPv6 included). */
export function loopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/** A Host header that names loopback: localhost (and its subdomains), 127.x, [::1]; any port. */
export function loopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(host.trim().toLowerCase());
  if (!m) return false;
  const name = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return loopbackAddress(name);
}

/** The request comes from this machine, to a loopback name (see the top). */
export function fromLoopback(req: IncomingMessage): boolean {
  return loopbackAddress(req.socket.remoteAddress) && loopbackHost(req.headers.host);
}

/** A cookie's value from the request's Cookie header, or null. */
export function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export class Sessions {
  readonly #byId = new Map<string, Session>();

  /** A new session (the oldest goes past MAX_SESSIONS). */
  create(now = Date.now()): Session {
    const s: Session = {
      id: randomBytes(24).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      expires: now + SESSION_MS,
    };
    this.#byId.set(s.id, s);
    if (this.#byId.size > MAX_SESSIONS) this.#byId.delete(this.#byId.keys().next().value as string);
    return s;
  }

  /** The request's live session (its lifetime renewed), or null. */
  of(req: IncomingMessage, now = Date.now()): Session | null {
    const id = cookie(req, SESSION_COOKIE);
    if (!id) return null;
    // Looked up by the id itself: a Map lookup does not compare secrets byte by byte in
    // JavaScript, and an id is 192 random bits.
    const s = this.#byId.get(id);
    if (!s) return null;
    if (s.expires <= now) {
      this.#byId.delete(id);
      return null;
    }
    s.expires = now + SESSION_MS;
    this.#byId.delete(id); // most recently used last: the first to go past MAX_SESSIONS is the oldest
    this.#byId.set(id, s);
    return s;
  }

  end(s: Session): void {
    this.#byId.delete(s.id);
  }
}

/** Sessions per admin token (a server's token; a new token starts with none). */
const stores = new Map<string, Sessions>();
export function sessionsFor(token: string): Sessions {
  let s = stores.get(token);
  if (!s) {
    if (stores.size > 16) stores.delete(stores.keys().next().value as string);
    stores.set(token, (s = new Sessions()));
  }
  return s;
}

/** The Set-Cookie value of a session (or of its end, with `null`). */
export function sessionCookie(s: Session | null, secure: boolean): string {
  const attrs = `Path=/__outpost/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return s === null ? `${SESSION_COOKIE}=; Max-Age=0; ${attrs}` : `${SESSION_COOKIE}=${s.id}; ${attrs}`;
}

export type Access = 'token' | 'session' | null;

/**
 * What an admin API request may do: everything with the token; with a session, reads, and
 * actions that carry its CSRF token; else nothing. `refused` says why an action was refused.
 */
export function apiAccess(req: IncomingMessage, token: string): { access: Access; refused?: string } {
  if (bearerAuthorized(req, token)) return { access: 'token' };
  const s = sessionsFor(token).of(req);
  if (!s) return { access: null };
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return { access: 'session' };
  const given = req.headers[CSRF_HEADER];
  if (typeof given === 'string' && sameSecret(given, s.csrf)) return { access: 'session' };
  return { access: null, refused: `missing or wrong CSRF token (${CSRF_HEADER})` };
}
