// The dashboard's own cost: a worker's requests/s while the dashboard is open — its Requests
// view streaming requests (its Server-Sent Events tail, at most 50 a second and traced for the
// waterfall, as the view asks) and the network map's figures read every 2 s (so each request is
// recorded in the PoP's window) — against the same worker with no dashboard open, in
// alternating rounds of the same run; and the weight of the first view (the page, its script
// and its styles, gzipped).
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { noopObserver } from '../src/observability/index.ts';
import { startDev } from '../src/pop/dev.ts';
import { fmt, median } from './util.ts';

/** A dashboard session (logged in with the admin token), and the page it gets. */
async function openPage(
  url: string,
  token: string,
): Promise<{ cookie: string; bytes: number; gzipped: number }> {
  const login = await fetch(`${url}/__outpost/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
    redirect: 'manual',
  });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  if (!cookie) throw new Error(`the dashboard login answered ${login.status} without a session`);
  const page = await fetch(`${url}/__outpost/`, { headers: { cookie } });
  if (page.status !== 200) throw new Error(`the dashboard page answered ${page.status}`);
  const html = await page.text();
  const files = [html];
  for (const m of html.matchAll(/(?:src|href)="(\/__outpost\/ui\/[^"]+)"/g))
    files.push(await (await fetch(`${url}${m[1]}`, { headers: { cookie } })).text());
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f), 0);
  const gzipped = files.reduce((n, f) => n + gzipSync(f).length, 0);
  return { cookie, bytes, gzipped };
}

/** The Requests view's live stream as it asks for it (at most 50 a second), every event read. */
function openStream(url: string, cookie: string): Promise<{ close(): void; events(): number }> {
  return new Promise((resolve, reject) => {
    let events = 0;
    const req = request(
      `${url}/__outpost/tail?max_rate=50&traces=1`,
      { headers: { cookie, accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`tail answered ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          for (const line of d.split('\n')) if (line.startsWith('data: ')) events++;
        });
        resolve({ close: () => req.destroy(), events: () => events });
      },
    );
    req.on('error', () => {});
    req.end();
  });
}

export async function dashboardBench(opts: { rounds: number; seconds: number }) {
  const dev = await startDev({
    dir: join(import.meta.dirname, 'fixtures', 'hello'),
    port: 0,
    watch: false,
    observer: noopObserver,
    runtime: { poolSize: 1 },
  });
  try {
    const page = await openPage(dev.url, dev.adminToken);
    const readStats = () =>
      fetch(`${dev.url}/__outpost/network/stats`, { headers: { cookie: page.cookie } }).then((r) => r.text());
    const load = async () =>
      (await autocannon({ url: `${dev.url}/`, connections: 32, duration: opts.seconds })).requests.average;
    await load(); // warm
    const closed: number[] = [];
    const open: number[] = [];
    let streamed = 0;
    for (let r = 0; r < opts.rounds; r++) {
      closed.push(await load());
      const stream = await openStream(dev.url, page.cookie);
      await readStats();
      const map = setInterval(readStats, 2000);
      open.push(await load());
      clearInterval(map);
      streamed += stream.events();
      stream.close();
    }
    const c = median(closed);
    const o = median(open);
    return {
      closed: c,
      open: o,
      ratio: o / c,
      streamed,
      pageBytes: page.bytes,
      pageGzipped: page.gzipped,
      table: [
        `dashboard cost: the hello worker, 32 connections, ${opts.rounds} × ${opts.seconds} s rounds alternating (medians)`,
        `  no dashboard open              ${fmt(c, 0)} req/s`,
        `  dashboard open (stream + map)  ${fmt(o, 0)} req/s   ratio ${fmt(o / c)}x (goal >= 0.95x; ${streamed} events streamed)`,
        `  first view (page, script, css) ${fmt(page.bytes / 1024, 1)} KB, ${fmt(page.gzipped / 1024, 1)} KB gzipped (goal < 300 KB)`,
      ],
    };
  } finally {
    await dev.close();
  }
}
