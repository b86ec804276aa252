// Attacks on response framing: a worker's streamed body longer than the Content-Length it set
// went out whole, so what followed the declared length (a complete HTTP response the worker
// wrote) was read as the answer to the next request on the keep-alive connection — which a
// front proxy pooling connections may send for another user or another tenant. A body shorter
// than its Content-Length left the client reading the next response as the rest of the body.
// Now the PoP enforces the declared length: the connection is closed where they part, the
// worker's stream is cancelled, and a neighbour tenant's request is never answered out of turn.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork, waitFor } from '../helpers.ts';

let net: TestNetwork;
let port: number;

before(async () => {
  net = await startTenants({ attacker: 'response-length', victim: 'service-worker' });
  port = Number(new URL(net.url).port);
});
after(async () => {
  await net.close();
});

const request = (tenant: string, path: string, close = false) =>
  `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\noutpost-tenant: ${tenant}\r\n${close ? 'connection: close\r\n' : ''}\r\n`;
/** The victim's request, sent next on the same connection (and closing it). */
const VICTIM = request('victim', '/page', true);
const VICTIM_BODY = 'from a service worker GET /page';

/** Send `requests` on one connection; what came back, and whether the server closed it. */
async function exchange(requests: string): Promise<{ data: string; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  let data = '';
  socket.on('data', (c: string) => void (data += c));
  socket.on('error', () => {});
  socket.write(requests);
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 5000);
    socket.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
  socket.destroy();
  return { data, closed };
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** HTTP/1.1 responses as a client reads them (Content-Length or chunked framing). */
function parse(data: string): { responses: Parsed[]; incomplete: boolean } {
  const responses: Parsed[] = [];
  let rest = data;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return { responses, incomplete: true };
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let at = end + 4;
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const nl = rest.indexOf('\r\n', at);
        if (nl < 0) return { responses, incomplete: true };
        const size = Number.parseInt(rest.slice(at, nl), 16);
        if (rest.length < nl + 2 + size + 2) return { responses, incomplete: true };
        body += rest.slice(nl + 2, nl + 2 + size);
        at = nl + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      const n = Number(headers['content-length'] ?? 0);
      if (rest.length < at + n) return { responses, incomplete: true };
      body = rest.slice(at, at + n);
      at += n;
    }
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.slice(at);
  }
  return { responses, incomplete: false };
}

const logged = (text: string) =>
  waitFor(() => net.logs.find((e) => e.message.includes(text)), 5000, `a log line with "${text}"`);

describe('a worker-set Content-Length on a streamed body', () => {
  it('a body longer than it does not put a second response on the connection', async () => {
    for (const path of ['/short', '/short-capitalized']) {
      const { data, closed } = await exchange(request('attacker', path) + VICTIM);
      const { responses } = parse(data);
      assert.ok(closed, `${path}: the connection is closed`);
      assert.doesNotMatch(data, /smuggled/, path);
      // The declared five bytes, then the end of the connection: no forged answer to the victim.
      assert.deepEqual(
        responses.map((r) => [r.status, r.body]),
        [[200, 'hello']],
        path,
      );
    }
    assert.match(
      (await logged('longer than its Content-Length')).message,
      /^attacker: the response body is longer than its Content-Length \(5 bytes\): connection closed$/,
    );
    await logged('short cancelled: the body is longer than its Content-Length');
  });

  it('a body shorter than it fails cleanly: closed at once, the next response not read as its rest', async () => {
    const { data, closed } = await exchange(request('attacker', '/long') + VICTIM);
    assert.ok(closed, 'the connection is closed rather than left waiting for 495 more bytes');
    const { responses, incomplete } = parse(data);
    assert.equal(responses.length, 0);
    assert.ok(incomplete);
    assert.doesNotMatch(data, new RegExp(VICTIM_BODY));
    await logged('ended after 5 of the 500 bytes its Content-Length declared: connection closed');
    // A client library sees an error, not a short body taken as whole.
    await assert.rejects(async () => {
      const r = await net.fetchAs('attacker', '/long');
      await r.text();
    });
  });

  it('a body exactly as long as declared is sent with its length, and the connection stays usable', async () => {
    const r = await net.fetchAs('attacker', '/exact');
    assert.equal(r.headers.get('content-length'), '5');
    assert.equal(await r.text(), 'hello');
    const { responses } = parse((await exchange(request('attacker', '/exact') + VICTIM)).data);
    assert.deepEqual(
      responses.map((x) => [x.headers['content-length'], x.body]),
      [
        ['5', 'hello'],
        [String(VICTIM_BODY.length), VICTIM_BODY],
      ],
    );
  });

  it('a Content-Length that is not one length is not sent; the PoP frames the body itself', async () => {
    const { data } = await exchange(request('attacker', '/two-lengths') + VICTIM);
    const { responses, incomplete } = parse(data);
    assert.equal(incomplete, false);
    assert.equal(responses.length, 2);
    assert.equal(responses[0].headers['content-length'], undefined);
    assert.equal(responses[0].headers['transfer-encoding'], 'chunked');
    // The worker's bytes stay inside its own response's body.
    assert.ok(responses[0].body.startsWith('helloHTTP/1.1 200 OK'), responses[0].body);
    assert.equal(responses[1].body, VICTIM_BODY);
  });

  it('a null body never declares a length it does not have', async () => {
    const { responses, incomplete } = parse((await exchange(request('attacker', '/null') + VICTIM)).data);
    assert.equal(incomplete, false);
    assert.deepEqual(
      responses.map((x) => x.body),
      ['', VICTIM_BODY],
    );
    assert.notEqual(responses[0].headers['content-length'], '100');
  });

  it('the neighbour tenant answers as before on a new connection', async () => {
    const r = await net.fetchAs('victim', '/page');
    assert.equal(r.status, 200);
    assert.equal(await r.text(), VICTIM_BODY);
  });
});
