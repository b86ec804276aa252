/**
 * The benign corpus: requests a WAF must let through. Browsing with real browsers' headers and
 * cookies, searches that use SQL-ish words and punctuation, names with apostrophes, prose with
 * `#`, `--`, quotes and semicolons, product names with `&` and `<3`, URLs in parameters, API
 * calls with tokens; the bodies (JSON, forms, multipart, Markdown, code pastes) are in
 * benign-bodies.ts. Entries marked `paste` go to the paste route of a developer forum, which the
 * corpus test's config excludes (docs/waf.md says why).
 */
import type { WafRequest } from '../types.ts';
import { BENIGN_BODIES } from './benign-bodies.ts';
import { BROWSER_HEADERS, BROWSER_UAS } from './build.ts';

export interface Benign {
  note: string;
  req: WafRequest;
  /** Sent to the paste route (`/api/paste/*`). */
  paste?: boolean;
}

const COOKIES = [
  '_ga=GA1.1.1983745021.1714031234; _ga_X1Y2Z3=GS1.1.1714031234.3.1.1714031500.0.0.0; session=eyJ1aWQiOjQyfQ.ZiYx2Q.k3Jb7uYbF0Kp9pR2m1x8sQvW0aE',
  'cf_clearance=Xy7Q9kLm2n.1714031234-0-1-ab12cd34.ef56gh78-150; theme=dark; lang=en-GB',
  'consent=%7B%22necessary%22%3Atrue%2C%22analytics%22%3Afalse%7D; cart=%5B%7B%22sku%22%3A%22TS-001%22%2C%22qty%22%3A2%7D%5D',
  'sessionid=9b2f0c1e7d6a4b3c8e5f; csrftoken=Qm3kP9sLx2RtV7wY1zA4bC6dE8fG0hJ; tz=Europe%2FLondon',
  'JSESSIONID=5A7F3C9E2B1D4F6A8C0E; remember_me=true; last_seen=2024-04-25T10%3A15%3A00Z',
  '',
];

let n = 0;
function headers(extra: [string, string][] = []): [string, string][] {
  const i = n++;
  const h: [string, string][] = [...BROWSER_HEADERS];
  if (!extra.some(([name]) => name === 'user-agent'))
    h.push(['user-agent', BROWSER_UAS[i % BROWSER_UAS.length]]);
  const cookie = COOKIES[i % COOKIES.length];
  if (cookie) h.push(['cookie', cookie]);
  if (i % 3 === 0) h.push(['referer', 'https://shop.example.com/']);
  return [...h, ...extra];
}

function get(
  note: string,
  path: string,
  params: Record<string, string> | string = '',
  extra?: [string, string][],
) {
  const query = typeof params === 'string' ? params : new URLSearchParams(params).toString();
  return { note, req: { method: 'GET', path, query, headers: headers(extra) } };
}

const SEARCHES = [
  "O'Brien",
  "rock 'n' roll",
  'select the best union plan',
  'union station chicago parking',
  'how to drop a table in excel',
  'C# async await best practices',
  'F# vs OCaml',
  'what does -- mean in C',
  '#throwbackthursday',
  'mr. & mrs. smith',
  'tom & jerry',
  'AT&T unlimited plans',
  'i <3 ny t-shirt',
  '3 < 5 > 2 math worksheet',
  'rock & roll | best of 2020',
  'sleep apnea treatment',
  'benchmark results 2024 gpu',
  'order by date',
  'insert coin arcade bar',
  'delete account',
  'javascript: the good parts',
  'alert system for seniors',
  'Where is the nearest Union Select Committee office?',
  "Don't stop me now",
  "Guns N' Roses tickets",
  'C++ templates',
  'what is 1+1',
  'is 1=1 true',
  'SQL select vs update',
  'how to use union in sql',
  'drop shipping suppliers',
  "children's books age 5-7",
  'shoes -- size 10',
  'price: $10 - $20',
  'best pizza near me',
  'iphone 15 pro max 256gb',
  '"exact phrase" search',
  'email@example.com',
  'python list comprehension',
  'how to exit vim',
  'node.js fs readfile',
  'rust borrow checker error E0502',
  'what is /etc/hosts used for',
  'windows 11 update error 0x800f0922',
  '50% off sale',
  '100% cotton t-shirt',
  'Q&A session',
  'pros & cons of remote work',
  'R&D tax credit',
  "l'oreal shampoo",
  "mcdonald's breakfast hours",
  'café au lait',
  'naïve bayes classifier',
  'straße münchen',
  '東京 ホテル',
  'москва погода',
  'emoji 😀 meaning',
  'size 7 1/2',
  'cat food for kittens',
  'ping pong table',
  'curl hair without heat',
  'ls engine swap',
  'id card renewal',
  'the who tour dates',
  'kill bill vol 2',
  'echo dot 5th gen',
  'sh*t happens mug',
  'A|B testing tools',
  'find my phone',
  'head & shoulders',
  'tail lights for 2015 civic',
  'more or less',
  'type 2 diabetes diet',
  'sort by price: low to high',
  'less than 3 minutes',
  "what's the difference between 'or' and 'and'",
  '1 or 2 bedroom apartments',
  'win.ini windows 3.1 nostalgia',
  'script writing course',
  'iframe vs embed youtube',
  'onload event javascript',
  'dollar sign $(document).ready jquery',
  'x = y + 1',
  'a;b;c',
  'hello; world',
  'foo || bar',
  "'quoted'",
  'semi; colon',
  '(parentheses)',
  '[brackets]',
  '{braces}',
  'caret ^ symbol',
  'tilde ~ home',
  'under_score',
  'back\\slash',
  'percent 50%25',
  'plus+sign',
  'why is my css not loading',
  '--help flag',
  '-- separator',
  '#1 bestseller',
  'vol. 3 #12',
  'best sci-fi books of all time',
  'how to remove red wine stains',
  'is it "affect" or "effect"?',
  "who's playing tonight?",
  'london to paris train times',
  'macbook air m3 vs m2',
  'cheap flights to new york',
  'knitting patterns for beginners',
  'what time is it in tokyo',
  'recipe: mac & cheese',
  'wedding venues near me (outdoor)',
  'convert 5 km to miles',
  'vegan pad thai',
  'diy bookshelf plans',
  '2024 tax brackets',
];

const NAMES = [
  "Seán O'Connor",
  "D'Angelo Russell",
  'Jean-Luc Picard',
  "O'Reilly Media",
  "Mary-Jane O'Neil-Smith",
  'José García',
  'Zoë Kravitz',
  "N'Golo Kanté",
  "Ngũgĩ wa Thiong'o",
  'Dr. Martin Luther King, Jr.',
  "Conan O'Brien",
  "Shaquille O'Neal",
  'Björk Guðmundsdóttir',
  "Rosie O'Donnell",
  "Sinéad O'Connor",
];

const ADDRESSES = [
  "1 O'Connell St, Dublin 1",
  '221B Baker Street, London NW1 6XE',
  'Apt #4B, 350 5th Ave, New York, NY 10118',
  'P.O. Box 12, Springfield',
  'Unit 3/45 George St; Sydney NSW 2000',
  'c/o ACME Corp., Floor 2 -- Reception',
  "St. John's Wood Rd",
  "Rue de l'Église 5, 1000 Bruxelles",
];

const PRODUCTS = [
  "Ben & Jerry's Chunky Monkey",
  "M&M's Peanut 1kg",
  '<3 Valentine mug',
  'H&M slim fit jeans',
  'Dolce & Gabbana Light Blue',
  "Levi's 501 -- stonewash",
  '100% cotton tee (white) - size M',
  'Frame 10" x 12" oak',
  "Johnnie Walker 'Blue Label'",
  'USB-C to HDMI adapter 4K@60Hz',
  'Procter & Gamble gift set',
  'Select Comfort pillow',
  'Union Jack flag 3x5',
  'Drop Table Co. walnut side table',
  'Script font poster "Live, Laugh, Love"',
];

const QUERIES: [string, Record<string, string> | string][] = [
  ['/products', { page: '2', sort: 'price_asc', per_page: '24' }],
  ['/products', { category: 'shoes', size: '10', color: 'black', brand: 'nike,adidas' }],
  [
    '/blog/2024/04/how-we-cut-latency',
    { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'april-2024' },
  ],
  ['/login', { next: '/account/settings?tab=security' }],
  [
    '/oauth/callback',
    { code: '4/0AeaYSHA3kX9q-LmN2pQrStUvWxYz', state: 'af0ifjsldkj', scope: 'openid email profile' },
  ],
  ['/redirect', { url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s' }],
  [
    '/share',
    {
      u: 'https://blog.example.org/posts/why-select-and-union-are-hard?ref=hn',
      title: "Why 'SELECT' & 'UNION' are hard",
    },
  ],
  [
    '/api/v2/orders',
    { status: 'shipped', from: '2024-01-01', to: '2024-03-31', fields: 'id,total,customer.name' },
  ],
  ['/api/search', { filter: 'price>=10 AND price<=20', q: 'red dress' }],
  ['/maps', { ll: '51.5074,-0.1278', z: '14', q: 'coffee near Trafalgar Sq.' }],
  ['/track', { e: 'page_view', p: '/checkout/step-2', r: 'https://www.google.com/', sw: '1920', sh: '1080' }],
  ['/files', { path: '/documents/2024/report-q1.pdf' }],
  ['/download', { file: 'invoice-2024-0042.pdf' }],
  ['/docs', { page: 'getting-started' }],
  ['/view', { template: 'two-column', lang: 'en' }],
  ['/calendar', { date: '2024-04-25', view: 'week', tz: 'America/New_York' }],
  ['/compare', { ids: '123,456,789' }],
  ['/api/graphql', { query: '{ user(id: "42") { name email } }' }],
  ['/unsubscribe', { email: "o'brien@example.ie", token: 'c2VjcmV0LXRva2VuLTEyMw==' }],
  ['/feedback', { rating: '5', comment: 'Great service -- fast delivery & friendly staff!' }],
  ['/reviews', { text: "It's the best phone I've had; battery lasts 2 days #happy" }],
  ['/contact', { subject: 'Re: Order #12345 -- missing item', name: 'Jane Doe' }],
  ['/jobs', { q: 'senior engineer (remote) -- EU/UK', salary: '80k-100k' }],
  ['/forum/search', { q: 'error: "cannot read property \'id\' of undefined"' }],
  ['/search', { q: 'SELECT * FROM users WHERE id = 1' }],
  ['/math', { expr: '(2+3)*4 = 20' }],
  ['/convert', { from: 'USD', to: 'EUR', amount: '1,000.50' }],
  ['/weather', { city: 'Saint-Jean-de-Luz', units: 'metric' }],
  ['/ads/click', 'id=98765&redirect=https%3A%2F%2Fstore.example.com%2Fp%2F123%3Fsrc%3Dad'],
  ['/img/resize', 'src=https%3A%2F%2Fcdn.example.com%2Fimages%2Fhero.jpg&w=800&q=75'],
  ['/embed', 'url=https%3A%2F%2Fvimeo.com%2F76979871&autoplay=1'],
  ['/search', 'q=c%23+tutorial&page=1'],
  ['/search', 'q=%22hello+world%22+-spam'],
  ['/callback', 'returnTo=%2Fdashboard%3Ftab%3Doverview%26range%3D7d'],
  ['/wp-json/wp/v2/posts', '_fields=id,title,link&per_page=10&orderby=date&order=desc'],
  ['/api/items', 'filter[status]=active&filter[tags][]=new&filter[tags][]=sale&sort=-created_at'],
  ['/s', 'k=usb+c+hub&ref=nb_sb_noss&crid=2M096C61O4MLT'],
  ['/watch', 'v=9bZkp7q19f0&list=PL634F2B56B8C346A2&index=3'],
  ['/api/logs', 'level=error&since=2024-04-25T00%3A00%3A00Z&until=now'],
  ['/health', ''],
  ['/', ''],
  ['/favicon.ico', ''],
  ['/assets/app.3f9a1c.js', ''],
  ['/fonts/Inter-Regular.woff2', ''],
  ['/.well-known/openid-configuration', ''],
  ['/robots.txt', ''],
  ['/sitemap.xml', ''],
  ['/products/ben-jerrys-chunky-monkey-500ml', ''],
  ['/u/o%27brien', ''],
  ['/tags/c%23', ''],
  ['/wiki/Rock_%27n%27_roll', ''],
  ['/wiki/AT%26T', ''],
  ['/wiki/Union_(SQL)', ''],
  ['/files/My%20Documents/notes%20(1).txt', ''],
  ['/blog/what-is-../-in-a-path', ''],
  ['/café/menü', ''],
];

const API_HEADERS: [string, [string, string][]][] = [
  [
    '/api/v1/me',
    [
      [
        'authorization',
        'Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      ],
    ],
  ],
  [
    '/api/v1/orders',
    [
      ['x-request-id', '7f9c2ba4-e88f-4f1b-9c1d-2e6a3b4c5d6e'],
      ['x-forwarded-for', '203.0.113.7, 198.51.100.23'],
    ],
  ],
  [
    '/api/v1/search',
    [
      ['x-client-version', 'ios/5.12.0 (build 4521)'],
      ['x-device', "Jane's iPhone"],
    ],
  ],
  ['/api/v1/upload', [['x-file-name', 'Quarterly Report (final) -- v2.pdf']]],
  [
    '/api/v1/feed',
    [
      ['if-none-match', 'W/"5e15153d-120f"'],
      ['x-timezone', 'Europe/Berlin'],
    ],
  ],
  [
    '/api/v1/cart',
    [
      ['x-csrf-token', 'Qm3kP9sLx2RtV7wY1zA4bC6dE8fG0hJ'],
      ['origin', 'https://shop.example.com'],
    ],
  ],
  [
    '/api/v1/ping',
    [
      ['x-forwarded-proto', 'https'],
      ['x-real-ip', '198.51.100.23'],
      ['via', '1.1 varnish (Varnish/7.4)'],
    ],
  ],
  [
    '/webhooks/stripe',
    [
      [
        'stripe-signature',
        't=1714031234,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd',
      ],
    ],
  ],
  [
    '/api/v1/search',
    [['referer', 'https://www.google.com/search?q=o%27brien+select+union+plan&oq=o%27brien']],
  ],
  ['/api/v1/me', [['authorization', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l']]],
  ['/', [['user-agent', 'curl/8.4.0']]],
  ['/', [['user-agent', 'python-requests/2.31.0']]],
  ['/', [['user-agent', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)']]],
  ['/', [['user-agent', 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)']]],
  ['/', [['user-agent', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)']]],
  [
    '/',
    [
      [
        'user-agent',
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21E219 [FBAN/FBIOS;FBAV/460.0.0.36.107;FBBV/585123456;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_GB;FBOP/5]',
      ],
    ],
  ],
  ['/', [['user-agent', 'Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)']]],
  ['/', [['user-agent', 'Go-http-client/1.1']]],
  ['/', [['user-agent', 'okhttp/4.12.0']]],
  ['/', [['user-agent', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)']]],
  ['/', [['user-agent', 'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko']]],
  ['/', [['user-agent', 'Wget/1.21.4']]],
  ['/', [['user-agent', 'PostmanRuntime/7.37.3']]],
  [
    '/',
    [
      [
        'user-agent',
        'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
      ],
    ],
  ],
  [
    '/',
    [
      [
        'user-agent',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edge/44.18363.8131',
      ],
    ],
  ],
];

export const BENIGN: Benign[] = [
  ...SEARCHES.map((q) => get(`search: ${q}`, '/search', { q })),
  ...NAMES.map((name) => get(`name: ${name}`, '/members', { name })),
  ...ADDRESSES.map((address) =>
    get(`address: ${address}`, '/checkout/address', { line1: address, country: 'GB' }),
  ),
  ...PRODUCTS.map((p) => get(`product: ${p}`, '/search', { q: p, dept: 'all' })),
  ...QUERIES.map(([path, params]) => get(`browse: ${path}`, path, params)),
  ...API_HEADERS.map(([path, extra]) => get(`api: ${path} ${extra[0][0]}`, path, '', extra)),
  ...BENIGN_BODIES,
];
