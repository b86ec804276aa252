// The examples of https://developers.cloudflare.com/workers/configuration/routing/routes/
// (matching behavior and validity), of the known issues page (route specificity) and of the
// custom domains page, each as written there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRoutes, type RouteInput } from './routes.ts';

/** The worker `url` runs with these routes (null: none). */
function workerFor(routes: RouteInput[] | ReturnType<typeof compileRoutes>, url: string): string | null {
  const m = Array.isArray(routes) ? compileRoutes(routes) : routes;
  return m.match(new URL(url))?.worker ?? null;
}

/** One route to worker "w": does it match each URL? */
function matches(pattern: string, urls: Record<string, boolean>): void {
  const m = compileRoutes([{ pattern, worker: 'w' }]);
  for (const [url, expected] of Object.entries(urls))
    assert.equal(
      m.match(new URL(url))?.worker === 'w',
      expected,
      `${pattern} ${expected ? 'matches' : 'does not match'} ${url}`,
    );
}

describe('matching behavior', () => {
  it('"https://*.example.com/images/*": HTTPS requests to a subhost of example.com whose paths start with /images/', () => {
    matches('https://*.example.com/images/*', {
      'https://www.example.com/images/cat.png': true,
      'https://a.b.example.com/images/': true,
      'https://www.example.com/images/cat.png?size=2': true,
      'http://www.example.com/images/cat.png': false,
      'https://example.com/images/cat.png': false,
      'https://www.example.com/images': false,
      'https://www.example.com/img/cat.png': false,
      'https://www.example.org/images/cat.png': false,
    });
  });

  it('"*example.com/*" matches all requests (to example.com and its subhosts)', () => {
    matches('*example.com/*', {
      'https://example.com/': true,
      'http://example.com/any/path?q=1': true,
      'https://www.example.com/path': true,
      'https://example.org/': false,
    });
  });

  it('"www.example.com/*" takes precedence over "*.example.com/*" for https://www.example.com/', () => {
    const routes = [
      { pattern: '*.example.com/*', worker: 'wild' },
      { pattern: 'www.example.com/*', worker: 'www' },
    ];
    assert.equal(workerFor(routes, 'https://www.example.com/'), 'www');
    assert.equal(workerFor(routes.reverse(), 'https://www.example.com/'), 'www');
    assert.equal(workerFor(routes, 'https://api.example.com/'), 'wild');
  });

  it('"example.com/hello/*" takes precedence over "example.com/*" for example.com/hello/world', () => {
    const routes = [
      { pattern: 'example.com/*', worker: 'all' },
      { pattern: 'example.com/hello/*', worker: 'hello' },
    ];
    assert.equal(workerFor(routes, 'https://example.com/hello/world'), 'hello');
    assert.equal(workerFor(routes.reverse(), 'https://example.com/hello/world'), 'hello');
    assert.equal(workerFor(routes, 'https://example.com/bye'), 'all');
  });

  it('considers the query string: only a pattern ending in "*" matches a URL with one', () => {
    matches('example.com/search', {
      'https://example.com/search': true,
      'https://example.com/search?q=1': false,
      'https://example.com/search?': false,
    });
    matches('example.com/search*', { 'https://example.com/search?q=1': true });
  });

  it('the path is case sensitive: "example.com/Images/*" and "example.com/images/*" are distinct', () => {
    const routes = [
      { pattern: 'example.com/Images/*', worker: 'upper' },
      { pattern: 'example.com/images/*', worker: 'lower' },
    ];
    assert.equal(workerFor(routes, 'https://example.com/Images/a'), 'upper');
    assert.equal(workerFor(routes, 'https://example.com/images/a'), 'lower');
    assert.equal(workerFor(routes, 'https://example.com/IMAGES/a'), null);
  });

  it('the host is not case sensitive (routes created on or after October 15th, 2023)', () => {
    matches('Example.com/*', { 'https://example.com/': true, 'https://EXAMPLE.COM/x': true });
    assert.throws(
      () =>
        compileRoutes([
          { pattern: 'example.com/*', worker: 'a' },
          { pattern: 'Example.com/*', worker: 'b' },
        ]),
      /route pattern "Example.com\/\*" is given to both a and b/,
    );
  });

  it('a route without a Worker negates less specific patterns: /images/cat.png bypasses, with a query it does not', () => {
    const routes = [
      { pattern: '*example.com/images/cat.png', worker: null },
      { pattern: '*example.com/images/*', worker: 'worker-script' },
    ];
    assert.equal(workerFor(routes, 'https://example.com/images/cat.png'), null);
    assert.equal(workerFor(routes, 'https://www.example.com/images/cat.png'), null);
    assert.equal(workerFor(routes, 'https://example.com/images/cat.png?foo=bar'), 'worker-script');
    assert.equal(workerFor(routes, 'https://example.com/images/dog.png'), 'worker-script');
  });
});

describe('validity examples', () => {
  it('"example.com" matches http://example.com/ and https://example.com/, and nothing else', () => {
    matches('example.com', {
      'http://example.com/': true,
      'https://example.com/': true,
      'https://example.com': true,
      'https://example.com/index.html': false,
      'https://example.com/?q': false,
      'https://www.example.com/': false,
      'https://example.com.evil.net/': false,
    });
  });

  it('"https://*.example.com/" matches https://www.example.com/ but not http://www.example.com/', () => {
    matches('https://*.example.com/', { 'https://www.example.com/': true, 'http://www.example.com/': false });
  });

  it('"*.example.com/" matches both https://www.example.com/ and http://www.example.com/', () => {
    matches('*.example.com/', { 'https://www.example.com/': true, 'http://www.example.com/': true });
  });

  it('"*example.com/" matches https://example.com/ and https://www.example.com/; "*.example.com/" only the subhost', () => {
    matches('*example.com/', { 'https://example.com/': true, 'https://www.example.com/': true });
    matches('*.example.com/', { 'https://www.example.com/': true, 'https://example.com/': false });
  });

  it('the table of "*example.com/*" against "*.example.com/*"', () => {
    // The docs' row for not-example.com says "Does not match" for *example.com/*, which
    // contradicts "* matches zero or more of any character" and the caution above it; Cloudflare
    // answers that routes are scoped to their zone, not that "-" is special
    // (cloudflare-docs issues #30262 and #30885, PR #32732 corrects the row). As a pattern it
    // matches; Outpost has no zones to scope by (see routes.ts).
    matches('*example.com/*', {
      'https://example.com/': true,
      'https://www.example.com/path': true,
      'https://myexample.com/': true,
      'https://not-example.com/': true,
    });
    matches('*.example.com/*', {
      'https://example.com/': false,
      'https://www.example.com/path': true,
      'https://myexample.com/': false,
      'https://not-example.com/': false,
    });
  });

  it('"https://example.com/path*" matches /path, /path2 and /path/readme.txt', () => {
    matches('https://example.com/path*', {
      'https://example.com/path': true,
      'https://example.com/path2': true,
      'https://example.com/path/readme.txt': true,
      'https://example.com/pat': false,
      'http://example.com/path': false,
    });
  });
});

describe('route specificity (known issues)', () => {
  it('(A) example.com/images/* and (B) example.com/images*: images, images123 and images/hello all go to B', () => {
    const routes = [
      { pattern: 'example.com/images/*', worker: 'A' },
      { pattern: 'example.com/images*', worker: 'B' },
    ];
    for (const order of [routes, [...routes].reverse()]) {
      assert.equal(workerFor(order, 'https://example.com/images'), 'B');
      assert.equal(workerFor(order, 'https://example.com/images123'), 'B');
      assert.equal(workerFor(order, 'https://example.com/images/hello'), 'B');
    }
  });

  it('(A) *.example.com/a and (B) a.example.com/*: a.example.com/a goes to B (the host counts first)', () => {
    const routes = [
      { pattern: '*.example.com/a', worker: 'A' },
      { pattern: 'a.example.com/*', worker: 'B' },
    ];
    assert.equal(workerFor(routes, 'https://a.example.com/a'), 'B');
    assert.equal(workerFor([...routes].reverse(), 'https://a.example.com/a'), 'B');
    assert.equal(workerFor(routes, 'https://b.example.com/a'), 'A');
  });

  it('orders by the score, then literal length, fewer wildcards, a scheme, config order', () => {
    const m = compileRoutes([
      { pattern: '*/*', worker: 'any', zoneName: 'example.com' },
      { pattern: '*example.com/*', worker: 'suffix' },
      { pattern: 'example.com/*', worker: 'apex' },
      { pattern: 'https://example.com/*', worker: 'apex-https' },
      { pattern: 'example.com/a', worker: 'a' },
      { pattern: 'example.com/a*', worker: 'a-prefix' },
      { pattern: '*.example.com/*', worker: 'subs' },
    ]);
    assert.deepEqual(
      m.routes.map((r) => [r.pattern, r.specificity]),
      [
        ['example.com/a', 54],
        ['example.com/a*', 54],
        ['https://example.com/*', 52],
        ['example.com/*', 52],
        ['*example.com/*', 52],
        ['*.example.com/*', 26],
        ['*/*', -26],
      ],
    );
    assert.equal(workerFor(m, 'https://example.com/'), 'apex-https');
    assert.equal(workerFor(m, 'http://example.com/'), 'apex');
    assert.equal(workerFor(m, 'http://example.com/a'), 'a');
    assert.equal(workerFor(m, 'http://example.com/ab'), 'a-prefix');
    assert.equal(workerFor(m, 'http://myexample.com/'), 'suffix');
    assert.equal(workerFor(m, 'http://www.example.com/'), 'suffix');
    assert.equal(workerFor(m, 'http://other.org/'), 'any');
  });

  it('a wildcard-host route beats an exact-host one when it scores higher, and the reverse', () => {
    const m = compileRoutes([
      { pattern: '*.example.com/api/v1/*', worker: 'deep-wild' },
      { pattern: 'www.example.com/*', worker: 'www' },
    ]);
    // 26 × 1 + 2 against 26 × 3 + 0: the host weighs more.
    assert.equal(workerFor(m, 'https://www.example.com/api/v1/x'), 'www');
    assert.equal(workerFor(m, 'https://api.example.com/api/v1/x'), 'deep-wild');
    const n = compileRoutes([
      { pattern: 'example.com/*', worker: 'apex' },
      { pattern: '*example.com/b/*', worker: 'wild-b' },
    ]);
    // 26 × 2 + 1 against 26 × 2 + 0.
    assert.equal(workerFor(n, 'https://example.com/b/x'), 'wild-b');
    assert.equal(workerFor(n, 'https://example.com/c'), 'apex');
  });
});

describe('what the URL parser normalizes', () => {
  it('ignores the port: a route matches its hostname on any port (outpost dev on :8787)', () => {
    matches('example.com/*', { 'http://example.com:8787/x': true, 'https://example.com:8443/': true });
  });

  it('compares internationalized hostnames in their ASCII form', () => {
    matches('español.com/*', { 'https://xn--espaol-zwa.com/': true, 'https://español.com/x': true });
    matches('xn--espaol-zwa.com', { 'https://español.com/': true });
  });

  it('compares paths percent-encoded, not decoded: "/café" is "/caf%C3%A9", "%41" is not "A"', () => {
    matches('example.com/café', {
      'https://example.com/café': true,
      'https://example.com/caf%C3%A9': true,
      'https://example.com/cafe': false,
    });
    matches('example.com/A', { 'https://example.com/%41': false, 'https://example.com/A': true });
  });
});

describe('custom domains', () => {
  const app = { pattern: 'api.example.com', worker: 'api-worker', customDomain: true };

  it('match their hostname exactly, every path, query and scheme, and no subdomain', () => {
    const m = compileRoutes([app]);
    for (const url of [
      'https://api.example.com/',
      'http://api.example.com/login',
      'https://api.example.com/user?id=1',
    ])
      assert.equal(workerFor(m, url), 'api-worker', url);
    assert.equal(workerFor(m, 'https://v2.api.example.com/'), null);
    assert.equal(workerFor(m, 'https://example.com/'), null);
    assert.equal(m.match(new URL('https://api.example.com/'))?.route.customDomain, true);
  });

  it('run behind routes on the same hostname: the route worker first, the custom domain as its origin', () => {
    const m = compileRoutes([app, { pattern: 'api.example.com/auth', worker: 'auth-worker' }]);
    assert.equal(workerFor(m, 'https://api.example.com/auth'), 'auth-worker');
    assert.equal(workerFor(m, 'https://api.example.com/login'), 'api-worker');
    assert.equal(m.customDomain('api.example.com')?.worker, 'api-worker');
    assert.equal(m.customDomain('example.com'), null);
    assert.deepEqual(
      m.routes.map((r) => r.pattern),
      ['api.example.com/auth'],
    );
  });

  it('answer where a route without a Worker bypasses Workers (the custom domain is the origin)', () => {
    const m = compileRoutes([
      app,
      { pattern: 'api.example.com/static/*', worker: null },
      { pattern: '*.example.com/*', worker: 'log' },
    ]);
    assert.equal(workerFor(m, 'https://api.example.com/static/a.css'), 'api-worker');
    assert.equal(workerFor(m, 'https://api.example.com/x'), 'log');
  });

  it('with enabled = false serve nothing', () => {
    assert.equal(workerFor([{ ...app, enabled: false }], 'https://api.example.com/'), null);
  });

  it('belong to one worker', () => {
    assert.throws(
      () => compileRoutes([app, { ...app, worker: 'other' }]),
      /custom domain "api.example.com" is given to both api-worker and other/,
    );
    assert.equal(workerFor([app, app], 'https://api.example.com/'), 'api-worker');
    assert.throws(() => compileRoutes([{ ...app, worker: null }]), /needs a worker/);
  });
});

describe('Cloudflare for SaaS (worker as fallback origin)', () => {
  it('"*/*" takes every host; a more specific route without a Worker excludes api.saasprovider.com', () => {
    const m = compileRoutes([
      { pattern: '*/*', worker: 'saas', zoneName: 'saasprovider.com' },
      { pattern: 'api.saasprovider.com/*', worker: null, zoneName: 'saasprovider.com' },
    ]);
    assert.equal(workerFor(m, 'https://mystore.customer.com/'), 'saas');
    assert.equal(workerFor(m, 'https://app.saasprovider.com/x'), 'saas');
    assert.equal(workerFor(m, 'https://api.saasprovider.com/v1'), null);
  });
});

describe('compiling', () => {
  it('refuses a pattern the config would refuse, naming it and its worker', () => {
    assert.throws(
      () => compileRoutes([{ pattern: 'example.com/*.jpg', worker: 'img' }]),
      /route "example.com\/\*.jpg" of worker img must be a pattern with "\*" only/,
    );
    assert.throws(
      () => compileRoutes([{ pattern: 'example.com/?q', worker: 'w' }]),
      /without a query string/,
    );
  });

  it('finds the same worker whatever the order of many routes', () => {
    const list: RouteInput[] = [];
    for (let i = 0; i < 200; i++) list.push({ pattern: `h${i}.example.com/p${i}/*`, worker: `w${i}` });
    list.push(
      { pattern: '*.example.com/*', worker: 'fallback' },
      { pattern: 'h7.example.com/p7/deep/*', worker: 'deep' },
    );
    const a = compileRoutes(list);
    const b = compileRoutes([...list].reverse());
    for (const url of [
      'https://h7.example.com/p7/x',
      'https://h7.example.com/p7/deep/x',
      'https://h7.example.com/p8/x',
      'https://h199.example.com/p199/',
    ]) {
      assert.equal(workerFor(a, url), workerFor(b, url), url);
    }
    assert.equal(workerFor(a, 'https://h7.example.com/p7/deep/x'), 'deep');
    assert.equal(workerFor(a, 'https://h7.example.com/p7/x'), 'w7');
    assert.equal(workerFor(a, 'https://h7.example.com/p8/x'), 'fallback');
  });
});
