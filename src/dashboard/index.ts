/**
 * The dashboard: a web page served at `/__outpost/` on the admin side of every PoP server (an
 * `outpost dev`, a node, a proxy), which reads and acts through the admin API beside it.
 *
 *   GET  /__outpost/              the page (on `outpost dev`, a browser on this machine gets a
 *                                 session without the token: auth.ts), or the login form (401)
 *   POST /__outpost/login         form field `token` (the admin token) → a session, 303 to the page
 *   POST /__outpost/logout        ends the session (needs its CSRF token)
 *   GET  /__outpost/ui/app.js     the client (src/dashboard/client/, Preact + htm), bundled by
 *        /__outpost/ui/app.css    esbuild when first asked for and kept in memory; no CDN
 *        /__outpost/ui/land.json  the map's land outline (world-atlas, read when the map is shown)
 *
 * What the page may show is described to it in a JSON block (`features`): which admin
 * endpoints this server has. It never holds the admin token or a secret of a worker.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  bearerAuthorized,
  CSRF_HEADER,
  mayMint,
  type Session,
  sameSecret,
  sessionCookie,
  sessionsFor,
} from './auth.ts';
import type { DashboardFeatures } from './features.ts';

export { apiAccess, CSRF_HEADER } from './auth.ts';
export type { DashboardFeatures } from './features.ts';

const PREFIX = '/__outpost/';
const here = dirname(fileURLToPath(import.meta.url));
// From src/ the client sits beside this file; from dist/ (compiled, or the one-file CLI bundle in
// dist/cli/) it is read from src/, as the prelude's sources are (src/runtime/prelude.ts).
const CLIENT = existsSync(join(here, 'client', 'app.ts'))
  ? join(here, 'client')
  : join(here, '..', '..', 'src', 'dashboard', 'client');
/** The login form's body, at most (a token is 64 characters). */
const MAX_LOGIN_BODY = 4096;

export interface DashboardOptions {
  token: string;
  /**
   * A browser on this machine may open it without the token (auth.ts: `outpost dev` only,
   * never a node or a server behind a trusted proxy).
   */
  loopback: boolean;
  features: DashboardFeatures;
}

/** Headers every dashboard answer carries: no framing, no inline script, nothing cached. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Whether `path` is one of the dashboard's own (else the admin API's). */
export function isDashboardPath(path: string): boolean {
  return (
    path === PREFIX ||
    path === `${PREFIX}login` ||
    path === `${PREFIX}logout` ||
    path.startsWith(`${PREFIX}ui/`)
  );
}

/** Answer a dashboard request (isDashboardPath(path) is true). */
export async function handleDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: DashboardOptions,
): Promise<void> {
  const method = req.method ?? 'GET';
  const sessions = sessionsFor(options.token);
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  if (path === `${PREFIX}login`) {
    if (method !== 'POST')
      return send(res, 405, 'text/plain; charset=utf-8', 'use POST\n', { allow: 'POST' });
    const token = new URLSearchParams(await readBody(req, MAX_LOGIN_BODY)).get('token') ?? '';
    if (!sameSecret(token, options.token))
      return send(res, 401, HTML, loginPage('That is not the admin token.'));
    const s = sessions.create(false);
    return send(res, 303, 'text/plain; charset=utf-8', 'logged in\n', {
      location: PREFIX,
      'set-cookie': sessionCookie(s, secure),
    });
  }
  if (path === `${PREFIX}ui/app.css`) {
    // No data in it: the login form uses it too.
    const css = await asset('css');
    return send(res, 200, 'text/css; charset=utf-8', css.text, { 'cache-control': 'private, max-age=3600' });
  }
  // Everything else needs a session, the token, or a loopback visitor (who gets a session).
  let session: Session | null = sessions.of(req);
  const token = bearerAuthorized(req, options.token);
  if (!session && !token && options.loopback && method === 'GET' && path === PREFIX && mayMint(req))
    session = sessions.create(true);
  if (!session && !token) {
    if (path === PREFIX && method === 'GET') return send(res, 401, HTML, loginPage(null));
    return send(res, 401, 'text/plain; charset=utf-8', 'log in at /__outpost/ first\n');
  }
  if (path === `${PREFIX}logout`) {
    if (method !== 'POST')
      return send(res, 405, 'text/plain; charset=utf-8', 'use POST\n', { allow: 'POST' });
    const given = req.headers[CSRF_HEADER];
    if (session && !(typeof given === 'string' && sameSecret(given, session.csrf)))
      return send(res, 403, 'text/plain; charset=utf-8', `missing or wrong CSRF token (${CSRF_HEADER})\n`);
    if (session) sessions.end(session);
    return send(res, 303, 'text/plain; charset=utf-8', 'logged out\n', {
      location: PREFIX,
      'set-cookie': sessionCookie(null, secure),
    });
  }
  if (path === `${PREFIX}ui/app.js`) {
    const js = await asset('js');
    return send(res, 200, 'text/javascript; charset=utf-8', js.text, {
      'cache-control': 'private, max-age=3600',
    });
  }
  if (path === `${PREFIX}ui/land.json`) {
    // The map's land outline: world-atlas's 1:110m TopoJSON (Natural Earth, public domain).
    land ??= readFileSync(createRequire(import.meta.url).resolve('world-atlas/land-110m.json'), 'utf8');
    return send(res, 200, 'application/json', land, { 'cache-control': 'private, max-age=86400' });
  }
  if (path !== PREFIX) return send(res, 404, 'text/plain; charset=utf-8', 'no such dashboard file\n');
  if (method !== 'GET' && method !== 'HEAD')
    return send(res, 405, 'text/plain; charset=utf-8', 'use GET\n', { allow: 'GET, HEAD' });
  const [js, css] = await Promise.all([asset('js'), asset('css')]);
  const page = appPage(session?.csrf ?? '', options.features, js.hash, css.hash);
  return send(res, 200, HTML, page, session ? { 'set-cookie': sessionCookie(session, secure) } : {});
}

const HTML = 'text/html; charset=utf-8';

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
  res.end(body);
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) break;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Text for an HTML attribute or element. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A whole page: the head every page has, then `body`. */
function page(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

function appPage(csrf: string, features: DashboardFeatures, jsHash: string, cssHash: string): string {
  // Inside <script type="application/json">: `<` escaped so no `</script>` can end it.
  const config = JSON.stringify({ csrf, features }).replace(/</g, '\\u003c');
  return page(
    'Outpost dashboard',
    `<link rel="stylesheet" href="${PREFIX}ui/app.css?v=${cssHash}">
<script type="module" src="${PREFIX}ui/app.js?v=${jsHash}"></script>`,
    `<div id="app"><noscript>The dashboard needs JavaScript.</noscript></div>
<script type="application/json" id="outpost-config">${config}</script>`,
  );
}

function loginPage(error: string | null): string {
  return page(
    'Outpost dashboard: log in',
    `<link rel="stylesheet" href="${PREFIX}ui/app.css">`,
    `<main class="login">
<h1>Outpost</h1>
<p>This dashboard is not on this machine's loopback: log in with the admin token
(<code>OUTPOST_ADMIN_TOKEN</code>, <code>[admin] token</code> in outpost.toml, or the one
<code>outpost dev</code> wrote to <code>.outpost/admin.json</code>).</p>
<form method="post" action="${PREFIX}login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
</main>`,
  );
}

/** The map's land outline, read once. */
let land: string | null = null;

interface Asset {
  text: string;
  hash: string;
}
const assets = new Map<'js' | 'css', Promise<Asset>>();

/** The client, bundled once per process (esbuild: Preact, htm and the views in one module). */
function asset(kind: 'js' | 'css'): Promise<Asset> {
  let a = assets.get(kind);
  if (!a) {
    a = (
      kind === 'css' ? Promise.resolve(readFileSync(join(CLIENT, 'app.css'), 'utf8')) : bundleClient()
    ).then((text) => ({ text, hash: createHash('sha256').update(text).digest('hex').slice(0, 12) }));
    // A failed build is tried again on the next request.
    a.catch(() => assets.delete(kind));
    assets.set(kind, a);
  }
  return a;
}

async function bundleClient(): Promise<string> {
  const out = await build({
    entryPoints: [join(CLIENT, 'app.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}
