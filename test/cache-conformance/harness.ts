/**
 * A data-driven harness for HTTP cache conformance against CDN proxy mode, in the manner of the
 * HTTP cache test suite (cache-tests.fyi): a scripted origin answers each request of a case
 * from the case's steps and counts them; the client sends the steps through the proxy and
 * judges "cached" by whether the origin saw the request. Every request carries the suite's
 * noise (`Pragma: foo`, `Cache-Control: nothing-to-see-here`), which a cache must ignore.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

/** A header value that is a number means a date that many seconds from now (Date, Expires…). */
export type HeaderValue = string | number;

export interface Step {
  /** Request side. */
  method?: string;
  requestHeaders?: [string, HeaderValue][];
  body?: string;
  query?: string;
  path?: string;
  /** Origin side, for this request number. */
  status?: number;
  headers?: [string, HeaderValue][];
  responseBody?: string;
  /** 103 / 102 sent before the response. */
  interim?: [number, [string, string][]][];
  /** The origin closes the connection instead of answering. */
  disconnect?: boolean;
  /** Wait this many ms after the exchange. */
  pause?: number;
  /** Expectations. */
  expect?: 'cached' | 'not_cached';
  expectStatus?: number;
  expectHeaders?: [string, string | RegExp][];
  expectMissing?: string[];
  /** Request headers the origin must (not) have seen for this request. */
  expectOriginHeaders?: [string, string][];
  expectOriginMissing?: string[];
  expectBody?: string;
}

export interface Case {
  id: string;
  /** What the RFC requires, with the section. */
  name: string;
  steps: Step[];
}

interface Seen {
  n: number;
  headers: Record<string, string | string[] | undefined>;
}

const DATE_HEADERS = new Set(['date', 'expires', 'last-modified', 'if-modified-since']);

function dated(name: string, v: HeaderValue, now: number): string {
  return typeof v === 'number' && DATE_HEADERS.has(name.toLowerCase())
    ? new Date(now + v * 1000).toUTCString()
    : String(v);
}

export class ScriptedOrigin {
  readonly cases = new Map<string, Case>();
  readonly seen = new Map<string, Seen[]>();
  #server!: Server;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const [, , id] = (req.url ?? '').split('?')[0].split('/');
      const c = this.cases.get(id);
      if (!c) {
        res.writeHead(404);
        return void res.end('no such case');
      }
      const log = this.seen.get(id) ?? [];
      this.seen.set(id, log);
      const clientNum = Number(req.headers['req-num']);
      log.push({ n: clientNum, headers: req.headers });
      const step = c.steps[clientNum - 1] ?? c.steps[c.steps.length - 1];
      req.resume();
      req.on('end', () => {
        if (step.disconnect) return void req.socket.destroy();
        const now = Date.now();
        for (const [status, hs] of step.interim ?? []) {
          if (status === 102) res.writeProcessing();
          else res.writeEarlyHints(Object.fromEntries(hs));
        }
        const headers: [string, string][] = [
          ['server-request-count', String(log.length)],
          ['content-type', 'text/plain'],
        ];
        for (const [k, v] of step.headers ?? []) headers.push([k, dated(k, v, now)]);
        const flat = headers.flat();
        res.writeHead(step.status ?? 200, flat);
        const noBody = [204, 304].includes(step.status ?? 200) || req.method === 'HEAD';
        res.end(noBody ? undefined : (step.responseBody ?? `${id} #${log.length}`));
      });
    });
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.#server.close(() => r());
      this.#server.closeAllConnections();
    });
  }
}

/** Run one case through the proxy; resolves with the failures (empty when it passes). */
export async function runCase(proxyUrl: string, origin: ScriptedOrigin, c: Case): Promise<string[]> {
  origin.cases.set(c.id, c);
  const failures: string[] = [];
  for (let i = 0; i < c.steps.length; i++) {
    const s = c.steps[i];
    const num = i + 1;
    const headers: [string, string][] = [
      ['pragma', 'foo'],
      ['cache-control', 'nothing-to-see-here'],
      ['req-num', String(num)],
      ...(s.requestHeaders ?? []).map(([k, v]): [string, string] => [k, dated(k, v, Date.now())]),
    ];
    const path = `/t/${c.id}${s.path ? `/${s.path}` : ''}${s.query ? `?${s.query}` : ''}`;
    const interim: number[] = [];
    const r = await request(`${proxyUrl}${path}`, {
      method: (s.method ?? 'GET') as 'GET',
      headers: headers.flat(),
      body: s.body,
      onInfo: (info) => interim.push(info.statusCode),
    });
    const text = await r.body.text();
    const served = Number(r.headers['server-request-count']);
    const at = `request ${num}`;
    if (s.expect === 'cached' && !(served < num || (r.statusCode === 304 && Number.isNaN(served))))
      failures.push(`${at}: expected from cache, the origin answered it (${r.headers['cf-cache-status']})`);
    if (s.expect === 'not_cached' && served !== num)
      failures.push(`${at}: expected from the origin, came from cache (${r.headers['cf-cache-status']})`);
    const wantStatus = s.expectStatus ?? s.status ?? 200;
    if (r.statusCode !== wantStatus) failures.push(`${at}: status ${r.statusCode}, expected ${wantStatus}`);
    for (const [k, v] of s.expectHeaders ?? []) {
      const got = r.headers[k.toLowerCase()];
      const value = Array.isArray(got) ? got.join(', ') : got;
      if (value === undefined || (typeof v === 'string' ? value !== v : !v.test(value)))
        failures.push(`${at}: header ${k} is ${JSON.stringify(value)}, expected ${v}`);
    }
    for (const k of s.expectMissing ?? [])
      if (r.headers[k.toLowerCase()] !== undefined) failures.push(`${at}: header ${k} should be absent`);
    if (s.expectBody !== undefined && text !== s.expectBody)
      failures.push(`${at}: body ${JSON.stringify(text)}, expected ${JSON.stringify(s.expectBody)}`);
    for (const [status] of s.interim ?? [])
      if (!interim.includes(status)) failures.push(`${at}: interim ${status} not passed on`);
    const log = origin.seen.get(c.id) ?? [];
    const mine = log.find((x) => x.n === num);
    for (const [k, v] of s.expectOriginHeaders ?? [])
      if (mine?.headers[k] !== v) failures.push(`${at}: origin saw ${k}: ${mine?.headers[k]}, expected ${v}`);
    for (const k of s.expectOriginMissing ?? [])
      if (mine && mine.headers[k] !== undefined) failures.push(`${at}: origin should not have seen ${k}`);
    if (s.pause) await new Promise((res) => setTimeout(res, s.pause));
  }
  return failures;
}
