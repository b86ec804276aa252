// TCP sockets from a worker: cloudflare:sockets' connect() and node:net over it, through the
// worker's egress policy (the single dev PoP allows loopback; private addresses and port 25
// are refused).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer as tlsServer } from 'node:tls';
import selfsigned from 'selfsigned';
import { startFixture, type TestDev } from '../helpers.ts';

let dev: TestDev;
let echo: Server;
let port: number;
before(async () => {
  echo = createServer((s) => s.on('data', (d) => s.write(`echo: ${d}`)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  port = (echo.address() as { port: number }).port;
  dev = await startFixture('node-net');
});
after(async () => {
  await dev?.close();
  echo?.close();
});

const text = async (path: string) => (await fetch(`${dev.url}${path}`)).text();

describe('TCP sockets', () => {
  it('connect() from cloudflare:sockets writes and reads', async () => {
    assert.equal(await text(`/sockets?port=${port}`), 'echo: hello over sockets');
  });
  it('node:net sockets run over it', async () => {
    assert.equal(await text(`/net?port=${port}`), 'echo: hello over node:net');
  });
  it('node:tls makes a TLS connection, checking the certificate', async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048 });
    const server = tlsServer({ key: pems.private, cert: pems.cert }, (s) => s.end('hi'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const tlsPort = (server.address() as { port: number }).port;
      assert.match(await text(`/tls?port=${tlsPort}`), /self-signed certificate/);
    } finally {
      server.close();
    }
  });
  it('the egress policy applies: private addresses and port 25 are refused, naming why', async () => {
    assert.match(await text('/refused?to=10.1.2.3:80'), /private/);
    assert.match(await text('/refused?to=127.0.0.1:25'), /port 25 are not allowed/);
  });
});
