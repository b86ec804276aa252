// Attacks through a site (docs/sites.md): a worker's fetch() is sent to the site's origin only for
// the site's own addresses — another service on this machine is not reached through the origin's
// dispatcher, and the origin's egress exemption is not a way around the worker's; a page cannot
// include another host through ESI.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from '../helpers.ts';

const listen = async (body: string): Promise<{ server: Server; url: string }> => {
  const server = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

describe("a site's origin is reached only through the site's own addresses", () => {
  let origin: Awaited<ReturnType<typeof listen>>;
  let other: Awaited<ReturnType<typeof listen>>;
  let dev: TestDev;
  before(async () => {
    origin = await listen('from the origin');
    other = await listen('from another local service');
    dev = await startFixture('site', { site: { origin: origin.url } });
  });
  after(async () => {
    await dev.close();
    origin.server.close();
    other.server.close();
  });
  const via = async (u: string) => (await fetch(`${dev.url}/api/fetch?u=${encodeURIComponent(u)}`)).text();

  it("the dev server's own address and the zone's name go to the origin", async () => {
    assert.equal(await via(`${dev.url}/x`), 'from the origin');
    assert.equal(await via('http://shop.example/x'), 'from the origin');
    assert.equal(await via('http://static.shop.example/x'), 'from the origin');
  });

  it('another port of this machine is not the site: the request goes where it says', async () => {
    assert.equal(await via(`${other.url}/x`), 'from another local service');
    assert.equal(await via(`${other.url.replace('127.0.0.1', 'localhost')}/x`), 'from another local service');
  });

  it('a look-alike host is not the zone', async () => {
    // shop.example.evil and evilshop.example are not shop.example: no rewrite to the origin
    // (they do not resolve here, so the fetch fails rather than reaching the origin).
    for (const host of ['shop.example.evil', 'evilshop.example']) {
      const body = await via(`http://${host}/x`);
      assert.notEqual(body, 'from the origin', host);
    }
  });
});
