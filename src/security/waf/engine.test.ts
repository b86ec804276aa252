import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWafConfig } from './config.ts';
import { Waf, wafBlockHeaders } from './engine.ts';
import type { WafRequest } from './types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const waf = (raw: Record<string, unknown> = {}) => new Waf(parseWafConfig(raw, 'security.waf'));
const get = (query: string, path = '/search', headers: [string, string][] = []): WafRequest => ({
  method: 'GET',
  path,
  query,
  headers: [
    ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'],
    ...headers,
  ],
});
const post = (
  body: string | Uint8Array,
  contentType: string | undefined,
  path = '/api/comments',
): WafRequest => ({
  method: 'POST',
  path,
  query: '',
  headers: [['user-agent', 'Mozilla/5.0']],
  body: typeof body === 'string' ? enc.encode(body) : body,
  contentType,
});
const q = (v: string) => `q=${encodeURIComponent(v)}`;

describe('WAF engine', () => {
  it('allows ordinary requests and blocks a critical match at the default threshold', () => {
    const w = waf();
    assert.deepEqual(w.inspect(get('q=red+shoes&page=2')), {
      action: 'allow',
      score: 0,
      matches: [],
      bodyTruncated: false,
    });
    const v = w.inspect(get(q("' or '1'='1")));
    assert.equal(v.action, 'block');
    assert.ok(v.score >= 5);
    const m = v.matches.find((x) => x.id === '942100')!;
    assert.deepEqual(
      { ...m, excerpt: undefined },
      { id: '942100', category: 'sqli', part: 'query', name: 'q', score: 5, excerpt: undefined },
    );
    assert.equal(m.excerpt, "' or '1'='1");
  });

  it('never blocks a lone apostrophe or a lone SQL word, at any paranoia level', () => {
    for (const paranoia of [1, 2, 3, 4]) {
      const w = waf({ paranoia });
      for (const v of [
        "O'Brien",
        "rock 'n' roll",
        'select',
        'union',
        'drop',
        "'",
        'select the best union plan',
      ])
        assert.notEqual(w.inspect(get(q(v))).action, 'block', `${v} at paranoia ${paranoia}`);
    }
  });

  it('counts each rule once per request, however many values it matches', () => {
    const v = waf().inspect(get('a=%3Cscript%3E&b=%3Cscript%3E&c=%3Cscript%3E'));
    assert.equal(v.score, 5);
    assert.deepEqual(
      v.matches.map((m) => m.id),
      ['941100'],
    );
  });

  it('sums weaker matches: one warning logs, two block', () => {
    const w = waf();
    assert.equal(w.inspect(get(q('see ../guide.md'))).action, 'log');
    assert.equal(w.inspect(get(q("it's great --"))).action, 'log');
    const one = w.inspect(get(q('<svg><math>')));
    assert.deepEqual([one.action, one.score], ['log', 3], 'one rule (941141), counted once');
    const two = w.inspect(get(`a=%3Csvg%3E&b=${encodeURIComponent('c:\\windows\\temp')}`));
    assert.deepEqual([two.action, two.score], ['block', 6]);
  });

  it('paranoia levels add rules', () => {
    const sql = get(q('select name from users'));
    assert.equal(waf({ paranoia: 1 }).inspect(sql).action, 'allow');
    assert.equal(waf({ paranoia: 2 }).inspect(sql).action, 'log');
    assert.equal(waf({ paranoia: 3 }).inspect(sql).action, 'block');
    const quoted = get(q("' and x --"));
    assert.equal(waf({ paranoia: 1 }).inspect(quoted).action, 'log');
    assert.equal(waf({ paranoia: 2 }).inspect(quoted).action, 'block');
    const tag = get(q('<b>bold</b>'));
    assert.equal(waf({ paranoia: 1 }).inspect(tag).action, 'allow');
    assert.deepEqual(
      waf({ paranoia: 2 })
        .inspect(tag)
        .matches.map((m) => m.id),
      ['941300'],
    );
  });

  it('the threshold decides what blocks', () => {
    const req = get(q('<script>'));
    assert.equal(waf({ threshold: 5 }).inspect(req).action, 'block');
    assert.equal(waf({ threshold: 6 }).inspect(req).action, 'log');
  });

  it('log mode reports and never blocks', () => {
    const w = waf({ mode: 'log' });
    const v = w.inspect(get(q('<script>alert(1)</script>')));
    assert.equal(v.action, 'log');
    assert.ok(v.score >= 5);
    assert.equal(w.inspect(get('q=hello')).action, 'allow');
  });

  it('reveal_rule_id changes no verdict; the header names the highest-scoring rule of a block', () => {
    const req = get(q('1 union select password from users -- <script>'));
    const hidden = parseWafConfig({}, 'k');
    const shown = parseWafConfig({ reveal_rule_id: true }, 'k');
    const a = new Waf(hidden).inspect(req);
    const b = new Waf(shown).inspect(req);
    assert.deepEqual(a, b);
    assert.deepEqual(wafBlockHeaders(hidden, a), []);
    const header = wafBlockHeaders(shown, b);
    assert.equal(header.length, 1);
    assert.equal(header[0][0], 'outpost-waf-rule');
    assert.equal(b.matches.find((m) => m.id === header[0][1])?.score, 5);
    assert.deepEqual(wafBlockHeaders(shown, new Waf(shown).inspect(get('q=ok'))), []);
  });

  it('runs custom rules on normalised text, case-insensitively, in the parts they name', () => {
    const w = waf({
      rules: [
        { id: 'internal', parts: ['path'], pattern: '^/internal/', score: 5 },
        {
          id: 'coupon-abuse',
          parts: ['query', 'body'],
          pattern: 'free\\s+money',
          score: 3,
          category: 'abuse',
        },
        { id: 'watch', parts: ['headers'], pattern: 'suspicious-client', score: 0 },
      ],
    });
    const v = w.inspect(get('', '/%49nternal/admin'));
    assert.equal(v.action, 'block');
    assert.deepEqual(v.matches, [
      { id: 'internal', category: 'custom', part: 'path', score: 5, excerpt: '/internal/admin' },
    ]);
    const coupon = w.inspect(get('code=FREE%20%20MONEY'));
    assert.equal(coupon.action, 'log');
    assert.equal(coupon.matches[0].category, 'abuse');
    assert.equal(w.inspect(get('', '/x', [['referer', 'free money']])).action, 'allow', 'not in headers');
    const watched = w.inspect(get('', '/x', [['x-client', 'Suspicious-Client/1.0']]));
    assert.equal(watched.action, 'log', 'a score-0 rule logs');
    assert.equal(watched.score, 0);
  });

  it('exclusions switch rules off for a path, by id or category, in the parts they name', () => {
    const w = waf({ exclusions: [{ path: '/api/paste/*', rules: ['sqli', '941100'], parts: ['body'] }] });
    const body = JSON.stringify({
      code: "SELECT * FROM t WHERE a = 'x' UNION SELECT 1,2 --",
      html: '<script>',
    });
    assert.equal(w.inspect(post(body, 'application/json', '/api/paste/new')).action, 'allow');
    assert.equal(w.inspect(post(body, 'application/json', '/api/comments')).action, 'block');
    const query = { ...get(q("' or 1=1--"), '/api/paste/new') };
    assert.equal(w.inspect(query).action, 'block', 'the query is not excluded');
    const js = JSON.stringify({ code: '<img src=x onerror=alert(1)>' });
    assert.equal(
      w.inspect(post(js, 'application/json', '/api/paste/new')).action,
      'block',
      'other xss rules still run',
    );
  });

  it('an exclusion applies only when the path matches both as sent and as decoded', () => {
    const w = waf({ exclusions: [{ path: '/api/paste/*', rules: ['*'] }] });
    const body = JSON.stringify({ code: '<script>alert(1)</script>' });
    assert.equal(w.inspect(post(body, 'application/json', '/api/paste/x')).action, 'allow');
    assert.equal(w.inspect(post(body, 'application/json', '/api/p%61ste/x')).action, 'block');
    assert.equal(w.inspect(post(body, 'application/json', '/api/paste/../admin')).action, 'block');
    assert.equal(w.inspect(post(body, 'application/json', '/api/paste/%2e%2e/admin')).action, 'block');
  });

  it('inspects only inspect_body_bytes of a body, and says so', () => {
    const w = waf({ inspect_body_bytes: 64 });
    const pad = 'x'.repeat(100);
    const late = w.inspect(
      post(`note=${pad}&q=${encodeURIComponent('<script>')}`, 'application/x-www-form-urlencoded'),
    );
    assert.equal(late.bodyTruncated, true);
    assert.equal(late.action, 'allow');
    const early = w.inspect(
      post(`q=${encodeURIComponent('<script>')}&note=${pad}`, 'application/x-www-form-urlencoded'),
    );
    assert.equal(early.bodyTruncated, true);
    assert.equal(early.action, 'block');
    const json = w.inspect(post(JSON.stringify({ a: '<script>', pad }), 'application/json'));
    assert.equal(json.action, 'block', 'a JSON prefix is still read as JSON strings');
    assert.equal(
      waf({ inspect_body_bytes: 0 }).inspect(post('q=%3Cscript%3E', 'application/x-www-form-urlencoded'))
        .bodyTruncated,
      true,
    );
    assert.equal(
      waf().inspect(post('q=%3Cscript%3E', 'application/x-www-form-urlencoded')).bodyTruncated,
      false,
    );
  });

  it('reads bodies as JSON (keys and values, duplicates), forms, multipart fields and file names, or text', () => {
    const w = waf();
    const dup = '{"q": "fine", "q": "ok", "nested": {"<script>": 1}}';
    const v = w.inspect(post(dup, 'application/json'));
    assert.equal(v.action, 'block');
    assert.equal(v.matches[0].name, 'nested');
    const dupValue = '{"q": "<script>", "q": "ok"}';
    assert.equal(
      w.inspect(post(dupValue, 'application/json')).action,
      'block',
      'the first of duplicate keys too',
    );
    assert.equal(
      w.inspect(post('{"a": 1 union select 1,2}', 'application/json')).action,
      'block',
      'invalid JSON as text',
    );
    assert.equal(w.inspect(post('{"a": "\\u003cscript\\u003e"}', 'application/json')).action, 'block');
    const boundary = 'XyZ';
    const multipart = [
      `--${boundary}\r\nContent-Disposition: form-data; name="bio"\r\n\r\n<svg onload=alert(1)>\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="../../../etc/passwd"\r\nContent-Type: text/plain\r\n\r\nhello\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
    const mv = w.inspect(post(multipart, `multipart/form-data; boundary=${boundary}`));
    assert.deepEqual([...new Set(mv.matches.map((m) => m.category))].sort(), ['traversal', 'xss']);
    assert.equal(w.inspect(post('hello <script>alert(1)</script>', 'text/plain')).action, 'block');
    assert.equal(
      w.inspect(post('q=%27%20or%201%3D1--', undefined)).action,
      'block',
      'form sniffed without a type',
    );
  });

  it('does not inspect declared binary bodies that are binary, but does when they are text', () => {
    const w = waf();
    const png = new Uint8Array([
      0x89,
      0x50,
      0x4e,
      0x47,
      0x0d,
      0x0a,
      0x1a,
      0x0a,
      0,
      0,
      ...enc.encode('<script>'),
    ]);
    assert.equal(w.inspect(post(png, 'image/png')).action, 'allow');
    assert.equal(w.inspect(post('<script>alert(1)</script>', 'application/octet-stream')).action, 'block');
  });

  it('inspects the path, headers, cookies and user agent, and skips negotiation headers', () => {
    const w = waf();
    assert.equal(w.inspect(get('', '/static/..%2f..%2fetc/passwd')).action, 'block');
    assert.equal(w.inspect(get('', '/', [['cookie', 'a=1; pref=%3Cscript%3E']])).matches[0].part, 'cookies');
    assert.equal(
      w.inspect(get('', '/', [['x-forwarded-for', "1.2.3.4' or '1'='1"]])).matches[0].name,
      'x-forwarded-for',
    );
    const ua: WafRequest = {
      method: 'GET',
      path: '/',
      query: '',
      headers: [['user-agent', 'sqlmap/1.7.2#stable']],
    };
    assert.deepEqual(
      w.inspect(ua).matches.map((m) => [m.id, m.part]),
      [['913100', 'user_agent']],
    );
    assert.equal(
      w.inspect(get('', '/', [['accept', "' or '1'='1"]])).action,
      'allow',
      'accept is not inspected',
    );
    assert.equal(w.inspect(get('', '/', [['accept', '() { :; }; /bin/cat /etc/passwd']])).action, 'allow');
  });

  it('never throws on bad input', () => {
    const w = waf({ sanitize: true });
    const huge: [string, string][] = Array.from({ length: 20000 }, (_, i) => [`x-h${i}`, `v${i}`]);
    const cases: unknown[] = [
      get('%zz%%%u12&&==&=&a=%E0%A4%A'),
      get('q=%ED%A0%80%F4%90%80%80%C0'),
      post(new Uint8Array([0xff, 0xfe, 0xfd, 0x00, 0x80, 0xc0]), 'application/json'),
      post('{"a": [1, 2, {"b": "unterminated', 'application/json'),
      post('{"a": "\\uZZZZ\\x"}', 'application/json'),
      post('['.repeat(100000), 'application/json'),
      post('--b\r\nContent-Disposition: form-data\r\n\r\n', 'multipart/form-data; boundary=b'),
      post('no boundary', 'multipart/form-data'),
      post('x'.repeat(300000), 'text/plain'),
      { ...get(''), headers: huge },
      { method: 'GET', path: undefined, query: undefined, headers: undefined },
      { method: 'GET', path: '/', query: '', headers: [['only-name'], [1, 2], null, 'x'] },
      { method: 'GET', path: '/', query: '', headers: [], body: 'not bytes' },
      { method: 'GET', path: `/${'%'.repeat(50000)}`, query: '&'.repeat(50000), headers: [] },
    ];
    for (const req of cases) {
      const v = w.inspect(req as WafRequest);
      assert.ok(['allow', 'block', 'log'].includes(v.action));
      assert.ok(
        !v.matches.some((m) => m.id === 'waf-error'),
        `engine error on ${JSON.stringify(req).slice(0, 80)}`,
      );
    }
    // 20,000 header fields are more values than it inspects (Node's server takes 2,000 at most).
    const many = w.inspect(cases[9] as WafRequest);
    assert.equal(many.action, 'block');
    assert.deepEqual(
      many.matches.map((m) => m.id),
      ['waf-limit'],
    );
  });

  it('the prefilter changes no verdict', () => {
    const config = parseWafConfig({ paranoia: 4 }, 'k');
    const fast = new Waf(config);
    const full = new Waf(config, { prefilter: false });
    for (const v of [
      "' or 1=1--",
      'union select 1,2',
      'xp_cmdshell',
      'document.cookie',
      'id_rsa',
      'or true--',
      '’ or ‘1’=’1',
    ]) {
      const req = get(q(v));
      assert.equal(fast.inspect(req).score, full.inspect(req).score, v);
    }
  });
});

describe('WAF against parser differences and floods (review findings)', () => {
  const attack = "1' or '1'='1";
  it('finds multipart parts as the runtime does: a delimiter mid-line is content, the boundary keeps its case', () => {
    const midLine = `--aaa\r\nContent-Disposition: form-data; name="x"\r\n\r\nfoo--aaa--\r\n--aaa\r\nContent-Disposition: form-data; name="q"\r\n\r\n${attack}\r\n--aaa--\r\n`;
    assert.equal(waf().inspect(post(midLine, 'multipart/form-data; boundary=aaa')).action, 'block');
    const mixed = `--AbC\r\nContent-Disposition: form-data; name="q"\r\n\r\n${attack}\r\n--AbC--\r\n`;
    const v = waf().inspect(post(mixed, 'multipart/form-data; boundary=AbC'));
    assert.equal(v.action, 'block');
    assert.equal(v.matches[0].name, 'q', 'read as a multipart field, not as text');
    // Two boundary parameters: the runtime takes the first `boundary`; an unclean parse is also read as text.
    const two = `--bbb\r\nContent-Disposition: form-data; name="q"\r\n\r\n${attack}\r\n--bbb--\r\n`;
    assert.equal(
      waf().inspect(post(two, 'multipart/form-data; xboundary=aaa; boundary=bbb')).action,
      'block',
    );
    assert.equal(
      waf().inspect(post(two, 'multipart/form-data; boundary=aaa')).action,
      'block',
      'unparsable: read as text',
    );
  });
  it('the media type alone decides how a body is read (charset=json is still a form)', () => {
    const v = waf().inspect(
      post(`q=${attack.replaceAll(' ', '+')}`, 'application/x-www-form-urlencoded; charset=json'),
    );
    assert.equal(v.action, 'block');
  });
  it('a request of more values than it inspects is blocked as such, in bounded time', () => {
    const flood = post("'&".repeat(65536), 'application/x-www-form-urlencoded');
    const t = performance.now();
    const v = waf().inspect(flood);
    assert.ok(performance.now() - t < 500, 'bounded');
    assert.equal(v.action, 'block');
    assert.ok(v.matches.some((m) => m.id === 'waf-limit'));
    assert.equal(waf({ mode: 'log' }).inspect(flood).action, 'log');
    const many = post(JSON.stringify(Array.from({ length: 900 }, (_, i) => `item ${i}`)), 'application/json');
    assert.equal(waf().inspect(many).action, 'allow', '900 values are inspected, not refused');
  });
});

describe('WAF sanitize', () => {
  const w = waf({ sanitize: true });

  it('blanks offending query values and keeps the other pairs byte for byte', () => {
    const v = w.inspect(get(`page=2&${q("' or 1=1--")}&sort=price%20asc&x=%3Cscript%3E`));
    assert.equal(v.action, 'allow');
    assert.ok(v.score >= 5);
    assert.deepEqual(v.sanitized, { query: 'page=2&q=&sort=price%20asc&x=' });
    assert.deepEqual(new Set(v.matches.map((m) => m.name)), new Set(['q', 'x']));
  });

  it('drops a pair whose name is the offence', () => {
    const v = w.inspect(get('%3Cscript%3E=1&page=2'));
    assert.deepEqual(v.sanitized, { query: 'page=2' });
  });

  it('blanks form fields and JSON string values in place', () => {
    const form = w.inspect(
      post(
        `name=Ann&comment=${encodeURIComponent('<img src=x onerror=alert(1)>')}&ok=1`,
        'application/x-www-form-urlencoded',
      ),
    );
    assert.equal(form.action, 'allow');
    assert.equal(dec.decode(form.sanitized!.body), 'name=Ann&comment=&ok=1');
    const json = w.inspect(
      post(
        '{"name": "Ann", "q": "1 union select 1,2", "q": "fine", "n": [1, "<script>"]}',
        'application/json',
      ),
    );
    assert.equal(json.action, 'allow');
    assert.equal(dec.decode(json.sanitized!.body), '{"name": "Ann", "q": "", "q": "fine", "n": [1, ""]}');
  });

  it('blocks instead when a match cannot be blanked safely', () => {
    const cases: WafRequest[] = [
      get('q=ok', '/static/..%2f..%2fetc/passwd'),
      get('q=ok', '/', [['referer', '<script>alert(1)</script>']]),
      get('q=ok', '/', [['cookie', 'a=%3Cscript%3E']]),
      post('{"<script>": 1}', 'application/json'),
      post('hello <script>', 'text/plain'),
      post(
        '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n<script>\r\n--b--\r\n',
        'multipart/form-data; boundary=b',
      ),
      post(`q=%3Cscript%3E&pad=${'x'.repeat(200000)}`, 'application/x-www-form-urlencoded'),
    ];
    for (const req of cases) {
      const v = w.inspect(req);
      assert.equal(v.action, 'block', JSON.stringify(req).slice(0, 100));
      assert.equal(v.sanitized, undefined);
    }
  });

  it('blocks when the caller says the body it passed is only a prefix', () => {
    const req = post('q=%3Cscript%3E&ok=1', 'application/x-www-form-urlencoded');
    const whole = w.inspect(req);
    assert.equal(whole.action, 'allow');
    assert.equal(whole.bodyTruncated, false);
    const cut = w.inspect({ ...req, bodyTruncated: true });
    assert.deepEqual([cut.action, cut.bodyTruncated, cut.sanitized], ['block', true, undefined]);
    const json = w.inspect({
      ...post('{"a": "<script>", "b": "cut off', 'application/json'),
      bodyTruncated: true,
    });
    assert.equal(json.action, 'block', 'a cut-off JSON body is read as JSON strings, not refused as invalid');
  });

  it('a query match with a header match blocks (not every match can be blanked)', () => {
    const v = w.inspect(get(q('<script>'), '/', [['referer', "' or '1'='1"]]));
    assert.equal(v.action, 'block');
  });

  it('does nothing below the threshold or in log mode', () => {
    assert.equal(w.inspect(get(q("it's -- fine"))).sanitized, undefined);
    const log = waf({ sanitize: true, mode: 'log' }).inspect(get(q('<script>')));
    assert.equal(log.action, 'log');
    assert.equal(log.sanitized, undefined);
  });
});
