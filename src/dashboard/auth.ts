/**
 * Who may use the dashboard, and the admin API through it.
 *
 *  - A request with the admin token (`Authorization: Bearer …`): the CLI's way, unchanged.
 *  - A browser session, made after the login form took the admin token, or, on `outpost dev`
 *    only (never a node, never behind a trusted proxy), for a browser on this machine that
 *    opens the dashboard itself. That last one is the risky door, so all of these must hold
 *    (mayMint): the peer is 127.0.0.0/8 or ::1 and the Host names loopback (a DNS-rebinding
 *    page's Host names its own domain); the request is a browser's own top-level navigation
 *    (`Sec-Fetch-Site: none`, `Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`: typed,
 *    bookmarked or opened from the terminal, which no page's script can send, so the worker's
 *    own pages on the same origin cannot take a session); no proxy header (`Forwarded`,
 *    `X-Forwarded-*`, `Via`, `X-Real-IP`): a proxy on this machine makes every client look
 *    local; the connection is not one this process made (a worker's fetch() or connect() to
 *    loopback, which can send any header: checked in /proc on Linux, refused elsewhere); and at
 *    most MINTS_PER_MINUTE a minute. Such a session is honoured only from loopback.
 *  - The session id travels in a cookie (HttpOnly, SameSite=Strict, Path=/__outpost/). It may
 *    read what the views read and act as they act (SESSION_READS, SESSION_ACTIONS), not the
 *    rest of the admin API; every action must also carry the session's CSRF token in
 *    `x-outpost-csrf`, which only the page the server rendered holds. Both are compared in
 *    constant time.
 *
 * Sessions live in the server's memory (a restart logs everyone out), per admin token (a new
 * token ends the old sessions), at most MAX_SESSIONS, each for SESSION_MS after its last use.
 * The admin token itself is never sent to a browser.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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
  /** Made for a loopback visitor: honoured only from loopback. */
  loopback: boolean;
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

/** The request comes from this machine, to a loopback name (HTTP/2: its :authority). */
export function fromLoopback(req: IncomingMessage): boolean {
  const host = req.headers.host ?? (req.headers[':authority'] as string | undefined);
  return loopbackAddress(req.socket.remoteAddress) && loopbackHost(host);
}

/** Headers a proxy adds: their presence means the peer address is the proxy's. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'via'];
const MINTS_PER_MINUTE = 30;
let mintWindow = 0;
let mints = 0;

/** Whether a session may be made for this visitor without the token (see the top). */
export function mayMint(req: IncomingMessage, now = Date.now()): boolean {
  const h = req.headers;
  if (!fromLoopback(req)) return false;
  if (
    h['sec-fetch-site'] !== 'none' ||
    h['sec-fetch-mode'] !== 'navigate' ||
    h['sec-fetch-dest'] !== 'document'
  )
    return false;
  if (PROXY_HEADERS.some((name) => h[name] !== undefined)) return false;
  if (ownConnection(req.socket.remotePort, req.socket.localPort) !== false) return false;
  if (now - mintWindow > 60_000) {
    mintWindow = now;
    mints = 0;
  }
  return ++mints <= MINTS_PER_MINUTE;
}

/**
 * Whether the TCP connection whose peer port is `peer` (to our port `local`) was opened by this
 * process — a worker's subrequest to loopback — from /proc: the connecting socket's inode among
 * this process's file descriptors. Null when that cannot be told (not Linux, /proc unreadable).
 */
export function ownConnection(peer: number | undefined, local: number | undefined): boolean | null {
  if (peer === undefined || local === undefined) return null;
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  let inode: string | null = null;
  try {
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(file, 'latin1');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        const f = line.trim().split(/\s+/);
        // The client's socket: its local port is the peer's, its remote port ours.
        if (f.length > 9 && f[1].endsWith(`:${hex(peer)}`) && f[2].endsWith(`:${hex(local)}`)) {
          inode = f[9];
          break;
        }
      }
      if (inode !== null) break;
    }
    if (inode === null) return false; // not this machine's socket table: another namespace
    const want = `socket:[${inode}]`;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`) === want) return true;
      } catch {
        // closed meanwhile
      }
    }
    return false;
  } catch {
    return null;
  }
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

  /** A new session (the oldest goes past MAX_SESSIONS); `loopback`: made without the token. */
  create(loopback: boolean, now = Date.now()): Session {
    const s: Session = {
      id: randomBytes(24).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      expires: now + SESSION_MS,
      loopback,
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
    if (s.loopback && !loopbackAddress(req.socket.remoteAddress)) return null;
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

/** Admin paths (after /__outpost/) a session may read: what the views read. */
const SESSION_READS =
  /^(tail|requests|traces|network|network\/stats|cache\/stats|workers|deployments|kv\/keys|do\/objects|metrics)$/;
/** And act on (with its CSRF token): a purge, a simulated outage. */
const SESSION_ACTIONS =
  /^(cache\/purge|network\/pops\/[A-Za-z0-9_-]+|deployments\/[A-Za-z0-9_-]+\/rollback)$/;

/**
 * What an admin API request for `path` (after /__outpost/) may do: everything with the token;
 * with a session, the views' reads, and their actions when they carry its CSRF token; else
 * nothing. `refused` says why a session was refused.
 */
export function apiAccess(
  req: IncomingMessage,
  token: string,
  path: string,
): { access: Access; refused?: string } {
  if (bearerAuthorized(req, token)) return { access: 'token' };
  const s = sessionsFor(token).of(req);
  if (!s) return { access: null };
  const method = req.method ?? 'GET';
  const read = method === 'GET';
  if (!(read ? SESSION_READS : SESSION_ACTIONS).test(path))
    return {
      access: null,
      refused: `${method} /__outpost/${path} needs the admin token, not a dashboard session`,
    };
  if (read) return { access: 'session' };
  const given = req.headers[CSRF_HEADER];
  if (typeof given === 'string' && sameSecret(given, s.csrf)) return { access: 'session' };
  return { access: null, refused: `missing or wrong CSRF token (${CSRF_HEADER})` };
}
