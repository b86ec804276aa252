// CDN proxy mode serving cache hits: an origin in this process answers once per path with
// `size` bytes (cacheable for an hour); the bench then measures hits. A second argument names a
// built-in topology: the proxy then runs that network (router, PoPs, shields) behind one front.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinTopology } from '../../src/network/index.ts';
import { noopObserver } from '../../src/observability/index.ts';
import { startProxy } from '../../src/pop/index.ts';

const size = Number(process.argv[2] ?? 1024);
const topology = process.argv[3] ? builtinTopology(process.argv[3]) : undefined;
if (process.argv[3] && !topology) throw new Error(`no built-in topology ${process.argv[3]}`);
const body = Buffer.alloc(size, 97);
const origin = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=3600' });
  res.end(body);
});
await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
const proxy = await startProxy({
  origin: `http://127.0.0.1:${(origin.address() as AddressInfo).port}`,
  port: 0,
  observer: noopObserver,
  ...(topology ? { network: { topology } } : {}),
});
process.send?.({ port: proxy.port });
process.on('SIGINT', () => process.exit(0));
