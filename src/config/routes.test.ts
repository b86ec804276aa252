// wrangler's `routes`/`route` shapes (workers-sdk workers-utils/src/config/validation.ts) and
// Cloudflare's pattern validity rules
// (https://developers.cloudflare.com/workers/configuration/routing/routes/#validity).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './errors.ts';
import { hostInZone, parseRoutePattern, parseRoutes } from './routes.ts';

const F = 'wrangler.toml';

/** Asserts a ConfigError naming `key`, its message matching `text`. */
function refuses(raw: unknown, key: string, text: RegExp, at = 'routes'): void {
  assert.throws(
    () => parseRoutes(raw, F, at),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.key, key);
      assert.equal(e.file, F);
      assert.match(e.message, text);
      return true;
    },
  );
}

describe('the shapes wrangler accepts', () => {
  it('reads a string, { pattern, zone_name }, { pattern, zone_id } and { pattern, custom_domain }', () => {
    const routes = parseRoutes(
      [
        'example.com/*',
        { pattern: 'shop.example.com/*', zone_name: 'Example.COM' },
        { pattern: 'api.example.com/*', zone_id: '023e105f4ecef8ad9ca31a8372d0c353' },
        { pattern: 'app.example.com', custom_domain: true },
        { pattern: 'old.example.com', custom_domain: true, enabled: false, previews_enabled: true },
        { pattern: 'www.example.com/*', custom_domain: false },
      ],
      F,
    );
    assert.deepEqual(routes, [
      {
        pattern: 'example.com/*',
        zoneName: undefined,
        zoneId: undefined,
        customDomain: false,
        enabled: true,
        previewsEnabled: undefined,
      },
      {
        pattern: 'shop.example.com/*',
        zoneName: 'example.com',
        zoneId: undefined,
        customDomain: false,
        enabled: true,
        previewsEnabled: undefined,
      },
      {
        pattern: 'api.example.com/*',
        zoneName: undefined,
        zoneId: '023e105f4ecef8ad9ca31a8372d0c353',
        customDomain: false,
        enabled: true,
        previewsEnabled: undefined,
      },
      {
        pattern: 'app.example.com',
        zoneName: undefined,
        zoneId: undefined,
        customDomain: true,
        enabled: true,
        previewsEnabled: undefined,
      },
      {
        pattern: 'old.example.com',
        zoneName: undefined,
        zoneId: undefined,
        customDomain: true,
        enabled: false,
        previewsEnabled: true,
      },
      {
        pattern: 'www.example.com/*',
        zoneName: undefined,
        zoneId: undefined,
        customDomain: false,
        enabled: true,
        previewsEnabled: undefined,
      },
    ]);
  });

  it('reads `route` as one route, ignores `route = ""` as wrangler does, and none when absent', () => {
    assert.deepEqual(
      parseRoutes({ pattern: 'example.org/*', zone_name: 'example.org' }, F, 'route').map((r) => r.zoneName),
      ['example.org'],
    );
    assert.deepEqual(
      parseRoutes('example.org/*', F, 'env.staging.route').map((r) => r.pattern),
      ['example.org/*'],
    );
    assert.deepEqual(parseRoutes('', F, 'route'), []);
    assert.deepEqual(parseRoutes(undefined, F), []);
    assert.deepEqual(parseRoutes([], F), []);
    refuses(['example.org/*'], 'route', /one route \(use "routes" for a list\)/, 'route');
  });

  it('refuses what wrangler refuses, naming the key and the index', () => {
    refuses('example.com/*', 'routes', /a list of routes/);
    refuses(['example.com/*', 42], 'routes[1]', /a string pattern, or an object/);
    refuses(['example.com/*', ''], 'routes[1]', /non-empty pattern/);
    refuses([null], 'routes[0]', /a string pattern, or an object/);
    refuses([{ zone_name: 'example.com' }], 'routes[0].pattern', /a string such as "example.com\/\*"/);
    refuses([{ pattern: 7, zone_name: 'example.com' }], 'routes[0].pattern', /a string/);
    refuses(
      ['a.example.com/*', 'b.example.com/*', { pattern: 'c.example.com/*' }],
      'routes[2]',
      /needs zone_name, zone_id or custom_domain/,
    );
    refuses(
      [{ pattern: 'a.example.com/*', zone_name: 'example.com', zone_id: 'abc' }],
      'routes[0].zone_id',
      /exclude each other/,
    );
    refuses(
      [{ pattern: 'a.example.com/*', zone_name: 'example.com', script: 'w' }],
      'routes[0].script',
      /a route has only pattern/,
    );
    refuses(
      [{ pattern: 'a.example.com/*', zone_name: 'example.com', enabled: true }],
      'routes[0].enabled',
      /only for custom domains/,
    );
    refuses(
      [{ pattern: 'a.example.com', zone_id: 'x', previews_enabled: true }],
      'routes[0].previews_enabled',
      /only for custom domains/,
    );
    refuses(
      [{ pattern: 'a.example.com', custom_domain: 'true' }],
      'routes[0].custom_domain',
      /true or false/,
    );
    refuses([{ pattern: 'a.example.com/*', zone_id: 5 }], 'routes[0].zone_id', /a non-empty string/);
    refuses([{ pattern: 'a.example.com/*', zone_name: '' }], 'routes[0].zone_name', /a non-empty string/);
    refuses(
      [{ pattern: 'a.example.com/*', zone_name: 'https://example.com' }],
      'routes[0].zone_name',
      /a domain name/,
    );
    refuses(
      [{ pattern: 'a.example.com/*', zone_name: '*.example.com' }],
      'routes[0].zone_name',
      /a domain name/,
    );
  });

  it('names the environment in keys', () => {
    refuses(['example.com/*', 'example.com/?q'], 'env.staging.routes[1]', /query/, 'env.staging.routes');
    assert.throws(
      () => parseRoutes(['example.com/?q'], F, 'env.staging.routes'),
      /wrangler\.toml: "env\.staging\.routes\[0\]" must be/,
    );
  });
});

describe('validity of route patterns', () => {
  it('a pattern with only the zone matches its root: an implied path of "/"', () => {
    assert.deepEqual(parseRoutePattern('example.com'), {
      scheme: undefined,
      host: { kind: 'exact', name: 'example.com' },
      path: '/',
      pathPrefix: false,
    });
  });

  it('may not contain query parameters: "https://example.com/?anything", "example.com/?foo=*"', () => {
    refuses(['https://example.com/?anything'], 'routes[0]', /without a query string/);
    refuses(['example.com/?foo=*'], 'routes[0]', /without a query string/);
    refuses(['example.com/a#frag'], 'routes[0]', /without a query string/);
  });

  it('may not contain infix wildcards: "example.com/*.jpg", "example.com/**", "www.*.example.com/*", "**example.com/*"', () => {
    for (const p of [
      'example.com/*.jpg',
      'example.com/**',
      'example.com/a/*/b',
      'www.*.example.com/*',
      '**example.com/*',
      'example*.com/*',
      'example.com*',
    ])
      refuses([p], 'routes[0]', /"\*" only at the start of the hostname or the end of the path/);
  });

  it('may begin with http:// or https:// (any case), and no other scheme', () => {
    assert.equal(parseRoutes(['http://example.com/*'], F).length, 1);
    const p = parseRoutePattern('HTTPS://*.example.com/images/*');
    assert.ok(typeof p !== 'string');
    assert.equal(p.scheme, 'https:');
    assert.equal((parseRoutePattern('example.com/*') as { scheme: unknown }).scheme, undefined);
    for (const p of ['ftp://example.com/*', 'ws://example.com/*', 'wss://example.com/*'])
      refuses([p], 'routes[0]', /starting with http:\/\/, https:\/\/ or the hostname/);
  });

  it('hostnames may begin with "*" or "*.", and "*" alone only within a zone (Cloudflare for SaaS)', () => {
    assert.deepEqual((parseRoutePattern('*example.com/*') as { host: unknown }).host, {
      kind: 'suffix',
      name: 'example.com',
    });
    assert.deepEqual((parseRoutePattern('*.example.com/*') as { host: unknown }).host, {
      kind: 'subdomains',
      name: 'example.com',
    });
    assert.deepEqual((parseRoutePattern('*/*') as { host: unknown }).host, { kind: 'any' });
    refuses(['*/*'], 'routes[0]', /needs zone_name or zone_id/);
    refuses(['https://*/*'], 'routes[0]', /needs zone_name or zone_id/);
    assert.equal(parseRoutes([{ pattern: '*/*', zone_name: 'saasprovider.com' }], F).length, 1);
    assert.equal(parseRoutes([{ pattern: '*/*', zone_id: 'abc' }], F).length, 1);
  });

  it('must include a zone: not a bare path, an IP address, a single label or an empty label', () => {
    for (const p of [
      '/*',
      'localhost/*',
      '*localhost/*',
      '127.0.0.1/*',
      '*.com/*',
      'example..com/*',
      'example.com./*',
      'user@example.com/*',
      'exa%41mple.com/*',
    ])
      refuses([p], 'routes[0]', /includes your zone/);
  });

  it('has no port (routes match a hostname on any port), no IPv6 literal, no spaces', () => {
    refuses(['example.com:8080/*'], 'routes[0]', /without a port/);
    refuses(['https://example.com:443/*'], 'routes[0]', /without a port/);
    refuses(['[::1]/*'], 'routes[0]', /without a port/);
    refuses(['example.com/a b'], 'routes[0]', /without spaces/);
    refuses([' example.com/*'], 'routes[0]', /without spaces/);
  });

  it('normalizes the host to lower-case ASCII and the path to its percent-encoded form (path case kept)', () => {
    const p = parseRoutePattern('Español.COM/Café/*');
    assert.ok(typeof p !== 'string');
    assert.deepEqual(p.host, { kind: 'exact', name: 'xn--espaol-zwa.com' });
    assert.equal(p.path, '/Caf%C3%A9/');
    assert.equal(p.pathPrefix, true);
  });
});

describe('custom domains', () => {
  it('are a bare hostname, matching every path', () => {
    assert.deepEqual(parseRoutePattern('Shop.Example.com', true), {
      scheme: undefined,
      host: { kind: 'exact', name: 'shop.example.com' },
      path: '/',
      pathPrefix: true,
    });
  });

  it("refuse wildcards and paths with wrangler's reasons (validate-routes.ts)", () => {
    refuses(
      [{ pattern: '*.example.com', custom_domain: true }],
      'routes[0].pattern',
      /wildcard operators \(\*\) are not allowed in Custom Domains/,
    );
    refuses(
      [{ pattern: 'shop.example.com/*', custom_domain: true }],
      'routes[0].pattern',
      /wildcard operators/,
    );
    refuses(
      [{ pattern: 'shop.example.com/path', custom_domain: true }],
      'routes[0].pattern',
      /paths are not allowed in Custom Domains/,
    );
    refuses(
      [{ pattern: 'https://shop.example.com', custom_domain: true }],
      'routes[0].pattern',
      /paths are not allowed/,
    );
    refuses(
      [{ pattern: 'shop.example.com:8443', custom_domain: true }],
      'routes[0].pattern',
      /without a port/,
    );
    refuses([{ pattern: 'localhost', custom_domain: true }], 'routes[0].pattern', /includes your zone/);
  });
});

describe('zone_name', () => {
  it('knows which hosts lie in a zone', () => {
    assert.equal(hostInZone('example.com', 'example.com'), true);
    assert.equal(hostInZone('a.b.example.com', 'example.com'), true);
    assert.equal(hostInZone('myexample.com', 'example.com'), false);
    assert.equal(hostInZone('example.com.evil.net', 'example.com'), false);
    assert.equal(hostInZone('com', 'example.com'), false);
  });

  it('warns (does not refuse) a pattern outside its zone: Cloudflare for SaaS routes custom hostnames that way', () => {
    const warnings: string[] = [];
    const routes = parseRoutes(
      [
        { pattern: 'shop.example.com/*', zone_name: 'example.com' },
        { pattern: '*.example.com/*', zone_name: 'example.com' },
        { pattern: '*example.com/*', zone_name: 'example.com' },
        { pattern: '*/*', zone_name: 'example.com' },
        { pattern: 'app.example.com', zone_name: 'example.com', custom_domain: true },
        { pattern: 'vanity.customer.com/*', zone_name: 'example.com' },
        { pattern: '*ample.com/*', zone_name: 'example.com' },
      ],
      F,
      'routes',
      (m) => warnings.push(m),
    );
    assert.equal(routes.length, 7);
    assert.deepEqual(warnings, [
      'wrangler.toml: "routes[5].pattern" "vanity.customer.com/*" is outside its zone_name "example.com"; Cloudflare accepts that only for Cloudflare for SaaS custom hostnames',
      'wrangler.toml: "routes[6].pattern" "*ample.com/*" is outside its zone_name "example.com"; Cloudflare accepts that only for Cloudflare for SaaS custom hostnames',
    ]);
  });
});
