/**
 * node:url (nodejs_compat): the WHATWG URL and URLSearchParams (the runtime's own), Node's
 * legacy `parse`/`format`/`resolve` (the url package, a port of Node's), and the file URL
 * helpers. `domainToASCII`/`domainToUnicode` use the URL parser, as Node's do.
 */
import legacy from 'url';

type URL = any;
const G = globalThis as any;
export const URL = G.URL;
export const URLSearchParams = G.URLSearchParams;
export const parse = legacy.parse;
export const resolve = legacy.resolve;
export const resolveObject = legacy.resolveObject;
export const Url = legacy.Url;

/** `url.format(urlObject | URL | string)`. */
export function format(u: any, options?: { auth?: boolean; fragment?: boolean; search?: boolean }): string {
  if (u instanceof URL) {
    const copy = new URL(u.href);
    if (options?.auth === false) {
      copy.username = '';
      copy.password = '';
    }
    if (options?.fragment === false) copy.hash = '';
    if (options?.search === false) copy.search = '';
    return copy.href;
  }
  return legacy.format(u);
}

function invalidFileUrl(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_FILE_URL_PATH' });
}

export function fileURLToPath(input: string | URL): string {
  const u = typeof input === 'string' ? new URL(input) : input;
  if (u.protocol !== 'file:')
    throw Object.assign(new TypeError('The URL must be of scheme file'), { code: 'ERR_INVALID_URL_SCHEME' });
  if (u.hostname !== '') throw invalidFileUrl('File URL host must be "localhost" or empty on linux');
  if (/%2f/i.test(u.pathname)) throw invalidFileUrl('File URL path must not include encoded / characters');
  return decodeURIComponent(u.pathname);
}

export function pathToFileURL(path: string): URL {
  const abs = path.startsWith('/') ? path : `/${path}`;
  const u = new URL('file://');
  u.pathname = abs
    .replace(/%/g, '%25')
    .replace(/\\\\/g, '%5C')
    .replace(/\n/g, '%0A')
    .replace(/\r/g, '%0D')
    .replace(/\t/g, '%09');
  return u;
}

export function urlToHttpOptions(u: URL): Record<string, unknown> {
  return {
    protocol: u.protocol,
    hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
    hash: u.hash,
    search: u.search,
    pathname: u.pathname,
    path: `${u.pathname}${u.search}`,
    href: u.href,
    ...(u.port !== '' ? { port: Number(u.port) } : {}),
    ...(u.username || u.password
      ? { auth: `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` }
      : {}),
  };
}

export function domainToASCII(domain: string): string {
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return '';
  }
}

export function domainToUnicode(domain: string): string {
  return domainToASCII(domain) === '' ? '' : domain.toLowerCase();
}

export default {
  URL,
  URLSearchParams,
  parse,
  resolve,
  resolveObject,
  format,
  Url,
  fileURLToPath,
  pathToFileURL,
  urlToHttpOptions,
  domainToASCII,
  domainToUnicode,
};
