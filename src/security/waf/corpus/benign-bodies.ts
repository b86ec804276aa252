/**
 * Benign requests with bodies: JSON APIs (orders, profiles, comments with rich-text HTML,
 * settings, analytics events, GraphQL), forms (login, sign-up, checkout, contact), multipart
 * uploads, Markdown posts, and code pasted into a developer forum's paste form (`paste: true`).
 */

import type { Benign } from './benign.ts';
import { BROWSER_HEADERS, BROWSER_UAS, formBody, jsonBody, multipartBody } from './build.ts';

let n = 0;
function post(
  note: string,
  path: string,
  b: { body: Uint8Array; contentType: string },
  paste = false,
): Benign {
  const ua = BROWSER_UAS[n++ % BROWSER_UAS.length];
  return {
    note,
    paste,
    req: {
      method: 'POST',
      path,
      query: '',
      headers: [
        ...BROWSER_HEADERS,
        ['user-agent', ua],
        ['content-type', b.contentType],
        ['origin', 'https://shop.example.com'],
        ['cookie', 'session=eyJ1aWQiOjQyfQ.ZiYx2Q.k3Jb7uYbF0Kp9pR2m1x8sQvW0aE; theme=light'],
      ],
      body: b.body,
      contentType: b.contentType,
    },
  };
}

const JSON_BODIES: [string, string, unknown][] = [
  [
    'order',
    '/api/orders',
    {
      items: [
        { sku: 'TS-001', qty: 2, price: 19.99 },
        { sku: 'MUG-<3', qty: 1 },
      ],
      coupon: 'SPRING-24',
      notes: "Leave at the back door -- dog's friendly!",
    },
  ],
  [
    'profile',
    '/api/profile',
    {
      name: "Seán O'Connor",
      bio: 'Engineer @ ACME; runner; dad of 2. #coffee',
      website: 'https://sean.example.ie/?ref=profile',
      location: 'Cork',
    },
  ],
  [
    'comment with html',
    '/api/comments',
    {
      postId: 7,
      html: '<p>Thanks! See <a href="https://docs.example.com/guide#step-3" target="_blank" rel="noopener">step 3</a> &amp; <strong>bold</strong> text.</p><img src="https://cdn.example.com/u/42/pic.png" alt="my setup">',
    },
  ],
  [
    'comment prose',
    '/api/comments',
    {
      postId: 9,
      text: "I don't think 'select' and 'union' mean the same thing -- do they? Either way, great article!",
    },
  ],
  [
    'settings',
    '/api/settings',
    { theme: 'dark', notifications: { email: true, sms: false }, quietHours: '22:00-07:00', locale: 'en-GB' },
  ],
  [
    'analytics',
    '/api/events',
    {
      event: 'add_to_cart',
      props: { product: "Ben & Jerry's", price: 4.5, path: '/products/ice-cream?flavour=chunky+monkey' },
      ts: 1714031234567,
    },
  ],
  [
    'graphql',
    '/graphql',
    {
      query:
        'query Product($id: ID!) { product(id: $id) { id name price reviews(first: 5) { edges { node { rating text } } } } }',
      variables: { id: 'UHJvZHVjdDox' },
    },
  ],
  [
    'graphql mutation',
    '/graphql',
    {
      query: 'mutation AddReview($input: ReviewInput!) { addReview(input: $input) { id } }',
      variables: { input: { rating: 5, text: "Best purchase I've made this year; 10/10 would buy again" } },
    },
  ],
  [
    'search api',
    '/api/search',
    {
      q: 'select the best union plan',
      filters: { category: ['insurance', 'health'], priceMax: 200 },
      sort: 'relevance',
    },
  ],
  [
    'address',
    '/api/address',
    { line1: 'Apt #4B, 350 5th Ave', line2: "c/o O'Brien", city: 'New York', zip: '10118' },
  ],
  [
    'chat message',
    '/api/messages',
    {
      to: 'support',
      text: 'Hi! My order #4521 says "delivered" but nothing arrived :( -- can you check? Thanks <3',
    },
  ],
  [
    'task',
    '/api/tasks',
    {
      title: 'Fix login bug (users with apostrophes in email)',
      labels: ['bug', 'p1'],
      assignee: 'jdoe',
      due: '2024-05-01',
    },
  ],
  [
    'feedback',
    '/api/feedback',
    { score: 9, reason: "App's great; the search is a bit slow though. Maybe index by date?" },
  ],
  [
    'invoice',
    '/api/invoices',
    {
      customer: 'Procter & Gamble',
      lines: [{ desc: 'Consulting -- April', hours: 12.5, rate: 150 }],
      currency: 'EUR',
    },
  ],
  [
    'calendar',
    '/api/events',
    {
      title: "Team lunch @ Nando's",
      start: '2024-04-26T12:30:00+01:00',
      attendees: ['ana@example.com', "o'neil@example.com"],
    },
  ],
  [
    'unicode',
    '/api/notes',
    { text: '日本語のテキスト、Ελληνικά, русский текст, emoji 🎉🔥, math ∑ x² ≤ 10' },
  ],
  [
    'webhook',
    '/webhooks/github',
    {
      action: 'opened',
      pull_request: {
        title: 'Fix: handle `--` in CLI args',
        body: 'Closes #123. Tested with `npm test -- --watch`.',
        user: { login: 'octocat' },
      },
    },
  ],
  [
    'nested',
    '/api/forms',
    {
      answers: [
        { q: 'Favourite SQL keyword?', a: 'SELECT, obviously' },
        { q: 'Tabs or spaces?', a: "Spaces -- but I won't fight about it" },
      ],
    },
  ],
  [
    'recipe',
    '/api/recipes',
    {
      title: "Grandma's apple pie",
      steps: ['Preheat oven to 180°C', 'Mix flour & butter', 'Bake 45 min; let cool'],
      tags: ['dessert', 'baking'],
    },
  ],
  [
    'review',
    '/api/reviews',
    { stars: 4, text: 'Good quality. Size runs small -- order 1 up. Colour is "navy" not black.' },
  ],
  [
    'markdown post',
    '/api/posts',
    {
      title: 'Weekly update #14',
      body: "# Weekly update\n\n## What shipped\n- Faster search (p95 -40%)\n- Fixed the `O'Brien` bug -- names with apostrophes now save\n\n## Next\n1. Dark mode\n2. CSV export\n\n| id | name | status |\n|----|------|--------|\n| 1 | search | done |\n| 2 | export | todo |\n\n> Note: see [the docs](https://docs.example.com/changelog) for details.\n",
    },
  ],
  [
    'markdown question',
    '/api/questions',
    {
      title: 'How do I read a file line by line in C#?',
      body: 'I tried `File.ReadAllLines(path)` but it loads everything.\n\n```csharp\nforeach (var line in File.ReadLines("data.txt"))\n{\n    Console.WriteLine(line);\n}\n```\n\nIs there something better for huge files? -- thanks!',
    },
  ],
  [
    'markdown with relative link',
    '/api/posts',
    { body: 'See [the setup guide](../guides/setup.md) and run `ls -la` to check the files.' },
  ],
  [
    'f# question',
    '/api/questions',
    {
      title: 'F# pattern matching on lists',
      body: 'let rec sum = function\n| [] -> 0\n| x :: xs -> x + sum xs\n\nWhy does this warn?',
    },
  ],
  [
    'email compose',
    '/api/mail',
    {
      to: 'team@example.com',
      subject: 'Re: Q2 plan -- union of both proposals?',
      body: "Hi all,\n\nLet's select the best parts of each & merge; I'll drop the rest.\n\n-- \nMaria",
    },
  ],
  ['json with nulls', '/api/profile', { name: 'Sam', middleName: null, age: 31, verified: true, tags: [] }],
  [
    'long text',
    '/api/notes',
    { text: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(200) },
  ],
  [
    'cart update',
    '/api/cart',
    {
      lines: [{ id: 'gid://shop/ProductVariant/4242', quantity: 3 }],
      note: "Gift wrap please -- it's for my mum!",
    },
  ],
  [
    'shipping quote',
    '/api/shipping/quote',
    {
      from: { zip: '10118' },
      to: { zip: 'SW1A 1AA', country: 'GB' },
      parcels: [{ weightKg: 1.2, dims: '30x20x10' }],
    },
  ],
  [
    'search filters',
    '/api/search',
    {
      q: 'drop-leaf table',
      filters: { material: ['oak', 'walnut'], price: { gte: 100, lte: 500 } },
      page: 1,
    },
  ],
  [
    'user prefs',
    '/api/prefs',
    {
      shortcuts: { save: 'Ctrl+S', 'select-all': 'Ctrl+A', undo: 'Ctrl+Z' },
      editor: { tabSize: 2, wordWrap: 'on' },
    },
  ],
  [
    'error report',
    '/api/errors',
    {
      message: "TypeError: Cannot read properties of undefined (reading 'id')",
      stack: 'at render (app.js:12:5)\nat commit (react-dom.js:400:9)',
      url: 'https://shop.example.com/cart?step=2',
    },
  ],
  [
    'oauth token',
    '/oauth/token',
    {
      grant_type: 'authorization_code',
      code: '4/0AeaYSHA3kX9q-LmN2pQrStUvWxYz',
      redirect_uri: 'https://app.example.com/callback',
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    },
  ],
  [
    'translation',
    '/api/i18n',
    {
      key: 'cart.empty',
      en: "Your cart's empty -- let's fix that!",
      fr: "Votre panier est vide — on s'en occupe !",
      de: 'Ihr Warenkorb ist leer',
    },
  ],
  [
    'forum reply',
    '/api/replies',
    {
      body: '+1 to what @sam said. Also: make sure your `.gitignore` excludes `node_modules/` -- learned that the hard way :)',
    },
  ],
  [
    'bug report',
    '/api/issues',
    {
      title: 'Crash when name contains & or <',
      steps: "1. Go to Profile\n2. Enter 'Tom & Jerry <3'\n3. Save -> white screen",
      severity: 'high',
    },
  ],
  [
    'recipe scaling',
    '/api/recipes/scale',
    { factor: 1.5, ingredients: ['2 cups flour', '1/2 tsp salt', '3 tbsp butter (softened)'] },
  ],
  [
    'meeting notes',
    '/api/notes',
    {
      text: 'Decisions:\n- Ship v2 on Monday\n- Drop the legacy table view\n- Select a new CI provider (GitHub Actions vs. CircleCI)\n\nAction items: @ana -> update docs; @raj -> benchmark union-find impl',
    },
  ],
  [
    'security question',
    '/api/questions',
    {
      title: 'How do I stop SQL injection in my login form?',
      body: "Someone typed ' OR 1=1 -- into the username box and got in. I'm using string concatenation in PHP. What's the right fix?",
    },
  ],
  [
    'xss writeup',
    '/api/comments',
    {
      text: 'Reported to the vendor: the search box reflected `<script>alert(1)</script>` unescaped. Fixed in 2.3.1.',
    },
  ],
  [
    'json patch',
    '/api/docs/42',
    [
      { op: 'replace', path: '/title', value: 'Union Jack' },
      { op: 'add', path: '/tags/-', value: 'uk' },
    ],
  ],
  [
    'geojson',
    '/api/places',
    {
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [-0.1276, 51.5072] },
      properties: { name: 'Trafalgar Sq.' },
    },
  ],
  [
    'csv in json',
    '/api/import',
    { csv: 'id,name,email\n1,Ann,ann@example.com\n2,"O\'Brien, Pat",pat@example.com\n' },
  ],
];

const FORMS: [string, string, Record<string, string>][] = [
  ['login', '/login', { username: 'jdoe', password: 'Tr0ub4dor&3', remember: 'on' }],
  [
    'login apostrophe',
    '/login',
    { username: "o'brien@example.ie", password: 'correct horse battery staple' },
  ],
  ['login symbols', '/login', { username: 'admin_user', password: 'p@$$w0rd!#2024' }],
  [
    'signup',
    '/signup',
    { name: "Mary-Jane O'Neil", email: 'mj@example.com', password: 'S3cure;Pass--word', company: 'AT&T' },
  ],
  [
    'checkout',
    '/checkout',
    {
      name: 'José García',
      address: "1 O'Connell St, Apt #2",
      city: 'Dublin',
      notes: 'Ring twice -- buzzer broken; leave with neighbour at #3',
    },
  ],
  [
    'contact',
    '/contact',
    {
      name: 'Jane',
      message:
        "Hello,\n\nI'd like to order 3 mugs (the '<3' design). Can you ship to Canada?\n\nThanks -- Jane",
    },
  ],
  ['search form', '/search', { q: 'union select committee report 2023', type: 'documents' }],
  ['newsletter', '/subscribe', { email: 'news+shop@example.com', interests: 'c#,f#,rust' }],
  [
    'comment form',
    '/comments',
    {
      author: 'Rock & Roll Fan',
      body: "Rock 'n' roll will never die! Best album: #1 -- no contest.",
      post: '42',
    },
  ],
  [
    'survey',
    '/survey',
    { q1: 'Yes', q2: 'Sometimes; depends on the weather', q3: '5', other: 'Keep it up :)' },
  ],
  [
    'profile form',
    '/profile',
    {
      display_name: "D'Angelo",
      bio: 'Dev. I write C, C++, C# & F#. Opinions my own.',
      url: 'https://dangelo.example.dev',
    },
  ],
  [
    'booking',
    '/book',
    {
      date: '2024-05-10',
      time: '19:30',
      guests: '4',
      request: "Window table if possible; it's our anniversary <3",
    },
  ],
  [
    'support ticket',
    '/support',
    {
      subject: 'Export fails',
      details: 'Steps: Settings > Export > CSV. Error "file:// URLs are not supported". Browser: Chrome 124.',
    },
  ],
  [
    'address form',
    '/address',
    { line1: 'Unit 3/45 George St', line2: 'Level 2 -- Suite 201', state: 'NSW', postcode: '2000' },
  ],
  ['poll', '/poll', { option: 'Tabs', comment: 'Tabs > spaces. Fight me ;)' }],
  [
    'password reset',
    '/reset',
    { email: 'ann@example.com', password: "N3w-P@ss'w0rd", confirm: "N3w-P@ss'w0rd" },
  ],
  [
    'gift message',
    '/gift',
    { to: 'Mum', message: "Happy birthday!! Love you lots <3 <3 -- x\n(P.S. don't eat it all at once)" },
  ],
  [
    'event rsvp',
    '/rsvp',
    { name: 'Jean-Luc', guests: '2', diet: 'vegetarian; no nuts', song: "Rock 'n' Roll (Led Zeppelin)" },
  ],
  [
    'donation',
    '/donate',
    { amount: '25.00', currency: 'GBP', dedication: 'In memory of Grandpa Joe -- "always curious"' },
  ],
  [
    'quote request',
    '/quote',
    {
      company: 'Smith & Sons Ltd.',
      needs: 'Replace 3 windows; repaint hall & stairs; 2-3 days?',
      budget: '£2,000-£3,000',
    },
  ],
];

const MULTIPART: [string, [string, string, string?][]][] = [
  [
    'avatar upload',
    [
      ['display_name', "Seán O'Connor"],
      ['avatar', '\u00ff\u00d8\u00ff\u00e0 JFIF binary', 'me (1).jpg'],
    ],
  ],
  [
    'document upload',
    [
      ['title', 'Q1 report -- final'],
      ['file', '%PDF-1.7 ...', 'Q1 Report (final).pdf'],
    ],
  ],
  [
    'listing',
    [
      ['title', 'Sofa & armchair set'],
      ['description', 'Good condition; minor wear on left arm. Pick-up only -- no delivery.'],
      ['price', '150'],
    ],
  ],
  [
    'application',
    [
      ['name', 'Zoë Kravitz'],
      [
        'cover_letter',
        "Dear team,\n\nI'm applying for the role of #1 fan... just kidding -- Senior Engineer.\n\nBest,\nZoë",
      ],
      ['cv', 'binary', 'CV_Zoe.docx'],
    ],
  ],
  [
    'photo caption',
    [
      ['caption', 'Sunset @ the pier <3 #nofilter'],
      ['photo', 'binary', 'IMG_2024-04-25.heic'],
    ],
  ],
];

/** Code pasted into a developer forum's paste form: the kind of text WAF rules are about. */
const PASTES: [string, string][] = [
  [
    'js fetch',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: pasted code that holds a template literal
    "async function load(id) {\n  const res = await fetch(`/api/items/${id}`);\n  if (!res.ok) throw new Error('failed: ' + res.status);\n  return res.json();\n}\n",
  ],
  [
    'js dom',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: pasted code that holds a template literal
    "document.querySelector('#btn').addEventListener('click', () => {\n  const name = input.value.trim();\n  out.textContent = `Hello, ${name}!`;\n});\n",
  ],
  [
    'python script',
    "import os\nimport sys\n\ndef main():\n    path = sys.argv[1] if len(sys.argv) > 1 else '.'\n    for name in os.listdir(path):\n        if name == 'a' or name == 'b':\n            print(name)\n\nif __name__ == '__main__':\n    main()\n",
  ],
  [
    'sql query',
    "SELECT u.id, u.name, COUNT(o.id) AS orders\nFROM users u\nLEFT JOIN orders o ON o.user_id = u.id\nWHERE u.status = 'active' AND u.created_at > '2024-01-01'\nGROUP BY u.id, u.name\nORDER BY orders DESC\nLIMIT 10;\n",
  ],
  [
    'sql union',
    "SELECT name FROM customers WHERE country = 'DE'\nUNION\nSELECT name FROM suppliers WHERE country = 'DE';\n",
  ],
  [
    'shell script',
    '#!/bin/bash\nset -euo pipefail\nfor f in *.log; do\n  gzip "$f"\ndone\nls -la /var/log | head -n 20\n',
  ],
  [
    'go',
    'package main\n\nimport "fmt"\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tfmt.Println("hi", i)\n\t}\n}\n',
  ],
  [
    'rust',
    'fn main() {\n    let v: Vec<i32> = (1..=10).filter(|x| x % 2 == 0).collect();\n    println!("{:?}", v);\n}\n',
  ],
  [
    'css',
    '.btn:hover { color: #fff; background: linear-gradient(90deg, #f00 0%, #00f 100%); }\n@media (max-width: 600px) { .btn { width: 100%; } }\n',
  ],
  [
    'html snippet',
    '<!doctype html>\n<html>\n<head><title>Demo</title></head>\n<body>\n  <h1>Hello</h1>\n  <p>World</p>\n</body>\n</html>\n',
  ],
  [
    'yaml',
    'version: "3.9"\nservices:\n  web:\n    image: nginx:1.25\n    ports:\n      - "8080:80"\n    volumes:\n      - ./site:/usr/share/nginx/html:ro\n',
  ],
  [
    'dockerfile',
    'FROM node:20-alpine\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\nCMD ["node", "server.js"]\n',
  ],
  [
    'c',
    "#include <stdio.h>\n\nint main(void) {\n    char c = getchar();\n    if (c == 'a' || c == 'b') printf(\"ok\\n\");\n    return 0;\n}\n",
  ],
  [
    'java',
    'public class Main {\n    public static void main(String[] args) {\n        String s = args.length > 0 ? args[0] : "none";\n        System.out.println("arg: " + s);\n    }\n}\n',
  ],
  ['php', "<?php\n$name = htmlspecialchars($_GET['name'] ?? 'world');\necho \"Hello, $name\";\n"],
  [
    'react',
    'export function Button({ label, onClick }) {\n  return <button className="btn" onClick={onClick}>{label}</button>;\n}\n',
  ],
];

export const BENIGN_BODIES: Benign[] = [
  ...JSON_BODIES.map(([note, path, v]) => post(`json: ${note}`, path, jsonBody(v))),
  ...FORMS.map(([note, path, f]) => post(`form: ${note}`, path, formBody(f))),
  ...MULTIPART.map(([note, fields]) => post(`multipart: ${note}`, '/api/upload', multipartBody(fields))),
  ...PASTES.map(([note, code]) =>
    post(
      `paste: ${note}`,
      '/api/paste/new',
      formBody({ title: note, language: note.split(' ')[0], code }),
      true,
    ),
  ),
];
