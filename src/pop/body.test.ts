import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeekableBody, receivedWhole } from './body.ts';

/** A source handing out `chunks` in order, counting cancellations. */
function source(chunks: string[]) {
  const enc = new TextEncoder();
  const s = {
    cancelled: 0,
    next: async () => {
      const c = chunks.shift();
      return c === undefined ? null : enc.encode(c);
    },
    cancel: () => {
      s.cancelled++;
    },
  };
  return s;
}

async function all(b: PeekableBody): Promise<string> {
  let out = '';
  const dec = new TextDecoder();
  for (let c = await b.next(); c !== null; c = await b.next()) out += dec.decode(c);
  return out;
}

describe('PeekableBody', () => {
  it('a prefix read first is handed on whole, then the rest flows', async () => {
    const b = new PeekableBody(source(['abc', 'def', 'ghi', 'jkl']));
    const p = await b.prefix(5);
    assert.equal(new TextDecoder().decode(p.bytes), 'abcde');
    assert.equal(p.truncated, true);
    assert.equal(await all(b), 'abcdefghijkl');
  });
  it('a body shorter than the prefix is not truncated', async () => {
    const b = new PeekableBody(source(['ab', 'cd']));
    const p = await b.prefix(10);
    assert.equal(p.truncated, false);
    assert.equal(new TextDecoder().decode(p.bytes), 'abcd');
    assert.equal(await all(b), 'abcd');
  });
  it('a replaced body is what the worker reads; the original is cancelled', async () => {
    const s = source(['secret', 'more']);
    const b = new PeekableBody(s);
    await b.prefix(3);
    b.replace(new TextEncoder().encode('clean'));
    assert.equal(s.cancelled, 1);
    assert.equal(await all(b), 'clean');
  });
});

describe('receivedWhole', () => {
  /** A server answering what receivedWhole made of each request, then the rest as a stream. */
  async function serve() {
    const { createServer } = await import('node:http');
    const server = createServer(async (req, res) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      const whole = await receivedWhole(req, declared, 16);
      const rest: Buffer[] = [];
      for await (const c of req) rest.push(c as Buffer);
      res.end(
        JSON.stringify({
          whole: whole && Buffer.from(whole).toString(),
          rest: Buffer.concat(rest).toString(),
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    return { port, close: () => new Promise((r) => server.close(r)) };
  }

  /** Send raw HTTP/1.1 (headers, then the body parts with a pause between) and read the answer. */
  async function raw(
    port: number,
    head: string,
    parts: string[],
  ): Promise<{ whole: string | null; rest: string }> {
    const { connect } = await import('node:net');
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.write(head + (parts[0] ?? ''));
    for (const p of parts.slice(1)) {
      await new Promise((r) => setTimeout(r, 30));
      socket.write(p);
    }
    await new Promise((r) => socket.once('end', r));
    return JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4));
  }

  it('takes a small body that came with its headers; streams one still arriving, chunked or too large', async () => {
    const s = await serve();
    try {
      const post = (len: number, extra = '') =>
        `POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${len}\r\n${extra}\r\n`;
      assert.deepEqual(await raw(s.port, post(8), ['{"n":42}']), { whole: '{"n":42}', rest: '' });
      // Half of it later: not waited for, all of it still read as a stream.
      assert.deepEqual(await raw(s.port, post(8), ['{"n":', '42}']), { whole: null, rest: '{"n":42}' });
      assert.deepEqual(await raw(s.port, post(20), ['x'.repeat(20)]), { whole: null, rest: 'x'.repeat(20) });
      const chunked = 'POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n';
      assert.deepEqual(await raw(s.port, chunked, ['3\r\nabc\r\n0\r\n\r\n']), { whole: null, rest: 'abc' });
    } finally {
      await s.close();
    }
  });
});
