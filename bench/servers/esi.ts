// The ESI bench's PoP (bench/esi.ts): the hello worker on one route of a site whose origin (in
// this process, hit only to fill the cache) serves an ESI page of 10 fragments, the fragments,
// and the same page already assembled. Both pages and every fragment are cacheable.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig, parseEarlyHints, parseEsi } from '../../src/config/index.ts';
import { compileRoutes } from '../../src/network/index.ts';
import { noopObserver } from '../../src/observability/index.ts';
import { devCf, startPopServer } from '../../src/pop/index.ts';
import { Pages } from '../../src/pop/pages.ts';
import { Site } from '../../src/pop/site.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';

const FRAGMENTS = 10;
const fragment = (i: number) => `<section id="f${i}">${`fragment ${i} `.repeat(8)}</section>`;
const template = `<!doctype html><html><body>${Array.from(
  { length: FRAGMENTS },
  (_, i) => `<esi:include src="/fragments/${i}"/>`,
).join('\n')}</body></html>`;
const assembled = `<!doctype html><html><body>${Array.from({ length: FRAGMENTS }, (_, i) => fragment(i)).join(
  '\n',
)}</body></html>`;

const origin = createServer((req, res) => {
  const path = req.url ?? '/';
  const cached = { 'content-type': 'text/html', 'cache-control': 'public, max-age=3600' };
  if (path === '/esi') {
    res.writeHead(200, { ...cached, 'surrogate-control': 'content="ESI/1.0"' });
    return void res.end(template);
  }
  if (path === '/assembled') {
    res.writeHead(200, cached);
    return void res.end(assembled);
  }
  const m = /^\/fragments\/(\d+)$/.exec(path);
  if (m) {
    res.writeHead(200, cached);
    return void res.end(fragment(Number(m[1])));
  }
  res.writeHead(404);
  res.end();
});
await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

const fixture = 'hello';
const config = loadConfig(join(import.meta.dirname, '..', 'fixtures', fixture), { warn: () => {} });
const runtime = new Runtime({ observer: noopObserver, poolSize: 1 });
runtime.deploy(fixture, await bundleWorker(config, { root: join(import.meta.dirname, '..', '..') }), config);
const site = new Site({
  origin: originUrl,
  policies: [],
  routes: compileRoutes([{ pattern: 'bench.example/worker/*', worker: fixture }]),
});
const pages = new Pages({
  esi: parseEsi(undefined, 'bench'),
  earlyHints: parseEarlyHints({ enabled: false }, 'bench', '/'),
  observer: noopObserver,
  readManifest: () => ({}),
});
const server = await startPopServer({
  runtime,
  site,
  pages,
  route: () => fixture,
  port: 0,
  cf: devCf,
  observer: noopObserver,
});
console.error(`esi bench: ${template.length} B template, ${assembled.length} B page`);
process.send?.({ port: server.port, bytes: assembled.length });
process.on('SIGINT', () => process.exit(0));
