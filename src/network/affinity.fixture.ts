// A process of a node for src/network/affinity.test.ts: serves handed connections with an HTTP
// server answering which process it is, the host and the body it got.
import { createServer } from 'node:http';
import { acceptHanded, READY_MESSAGE } from './affinity.ts';

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('latin1');
  req.on('data', (c: string) => {
    body += c;
  });
  req.on('end', () => res.end(`${process.env.SLOT} ${req.headers.host ?? '-'} ${body}`));
});
server.headersTimeout = 2000;
server.requestTimeout = 3000;
acceptHanded(server);
setTimeout(() => process.send?.(READY_MESSAGE), Number(process.env.READY_AFTER_MS ?? 0));
process.on('disconnect', () => process.exit(0));
