/**
 * Conformance cases for CDN proxy mode, each naming the requirement it checks (RFC 9111 unless
 * said otherwise). Steps that need time to pass use 1 s lifetimes and 1.1 s pauses; cases run
 * concurrently.
 */
import type { Case, HeaderValue, Step } from './harness.ts';

const FRESH: [string, HeaderValue][] = [
  ['Expires', 100000],
  ['Cache-Control', 'max-age=100000'],
  ['Last-Modified', 0],
  ['Date', 0],
];
const PAUSE = 1100;
/** A fixed Last-Modified (validators must compare equal across requests). */
const LM = new Date(Date.now() - 86400_000).toUTCString();
/** A year ahead, as an IMF-fixdate with a two-digit hour below 10 ("Fri, 19 Nov 2027 08:00:00 GMT"). */
const AHEAD = (() => {
  const d = new Date(Date.now() + 365 * 86400_000);
  d.setUTCHours(8, 0, 0, 0);
  return d.toUTCString();
})();

/** Store with these response headers, then expect the second request cached or not. */
function second(
  id: string,
  name: string,
  headers: [string, HeaderValue][],
  expect: Step['expect'],
  pause = 0,
): Case {
  return { id, name, steps: [{ headers, pause }, { expect }] };
}

export const CASES: Case[] = [
  // Freshness and Cache-Control parsing (§4.2.1, §5.2, §1.2.2)
  second('ma', 'max-age makes a response fresh (§5.2.2.1)', [['Cache-Control', 'max-age=3600']], 'cached'),
  second('ma0', 'max-age=0 is stale at once (§4.2.1)', [['Cache-Control', 'max-age=0']], 'not_cached'),
  second(
    'ma-sp-before',
    'a space before "=" makes the directive unknown (§5.2)',
    [['Cache-Control', 'max-age =3600']],
    'not_cached',
  ),
  second(
    'ma-sp-after',
    'a space after "=" makes the directive invalid (§5.2)',
    [['Cache-Control', 'max-age= 3600']],
    'not_cached',
  ),
  second(
    'ma-squote',
    'single quotes are not quoted-string (§5.2)',
    [['Cache-Control', "max-age='3600'"]],
    'not_cached',
  ),
  second(
    'ma-quoted-ext',
    '"max-age" inside a quoted string is not a directive (§5.2)',
    [['Cache-Control', 'extension="max-age=3600", max-age=0']],
    'not_cached',
  ),
  second(
    'ma-quoted-ext-rev',
    'same, after the real max-age (§5.2)',
    [['Cache-Control', 'max-age=0, extension="max-age=3600"']],
    'not_cached',
  ),
  second(
    'ma-a100',
    'a non-numeric max-age is stale (§4.2.1)',
    [['Cache-Control', 'max-age=a100']],
    'not_cached',
  ),
  second(
    'ma-100a',
    'a max-age with trailing letters is stale (§4.2.1)',
    [['Cache-Control', 'max-age=100a']],
    'not_cached',
  ),
  second('ma-neg', 'a negative max-age is stale (§1.2.2)', [['Cache-Control', 'max-age=-100']], 'not_cached'),
  second('ma-lead0', 'max-age=003600 is 3600 (§1.2.2)', [['Cache-Control', 'max-age=003600']], 'cached'),
  second(
    'ma-max',
    'max-age=2147483648 is fresh (§1.2.2)',
    [['Cache-Control', 'max-age=2147483648']],
    'cached',
  ),
  second(
    'ma-huge',
    'a max-age past 2^31 is taken as 2^31 (§1.2.2)',
    [['Cache-Control', 'max-age=99999999999']],
    'cached',
  ),
  second(
    'ma-age',
    'an Age above max-age is stale (§4.2.3)',
    [
      ['Date', 0],
      ['Cache-Control', 'max-age=10'],
      ['Age', '15'],
    ],
    'not_cached',
  ),
  second(
    'ma0-expires',
    'max-age=0 wins over a future Expires (§5.3)',
    [
      ['Expires', 10000],
      ['Cache-Control', 'max-age=0'],
      ['Date', 0],
    ],
    'not_cached',
  ),
  second(
    'ma-past-expires',
    'max-age wins over a past Expires (§5.3)',
    [
      ['Cache-Control', 'max-age=3600'],
      ['Expires', -10000],
      ['Date', 0],
    ],
    'cached',
  ),
  second(
    'smaxage-short',
    'a shared cache prefers s-maxage (§5.2.2.10)',
    [['Cache-Control', 'max-age=3600, s-maxage=0']],
    'not_cached',
  ),
  second(
    'smaxage-multi',
    's-maxage on another field line still wins (§5.2.2.10)',
    [
      ['Cache-Control', 'max-age=3600'],
      ['Cache-Control', 's-maxage=0'],
    ],
    'not_cached',
  ),
  second(
    'expires-fresh',
    'a future Expires makes it fresh (§5.3)',
    [
      ['Expires', 3600],
      ['Date', 0],
    ],
    'cached',
  ),
  second(
    'expires-invalid',
    'an invalid Expires is in the past (§5.3)',
    [
      ['Expires', '0'],
      ['Date', 0],
    ],
    'not_cached',
  ),
  // Expires must be an HTTP-date: IMF-fixdate, rfc850-date or asctime-date (RFC 9110 §5.6.7);
  // anything else, or several field lines, means already expired (§5.3)
  ...(
    [
      ['expires-utc', '"UTC" instead of "GMT"', AHEAD.replace('GMT', 'UTC')],
      ['expires-no-comma', 'no comma after the day name', AHEAD.replace(',', '')],
      ['expires-spaces', 'doubled spaces', AHEAD.replace(/ /g, '  ')],
      ['expires-dashes', 'dashes in an IMF-fixdate', AHEAD.replace(/(\d\d) (\w{3}) (\d{4})/, '$1-$2-$3')],
      ['expires-1-digit-hour', 'a one-digit hour', AHEAD.replace(' 08:', ' 8:')],
    ] as const
  ).map(([id, what, value]) =>
    second(id, `an Expires with ${what} is not a date: expired (§5.3)`, [['Expires', value]], 'not_cached'),
  ),
  second(
    'expires-two-lines',
    'an Expires on two field lines is invalid: expired (§5.3)',
    [
      ['Expires', AHEAD],
      ['Expires', AHEAD],
    ],
    'not_cached',
  ),
  second(
    'expires-rfc850',
    'an rfc850-date Expires is read, its two-digit year within 50 years (RFC 9110 §5.6.7)',
    [
      [
        'Expires',
        AHEAD.replace(
          /^(\w{3}), (\d\d) (\w{3}) \d\d(\d\d)/,
          (_, day: string, dd: string, mon: string, yy: string) =>
            `${{ Mon: 'Monday', Tue: 'Tuesday', Wed: 'Wednesday', Thu: 'Thursday', Fri: 'Friday', Sat: 'Saturday', Sun: 'Sunday' }[day]}, ${dd}-${mon}-${yy}`,
        ),
      ],
    ],
    'cached',
  ),
  // Age as a list: its first member counts (§5.1)
  ...(
    [
      ['age-list-old-first', 'one line "7200, 0"', ['7200, 0'], 'not_cached'],
      ['age-list-old-second', 'one line "0, 7200"', ['0, 7200'], 'cached'],
      ['age-lines-old-first', 'lines "7200" then "0"', ['7200', '0'], 'not_cached'],
      ['age-lines-old-second', 'lines "0" then "7200"', ['0', '7200'], 'cached'],
    ] as [string, string, string[], Step['expect']][]
  ).map(([id, what, lines, expect]) =>
    second(
      id,
      `Age with ${what} counts by its first member (§5.1)`,
      [
        ['Date', 0],
        ['Cache-Control', 'max-age=3600'],
        ...lines.map((v): [string, HeaderValue] => ['Age', v]),
      ],
      expect,
    ),
  ),
  second(
    'age-invalid-first',
    'an Age whose first member is not delta-seconds is ignored (§5.1)',
    [
      ['Date', 0],
      ['Cache-Control', 'max-age=3600'],
      ['Age', '7200.0, 7200'],
    ],
    'cached',
  ),
  // Response directives (§5.2.2)
  second(
    'private',
    'a shared cache does not store private (§5.2.2.7)',
    [['Cache-Control', 'private, max-age=3600']],
    'not_cached',
  ),
  second('no-store', 'no-store is not stored (§5.2.2.5)', [['Cache-Control', 'No-StOrE']], 'not_cached'),
  second(
    'no-store-fresh',
    'no-store wins over max-age and Expires (§5.2.2.5)',
    [
      ['Cache-Control', 'max-age=10000, no-store'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  second(
    'no-cache',
    'no-cache is not reused without revalidation (§5.2.2.4)',
    [
      ['Cache-Control', 'max-age=10000, No-CaChE'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  {
    id: 'no-cache-etag',
    name: 'no-cache with a validator is revalidated (§5.2.2.4, §4.3.1)',
    steps: [
      {
        headers: [
          ['Cache-Control', 'no-cache'],
          ['ETag', '"abcd"'],
        ],
      },
      { expectOriginHeaders: [['if-none-match', '"abcd"']] },
    ],
  },
  {
    id: 'must-revalidate',
    name: 'a stale must-revalidate response is revalidated (§5.2.2.2)',
    steps: [
      {
        headers: [
          ['Cache-Control', 'max-age=1, must-revalidate'],
          ['ETag', '"mr"'],
        ],
        pause: PAUSE,
      },
      { expectOriginHeaders: [['if-none-match', '"mr"']] },
    ],
  },
  {
    id: 'no-cache-fields',
    name: 'fields named by no-cache="…" are not reused without revalidation (§5.2.2.4)',
    steps: [
      {
        headers: [
          ['Cache-Control', 'no-cache="a, b"'],
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
          ['Cache-Control', 'max-age=3600'],
        ],
      },
      { expect: 'cached', expectHeaders: [['c', '3']], expectMissing: ['a', 'b'] },
    ],
  },
  {
    id: 'connection-fields',
    name: 'fields named by Connection are hop-by-hop (RFC 9110 §7.6.1)',
    steps: [
      {
        headers: [
          ['Connection', 'a, b'],
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
          ['Cache-Control', 'max-age=3600'],
        ],
      },
      { expect: 'cached', expectHeaders: [['c', '3']], expectMissing: ['a', 'b'] },
    ],
  },
  // CDN-Cache-Control (RFC 9213) and Surrogate-Control
  second(
    'cdn-ma',
    'CDN-Cache-Control max-age makes it fresh for the CDN (RFC 9213 §2)',
    [['CDN-Cache-Control', 'max-age=3600']],
    'cached',
  ),
  second(
    'cdn-ma0',
    'CDN-Cache-Control max-age=0 is stale (RFC 9213 §2)',
    [['CDN-Cache-Control', 'max-age=0']],
    'not_cached',
  ),
  second(
    'cdn-age',
    'an Age above the CDN max-age is stale (RFC 9213 §2)',
    [
      ['Date', 0],
      ['CDN-Cache-Control', 'max-age=3600'],
      ['Age', '7200'],
    ],
    'not_cached',
  ),
  second(
    'cdn-private',
    'CDN-Cache-Control private wins over Cache-Control (RFC 9213 §2.1)',
    [
      ['CDN-Cache-Control', 'private'],
      ['Cache-Control', 'max-age=10000'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  second(
    'cdn-no-cache',
    'CDN-Cache-Control no-cache wins (RFC 9213 §2.1)',
    [
      ['CDN-Cache-Control', 'no-cache'],
      ['Cache-Control', 'max-age=10000'],
    ],
    'not_cached',
  ),
  second(
    'cdn-no-store',
    'CDN-Cache-Control no-store wins over a fresh Cache-Control (RFC 9213 §2.1)',
    [
      ['Cache-Control', 'max-age=10000'],
      ['CDN-Cache-Control', 'no-store'],
    ],
    'not_cached',
  ),
  second(
    'cdn-over-nostore',
    'a fresh CDN-Cache-Control wins over Cache-Control no-store (RFC 9213 §2.1)',
    [
      ['Cache-Control', 'no-store'],
      ['CDN-Cache-Control', 'max-age=10000'],
    ],
    'cached',
  ),
  second(
    'cdn-short',
    'a short CDN max-age wins over a long Cache-Control one (RFC 9213 §2.1)',
    [
      ['Cache-Control', 'max-age=3600'],
      ['CDN-Cache-Control', 'max-age=0'],
    ],
    'not_cached',
  ),
  second(
    'cdn-invalid-sf',
    'an invalid Structured Field is ignored (RFC 9213 §2.1, RFC 8941)',
    [
      ['CDN-Cache-Control', 'max-age=10000, &&&&&'],
      ['Cache-Control', 'no-store'],
    ],
    'not_cached',
  ),
  second(
    'cdn-wrong-type',
    'a string max-age is the wrong type and ignored (RFC 9213 §2.1)',
    [
      ['CDN-Cache-Control', 'max-age="10000"'],
      ['Cache-Control', 'no-store'],
    ],
    'not_cached',
  ),
  second(
    'sc-no-store',
    'Surrogate-Control no-store wins over Cache-Control',
    [
      ['Cache-Control', 'max-age=10000'],
      ['Surrogate-Control', 'no-store'],
    ],
    'not_cached',
  ),
  second(
    'sc-ma0',
    'Surrogate-Control max-age=0 is stale',
    [
      ['Surrogate-Control', 'max-age=0'],
      ['Expires', 10000],
      ['Date', 0],
    ],
    'not_cached',
  ),
  second(
    'sc-space',
    'Surrogate-Control "max-age =100" is ignored',
    [['Surrogate-Control', 'max-age =100']],
    'not_cached',
  ),
  // Heuristic freshness (§4.2.2) and status codes
  second(
    'heur-200',
    'a 200 with Last-Modified may be heuristically fresh (§4.2.2)',
    [
      ['Last-Modified', -86400],
      ['Date', 0],
    ],
    'cached',
  ),
  ...[201, 202, 403, 502, 503, 504, 599].map((status) => ({
    id: `heur-${status}`,
    name: `a ${status} is not heuristically cacheable (§4.2.2)`,
    steps: [
      {
        status,
        headers: [
          ['Last-Modified', -86400],
          ['Date', 0],
        ] as [string, HeaderValue][],
      },
      { status, expect: 'not_cached' as const },
    ],
  })),
  {
    id: 'heur-599-public',
    name: 'public makes any status heuristically cacheable (§4.2.2)',
    steps: [
      {
        status: 599,
        headers: [
          ['Last-Modified', -86400],
          ['Date', 0],
          ['Cache-Control', 'public'],
        ],
      },
      { status: 599, expect: 'cached' },
    ],
  },
  ...[200, 301, 404, 410, 500, 503].map((status) => ({
    id: `stale-${status}`,
    name: `a stale ${status} with explicit freshness is not reused (§4.2)`,
    steps: [
      {
        status,
        headers: [
          ['Expires', -5000],
          ['Last-Modified', -100000],
          ['Date', 0],
        ] as [string, HeaderValue][],
      },
      { status, expect: 'not_cached' as const },
    ],
  })),
  // Vary (§4.1)
  ...(
    [
      ['vary-match', [['Foo', '1']], 'cached', 'a matching request reuses the variant'],
      ['vary-omit', [], 'not_cached', 'a request without the header does not match'],
      ['vary-no-match', [['Foo', '2']], 'not_cached', 'a different value does not match'],
    ] as const
  ).map(([id, req, expect, what]) => ({
    id,
    name: `Vary: ${what} (§4.1)`,
    steps: [
      {
        requestHeaders: [['Foo', '1']] as [string, HeaderValue][],
        headers: [
          ['Cache-Control', 'max-age=5000'],
          ['Vary', 'Foo'],
        ] as [string, HeaderValue][],
      },
      { requestHeaders: [...req] as [string, HeaderValue][], expect },
    ],
  })),
  {
    id: 'vary-3-order',
    name: 'Vary on three fields: one differing field is a different variant (§4.1)',
    steps: [
      {
        requestHeaders: [
          ['Foo', '1'],
          ['Bar', 'abc4'],
          ['Baz', '789'],
        ],
        headers: [
          ['Cache-Control', 'max-age=5000'],
          ['Vary', 'Foo, Bar, Baz'],
        ],
      },
      {
        requestHeaders: [
          ['Foo', '1'],
          ['Bar', 'abc'],
          ['Baz', '789'],
        ],
        expect: 'not_cached',
      },
    ],
  },
  second(
    'vary-star',
    'Vary: * never matches (§4.1)',
    [
      ['Cache-Control', 'max-age=5000'],
      ['Vary', '*'],
    ],
    'not_cached',
  ),
  {
    id: 'vary-keep',
    name: 'a new variant does not replace the other (§4.1)',
    steps: [
      {
        requestHeaders: [['Foo', '1']],
        headers: [
          ['Cache-Control', 'max-age=5000'],
          ['Vary', 'Foo'],
        ],
        responseBody: 'one',
      },
      {
        requestHeaders: [['Foo', '2']],
        headers: [
          ['Cache-Control', 'max-age=5000'],
          ['Vary', 'Foo'],
        ],
        responseBody: 'two',
        expect: 'not_cached',
      },
      { requestHeaders: [['Foo', '1']], expect: 'cached', expectBody: 'one' },
    ],
  },
  // Invalidation (§4.4)
  ...['POST', 'PUT', 'DELETE', 'M-SEARCH'].map((method) => ({
    id: `inval-${method}`,
    name: `a successful ${method} invalidates the target URI (§4.4)`,
    steps: [{ headers: FRESH }, { method, body: 'abc' }, { expect: 'not_cached' as const }],
  })),
  {
    id: 'inval-location',
    name: 'a successful POST invalidates its Location on the same origin (§4.4)',
    steps: [
      { path: 'target', headers: FRESH },
      { method: 'POST', body: 'abc', headers: [['Location', '/t/inval-location/target']] },
      { path: 'target', expect: 'not_cached' },
    ],
  },
  {
    id: 'inval-content-location',
    name: 'a successful PUT invalidates its Content-Location on the same origin (§4.4)',
    steps: [
      { path: 'cl', headers: FRESH },
      { method: 'PUT', body: 'abc', headers: [['Content-Location', '/t/inval-content-location/cl']] },
      { path: 'cl', expect: 'not_cached' },
    ],
  },
  {
    id: 'inval-failed',
    name: 'a failed POST invalidates nothing (§4.4, optimal)',
    steps: [{ headers: FRESH }, { method: 'POST', body: 'abc', status: 500 }, { expect: 'cached' }],
  },
  // Constructing responses from caches (§4, §5.1)
  {
    id: 'age-gen',
    name: 'a stored response carries Age; Date is not changed (§4, §5.1)',
    steps: [
      {
        headers: [
          ['Cache-Control', 'max-age=600'],
          ['Date', 0],
          ['Age', '30'],
        ],
        pause: PAUSE,
      },
      { expect: 'cached', expectHeaders: [['Age', /^3[1-9]$/]] },
    ],
  },
  {
    id: 'query',
    name: 'different query strings are different keys (§2)',
    steps: [
      { query: 'a=1', headers: FRESH },
      { query: 'a=2', expect: 'not_cached' },
      { query: 'a=1', expect: 'cached' },
    ],
  },
  // Deliberately unlike the suite's optimal check: a response that sets a cookie is not stored,
  // as Cloudflare answers it BYPASS when it follows the origin's headers (docs/cache.md).
  second(
    'set-cookie',
    'a fresh response with Set-Cookie is not stored (Cloudflare; §3 would allow it)',
    [
      ['Cache-Control', 'max-age=3600'],
      ['Set-Cookie', 'a=b'],
    ],
    'not_cached',
  ),
  {
    id: 'set-cookie-private-field',
    name: 'private="set-cookie" lets it be stored, without the Set-Cookie field (§5.2.2.7)',
    steps: [
      {
        headers: [
          ['Cache-Control', 'max-age=3600, private="set-cookie"'],
          ['Set-Cookie', 'a=b'],
        ],
        expectHeaders: [['Set-Cookie', 'a=b']],
      },
      { expect: 'cached', expectMissing: ['Set-Cookie'] },
    ],
  },
  {
    id: 'authorization',
    name: 'a response to a request with Authorization is not reused without public/s-maxage/must-revalidate (§3.5)',
    steps: [
      { requestHeaders: [['Authorization', 'Basic YTpi']], headers: [['Cache-Control', 'max-age=3600']] },
      { expect: 'not_cached' },
    ],
  },
  {
    id: 'authorization-public',
    name: 'public allows reuse of an authorized response (§3.5)',
    steps: [
      {
        requestHeaders: [['Authorization', 'Basic YTpi']],
        headers: [['Cache-Control', 'public, max-age=3600']],
      },
      { expect: 'cached' },
    ],
  },
  // Validation (§4.3)
  ...(['ETag', 'Last-Modified'] as const).map((v) => ({
    id: `304-update-${v}`,
    name: `a ${v} 304 updates the returned and the stored headers (§4.3.4)`,
    steps: [
      {
        headers: [
          ['Cache-Control', 'max-age=1'],
          ['Date', 0],
          [v, v === 'ETag' ? '"e1"' : LM],
          ['Test-Header', 'A'],
        ] as [string, HeaderValue][],
        pause: PAUSE,
      },
      {
        status: 304,
        expectStatus: 200,
        headers: [
          ['Cache-Control', 'max-age=3600'],
          ['Date', 0],
          [v, v === 'ETag' ? '"e1"' : LM],
          ['Test-Header', 'B'],
        ] as [string, HeaderValue][],
        expectOriginHeaders: [] as [string, string][],
        expectHeaders: [['Test-Header', 'B']] as [string, string][],
      },
      { expect: 'cached' as const, expectHeaders: [['Test-Header', 'B']] as [string, string][] },
    ],
  })),
  {
    id: 'inm-304',
    name: 'a client If-None-Match is answered 304 with the ETag (RFC 9110 §13.1.2, §15.4.5)',
    steps: [
      { headers: [...FRESH, ['ETag', '"abcdef"']] },
      {
        requestHeaders: [['If-None-Match', '"abcdef"']],
        expect: 'cached',
        expectStatus: 304,
        expectHeaders: [['ETag', '"abcdef"']],
      },
    ],
  },
  {
    id: 'inm-precedence',
    name: 'If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.1.3)',
    steps: [
      {
        headers: [
          ...FRESH.filter(([k]) => k !== 'Last-Modified'),
          ['Last-Modified', -5000],
          ['ETag', '"abcdef"'],
        ],
      },
      {
        requestHeaders: [
          ['If-None-Match', '"abcdef"'],
          ['If-Modified-Since', -10000],
        ],
        expect: 'cached',
        expectStatus: 304,
      },
    ],
  },
  {
    id: 'vary-revalidate',
    name: 'a conditional request carries the Vary-selected request fields (§4.3.1)',
    steps: [
      {
        requestHeaders: [['Abc', '123']],
        headers: [
          ['Expires', 1],
          ['ETag', '"abcdef"'],
          ['Date', 0],
          ['Vary', 'Abc'],
        ],
        pause: PAUSE,
      },
      {
        requestHeaders: [['Abc', '123']],
        expectOriginHeaders: [
          ['abc', '123'],
          ['if-none-match', '"abcdef"'],
        ],
      },
    ],
  },
  // CDN-Cache-Control goes on downstream (Cloudflare passes it on); Cloudflare-CDN-Cache-Control
  // and Surrogate-Control are the edge's own and are removed
  {
    id: 'cdn-passed-on',
    name: 'CDN-Cache-Control reaches the client, on a miss and a hit; the edge-only fields do not (RFC 9213 §2)',
    steps: [
      {
        headers: [
          ['CDN-Cache-Control', 'max-age=3600'],
          ['Cloudflare-CDN-Cache-Control', 'max-age=3600'],
          ['Surrogate-Control', 'max-age=3600'],
        ],
        expectHeaders: [['CDN-Cache-Control', 'max-age=3600']],
        expectMissing: ['Cloudflare-CDN-Cache-Control', 'Surrogate-Control'],
      },
      {
        expect: 'cached',
        expectHeaders: [['CDN-Cache-Control', 'max-age=3600']],
        expectMissing: ['Cloudflare-CDN-Cache-Control', 'Surrogate-Control'],
      },
    ],
  },
  {
    id: 'cdn-private-passed-on',
    name: 'CDN-Cache-Control: private is obeyed and passed on (RFC 9213 §2.1)',
    steps: [
      {
        headers: [
          ['CDN-Cache-Control', 'private'],
          ['Cache-Control', 'max-age=10000'],
        ],
        expectHeaders: [['CDN-Cache-Control', 'private']],
      },
      { expect: 'not_cached' },
    ],
  },
  // Serving stale when the origin cannot be reached (§4.2.4)
  {
    id: 'stale-close',
    name: 'a stale response is served (STALE) when the origin closes the connection (§4.2.4)',
    steps: [
      { headers: [['Cache-Control', 'max-age=1']], pause: PAUSE },
      { disconnect: true, expect: 'cached', expectHeaders: [['cf-cache-status', 'STALE']] },
    ],
  },
  ...['must-revalidate', 'proxy-revalidate', 'no-cache', 's-maxage=1'].map(
    (directive): Case => ({
      id: `stale-close-${directive.replace('=1', '')}`,
      name: `${directive} forbids serving stale even when the origin closes the connection (§4.2.4)`,
      steps: [
        { headers: [['Cache-Control', `max-age=1, ${directive}`]], pause: PAUSE },
        { disconnect: true, expectStatus: 502, expectMissing: ['server-request-count'] },
      ],
    }),
  ),
  {
    id: 'stale-503-must-revalidate',
    name: 'must-revalidate forbids serving stale when the origin answers 503 (§4.2.4)',
    steps: [
      { headers: [['Cache-Control', 'max-age=1, must-revalidate, stale-if-error=3600']], pause: PAUSE },
      { status: 503, expectStatus: 503 },
    ],
  },
  {
    id: 'stale-503-no-cache',
    name: 'no-cache forbids serving stale when the origin answers 503, stale-if-error or not (§4.2.4)',
    steps: [
      {
        headers: [
          ['Cache-Control', 'max-age=1, no-cache, stale-if-error=3600'],
          ['ETag', '"n"'],
        ],
        pause: PAUSE,
      },
      { status: 503, expectStatus: 503 },
    ],
  },
  // Stale content (RFC 5861)
  {
    id: 'sie-expired',
    name: 'past its stale-if-error window a 500 is passed on (RFC 5861 §4)',
    steps: [{ headers: [['Cache-Control', 'max-age=0, stale-if-error=1']], pause: PAUSE }, { status: 500 }],
  },
  {
    id: 'sie-503',
    name: 'within stale-if-error a 503 is answered with the stale response (RFC 5861 §4)',
    steps: [
      { headers: [['Cache-Control', 'max-age=0, stale-if-error=3600']] },
      { status: 503, expectStatus: 200, expectHeaders: [['cf-cache-status', 'STALE']] },
    ],
  },
  {
    id: 'swr',
    name: 'stale-while-revalidate serves the stale response and refreshes in the background (RFC 5861 §3)',
    steps: [
      {
        headers: [
          ['Cache-Control', 'max-age=0, stale-while-revalidate=3600'],
          ['ETag', '"abc"'],
        ],
      },
      {
        headers: [
          ['Cache-Control', 'max-age=3600'],
          ['ETag', '"def"'],
        ],
        expectHeaders: [['ETag', '"abc"']],
        pause: 300,
      },
      { expect: 'cached', expectHeaders: [['ETag', '"def"']] },
    ],
  },
  // Partial content (RFC 9110 §14) and interim responses (RFC 9110 §15.2)
  {
    id: 'range-from-complete',
    name: 'a stored complete response answers a byte range (RFC 9110 §14, RFC 9111 §3.4)',
    steps: [
      { headers: [['Cache-Control', 'max-age=3600']], responseBody: '01234567890' },
      {
        requestHeaders: [['Range', 'bytes=1-']],
        expect: 'cached',
        expectStatus: 206,
        expectBody: '1234567890',
      },
      { requestHeaders: [['Range', 'bytes=-1']], expect: 'cached', expectStatus: 206, expectBody: '0' },
    ],
  },
  {
    id: 'interim-103',
    name: '103 Early Hints are passed on and the final response cached (RFC 8297)',
    steps: [
      {
        interim: [[103, [['link', '</styles.css>; rel=preload; as=style']]]],
        headers: [
          ['Cache-Control', 'max-age=100000'],
          ['Date', 0],
        ],
      },
      { expect: 'cached' },
    ],
  },
  {
    id: 'interim-102',
    name: '102 Processing is passed on and the final response cached (RFC 9110 §15.2)',
    steps: [
      {
        interim: [[102, []]],
        headers: [
          ['Cache-Control', 'max-age=100000'],
          ['Date', 0],
        ],
      },
      { expect: 'cached' },
    ],
  },
];
