/**
 * Turning corpus entries into WafRequests: an attack payload placed where it says (a query
 * parameter, the path, a JSON or form body, a header, a cookie, the user agent, a multipart
 * field or file name), wrapped in the headers a browser sends, so the engine sees what it
 * would see at the edge.
 */
import type { WafRequest } from '../types.ts';

export type AttackCategory = 'sqli' | 'xss' | 'traversal' | 'cmdi' | 'lfi' | 'rfi' | 'scanner';

export type Placement =
  | 'query'
  | 'rawquery'
  | 'path'
  | 'json'
  | 'rawjson'
  | 'form'
  | 'header'
  | 'cookie'
  | 'user_agent'
  | 'multipart'
  | 'filename';

export interface Attack {
  category: AttackCategory;
  where: Placement;
  payload: string;
  /** Parameter, header, cookie or field name (defaults per placement). */
  name?: string;
  /** Placed exactly as written (already encoded); otherwise percent-encoded as a client would. */
  raw?: boolean;
}

export const BROWSER_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.2420.81',
];

export const BROWSER_HEADERS: [string, string][] = [
  ['host', 'shop.example.com'],
  ['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['accept-language', 'en-GB,en;q=0.9,de;q=0.7'],
  ['accept-encoding', 'gzip, deflate, br, zstd'],
  ['sec-fetch-dest', 'document'],
  ['sec-fetch-mode', 'navigate'],
  ['sec-fetch-site', 'same-origin'],
  ['sec-ch-ua', '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'],
  ['upgrade-insecure-requests', '1'],
];

const enc = new TextEncoder();

export function jsonBody(value: unknown): { body: Uint8Array; contentType: string } {
  return { body: enc.encode(JSON.stringify(value)), contentType: 'application/json' };
}

export function formBody(fields: Record<string, string>): { body: Uint8Array; contentType: string } {
  return {
    body: enc.encode(new URLSearchParams(fields).toString()),
    contentType: 'application/x-www-form-urlencoded',
  };
}

export function multipartBody(fields: [name: string, value: string, filename?: string][]): {
  body: Uint8Array;
  contentType: string;
} {
  const boundary = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
  let text = '';
  for (const [name, value, filename] of fields) {
    text += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"`;
    text +=
      filename === undefined ? '\r\n\r\n' : `; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`;
    text += `${value}\r\n`;
  }
  text += `--${boundary}--\r\n`;
  return { body: enc.encode(text), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A browser-like request around one attack payload. */
export function attackRequest(a: Attack, i = 0): WafRequest {
  const ua = BROWSER_UAS[i % BROWSER_UAS.length];
  const headers: [string, string][] = [...BROWSER_HEADERS];
  const req: WafRequest = { method: 'GET', path: '/search', query: '', headers };
  const value = a.raw ? a.payload : encodeURIComponent(a.payload);
  switch (a.where) {
    case 'query':
      req.query = `${a.name ?? 'q'}=${value}&lang=en`;
      break;
    case 'rawquery':
      req.query = a.payload;
      break;
    case 'path':
      req.path = a.raw ? a.payload : a.payload.replace(/ /g, '%20');
      break;
    case 'json':
    case 'rawjson':
    case 'form':
    case 'multipart':
    case 'filename': {
      req.method = 'POST';
      req.path = '/api/comments';
      const b =
        a.where === 'json'
          ? jsonBody({ [a.name ?? 'comment']: a.payload, postId: 42 })
          : a.where === 'rawjson'
            ? { body: enc.encode(a.payload), contentType: 'application/json' }
            : a.where === 'form'
              ? {
                  body: enc.encode(`${a.name ?? 'comment'}=${value}&post_id=42`),
                  contentType: 'application/x-www-form-urlencoded',
                }
              : a.where === 'multipart'
                ? multipartBody([
                    [a.name ?? 'bio', a.payload],
                    ['display_name', 'Sam'],
                  ])
                : multipartBody([
                    ['display_name', 'Sam'],
                    [a.name ?? 'avatar', '\u00ff\u00d8\u00ff\u00e0 JFIF', a.payload],
                  ]);
      req.body = b.body;
      req.contentType = b.contentType;
      headers.push(['content-type', b.contentType]);
      break;
    }
    case 'header':
      headers.push([a.name ?? 'referer', a.payload]);
      break;
    case 'cookie':
      headers.push(['cookie', `session=8f14e45fceea167a5a36dedd4bea2543; ${a.name ?? 'prefs'}=${value}`]);
      break;
    case 'user_agent':
      headers.push(['user-agent', a.payload]);
      return req;
  }
  headers.push(['user-agent', ua]);
  return req;
}
