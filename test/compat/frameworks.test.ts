// Framework templates of create-cloudflare whose build runs on Node 20: the React template
// (Vite's react-ts, with the template's files and @cloudflare/vite-plugin), built with
// `vite build` as `npm run build` does and served unchanged by `outpost dev` from the
// `.wrangler/deploy/config.json` redirect the build writes (docs/compat.md).
//
// create-cloudflare runs create-vite for the rest of the project; the few files create-vite
// would write (index.html, main.tsx, stylesheets, images) are made here, minimal, so no
// generator runs at test time. The packages (vite, react, the plugin) are pinned devDependencies.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from '../helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TEMPLATE = join(ROOT, 'node_modules', 'create-cloudflare', 'templates', 'react', 'workers', 'ts');

/** What create-vite's react-ts template gives the React template to build on. */
const CREATE_VITE: Record<string, string> = {
  'index.html':
    '<!doctype html>\n<html lang="en"><head><meta charset="UTF-8" /><title>c3 react</title></head>\n<body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n',
  'src/main.tsx':
    "import { StrictMode } from 'react';\nimport { createRoot } from 'react-dom/client';\nimport './index.css';\nimport App from './App.tsx';\n\ncreateRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);\n",
  'src/index.css': 'body { margin: 0; }\n',
  'src/App.css': '#root { text-align: center; }\n',
  'src/assets/react.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  'src/assets/vite.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  'src/assets/hero.png': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  'public/vite.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  // What create-cloudflare's React template does to vite.config.ts: add the Cloudflare plugin.
  'vite.config.ts':
    "import { defineConfig } from 'vite';\nimport react from '@vitejs/plugin-react';\nimport { cloudflare } from '@cloudflare/vite-plugin';\n\nexport default defineConfig({ plugins: [react(), cloudflare()] });\n",
};

let dir: string;
let dev: TestDev;

before(async () => {
  dir = mkdtempSync(join(import.meta.dirname, '.c3-react-'));
  for (const [p, text] of Object.entries(CREATE_VITE)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  cpSync(TEMPLATE, dir, { recursive: true });
  const config = join(dir, 'wrangler.jsonc');
  writeFileSync(
    config,
    readFileSync(config, 'utf8')
      .replaceAll('<WORKER_NAME>', 'c3-react')
      .replaceAll('<COMPATIBILITY_DATE>', '2025-09-01'),
  );
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'error'],
    {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    },
  );
  dev = await startFixture(dir, { limits: { cpuMs: 1000 }, buildRoot: ROOT });
});
after(async () => {
  await dev?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const navigate = (path: string) =>
  new Promise<string>((resolve, reject) =>
    http
      .get(`${dev.url}${path}`, { headers: { 'sec-fetch-mode': 'navigate' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject),
  );

describe('create-cloudflare React template (Vite + @cloudflare/vite-plugin)', () => {
  it('the build wrote the deploy redirect Outpost follows', () => {
    assert.ok(existsSync(join(dir, '.wrangler', 'deploy', 'config.json')));
  });

  it('serves the client from dist/client, the API from the worker, and client routes as the app', async () => {
    const home = await (await fetch(`${dev.url}/`)).text();
    assert.match(home, /<div id="root"><\/div>/);
    const script = readdirSync(join(dir, 'dist', 'client', 'assets')).find((f) =>
      f.endsWith('.js'),
    ) as string;
    const js = await fetch(`${dev.url}/assets/${script}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.deepEqual(await (await fetch(`${dev.url}/api/`)).json(), { name: 'Cloudflare' });
    // single-page-application: a navigation to a client route gets the app, other requests the worker.
    assert.match(await navigate('/some/client/route'), /<div id="root"><\/div>/);
    assert.equal((await fetch(`${dev.url}/some/client/route`)).status, 404);
  });
});
