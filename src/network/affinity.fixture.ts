// A process of a node for src/network/affinity.test.ts: serves handed connections with an HTTP
// server answering which process it is, the host and the body it got. BLOCK_AFTER_READY_MS:
// after saying it is ready, it stops taking anything off its channel for that long (stuck).
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
// An upgrade echoes what follows its request, once it has taken 200 ms to accept it (bytes that
// come meanwhile must wait in the paused socket).
server.on('upgrade', (_req, socket, head) => {
  setTimeout(() => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.write(head);
    socket.pipe(socket);
  }, 200);
});
server.headersTimeout = 2000;
server.requestTimeout = 3000;
acceptHanded(server, { slot: Number(process.env.SLOT), of: Number(process.env.OF ?? 3) });
setTimeout(
  () => {
    process.send?.(READY_MESSAGE);
    const block = Number(process.env.BLOCK_AFTER_READY_MS ?? 0);
    if (block)
      setTimeout(() => {
        const until = Date.now() + block;
        while (Date.now() < until);
      }, 20);
  },
  Number(process.env.READY_AFTER_MS ?? 0),
);
process.on('disconnect', () => process.exit(0));
