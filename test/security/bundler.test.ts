// The bundler reads only files under the build root (src/runtime/bundle-confine.ts). Each attack
// here once put a host file into a worker's bundle: the process environment with the admin
// token, another project's .dev.vars, Outpost's own .outpost/admin.json. Each is now refused
// with a build error naming the import and the file that made it, and showing nothing of the
// file; legitimate projects (fixtures, npm packages, a monorepo's workspaces) still build.
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { BundleError, bundleWorker } from '../../src/runtime/index.ts';
import { FIXTURES, startFixture } from '../helpers.ts';

const REPO = join(import.meta.dirname, '..', '..');
/** What every file outside the projects holds; no build error may show it. */
const SECRET = 'outside-secret-7f3a9c';

let base: string;
/** A folder beside the projects: any host file, or another tenant's project. */
let outside: string;

function write(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [name, contents] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), contents);
  }
}

let count = 0;
/** A project in a fresh folder: wrangler.toml naming src/index.js (plus `toml`), and `files`. */
function project(files: Record<string, string | Uint8Array>, toml = ''): string {
  const dir = join(base, `project-${++count}`);
  write(dir, { 'wrangler.toml': `name = "attack-${count}"\nmain = "src/index.js"\n${toml}`, ...files });
  return dir;
}

/** A project whose main is `source`. */
const worker = (source: string, toml = '') => project({ 'src/index.js': source }, toml);

/** A project whose main imports `spec` (with `attributes`) and answers with it. */
const importing = (spec: string, attributes = '') =>
  worker(
    `import x from ${JSON.stringify(spec)}${attributes};\nexport default { fetch: () => new Response(String(x)) };\n`,
  );

const bundle = (dir: string, root?: string) => bundleWorker(loadConfig(dir, { warn: () => {} }), { root });

/** The build fails with a BundleError matching `pattern` and showing nothing of the secret. */
async function refused(dir: string, pattern: RegExp, root?: string): Promise<string> {
  let message = '';
  await assert.rejects(bundle(dir, root), (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${(err as Error)?.stack ?? err}`);
    message = err.message;
    return true;
  });
  assert.match(message, pattern);
  assert.ok(!message.includes(SECRET), `the error shows the file's contents: ${message}`);
  return message;
}

const quoted = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** The refusal of `spec` imported by src/index.js because of `why`. */
const refusal = (spec: string, why: string) =>
  new RegExp(`Import "${quoted(spec)}" in src/index\\.js is refused: ${why}`);
const OUTSIDE = 'the file is outside the build root ';
const LINKED = 'it is a symbolic link to a file outside the build root ';
const RESERVED = `"outpost:" specifiers and "\\?outpost-" suffixes are reserved for Outpost's own generated code`;

before(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'outpost-bundler-')));
  outside = join(base, 'outside');
  write(outside, {
    'secret.txt': SECRET,
    'secret.html': `<p>${SECRET}</p>`,
    'secret.bin': SECRET,
    'secret.wasm': SECRET,
    'secret.js': `export default ${JSON.stringify(SECRET)};\n`,
    'secret.js.map': JSON.stringify({ version: 3, sources: [`${SECRET}.ts`], names: [], mappings: '' }),
    'tsconfig.base.json': JSON.stringify({ compilerOptions: { jsxFactory: SECRET } }),
    '.dev.vars': `OTHER_SECRET=${SECRET}\n`,
    '.outpost/admin.json': JSON.stringify({ token: SECRET }),
  });
});
after(() => rmSync(base, { recursive: true, force: true }));

describe('attacks on the bundler: each refused with a build error', () => {
  it('an absolute import of /proc/self/environ (the host environment, admin token included)', async () => {
    const dir = importing('/proc/self/environ');
    await refused(
      dir,
      new RegExp(`^src/index\\.js:1:\\d+: ${refusal('/proc/self/environ', OUTSIDE).source}`),
    );
    // The same from a module with top-level await (bundled in two passes).
    const tla = worker(
      "await 0;\nimport env from '/proc/self/environ';\nexport default { fetch: () => new Response(env) };\n",
    );
    await refused(tla, refusal('/proc/self/environ', OUTSIDE));
  });

  it("Outpost's internal import forms: ?outpost-bytes suffixes, outpost:runtime, outpost:entry", async () => {
    for (const spec of [
      '/proc/self/environ?outpost-bytes',
      `${outside}/secret.txt?outpost-bytes`,
      './index.js?outpost-bytes',
      'outpost:runtime',
      'outpost:entry',
      'outpost:bytes',
    ])
      await refused(importing(spec), refusal(spec, RESERVED));
    // From CommonJS, and in a service-worker script (bundled as CommonJS).
    const cjs = project({
      'src/index.js':
        "import x from './lib.cjs';\nexport default { fetch: () => new Response(String(x)) };\n",
      'src/lib.cjs': "module.exports = require('outpost:runtime');\n",
    });
    await refused(cjs, new RegExp(`Import "outpost:runtime" in src/lib\\.cjs is refused: ${RESERVED}`));
    const script = worker(
      "const r = require('/proc/self/environ?outpost-bytes');\naddEventListener('fetch', (e) => e.respondWith(new Response(r)));\n",
    );
    await refused(script, refusal('/proc/self/environ?outpost-bytes', RESERVED));
  });

  it("a ../../ escape to another project's file (fixture bundler-escape)", async () => {
    const spec = '../../bundler-victim/src/secret.txt';
    const message = await refused(
      join(FIXTURES, 'bundler-escape'),
      new RegExp(`^src/index\\.js:2:\\d+: ${refusal(spec, OUTSIDE).source}`),
    );
    assert.ok(!message.includes('victim-secret-text'));
    // Any number of levels up, to a host file.
    const deep = '../../../../../../../../../../etc/passwd';
    await refused(importing(deep), refusal(deep, OUTSIDE));
  });

  it("another project's .dev.vars, this project's own .dev.vars and .outpost/admin.json, even as bytes", async () => {
    const victim = join(FIXTURES, 'bundler-victim', '.dev.vars');
    const message = await refused(importing(victim, " with { type: 'bytes' }"), refusal(victim, OUTSIDE));
    assert.ok(!message.includes('victim-dev-vars-secret'));
    const admin = `${outside}/.outpost/admin.json`;
    await refused(importing(admin), refusal(admin, OUTSIDE));
    // Under the project's own folder, Outpost's state and the secrets file are refused too.
    const own = project({
      'src/index.js':
        "import v from '../.dev.vars' with { type: 'bytes' };\nexport default { fetch: () => new Response(v) };\n",
      '.dev.vars': `MY_SECRET=${SECRET}\n`,
    });
    await refused(
      own,
      refusal('../.dev.vars', '\\.dev\\.vars holds secrets, which reach a worker as env bindings'),
    );
    const state = project({
      'src/index.js':
        "import a from '../.outpost/admin.json';\nexport default { fetch: () => Response.json(a) };\n",
      '.outpost/admin.json': JSON.stringify({ token: SECRET }),
    });
    await refused(state, refusal('../.outpost/admin.json', "files in \\.outpost/ are Outpost's state"));
  });

  it('a symbolic link inside the project to a file outside, or to a folder outside', async () => {
    const file = importing('./link.txt');
    symlinkSync(join(outside, 'secret.txt'), join(file, 'src', 'link.txt'));
    await refused(file, refusal('./link.txt', LINKED));
    const folder = importing('./lib/secret.js');
    symlinkSync(outside, join(folder, 'src', 'lib'));
    await refused(folder, refusal('./lib/secret.js', LINKED));
  });

  it('.wasm, .wasm?module, .bin, .txt and .html imports of a host file', async () => {
    for (const name of ['secret.wasm', 'secret.wasm?module', 'secret.bin', 'secret.txt', 'secret.html']) {
      const spec = `${outside}/${name}`;
      await refused(importing(spec), refusal(spec, OUTSIDE));
    }
    // Relative, through a link.
    const linked = importing('./add.wasm');
    symlinkSync(join(outside, 'secret.wasm'), join(linked, 'src', 'add.wasm'));
    await refused(linked, refusal('./add.wasm', LINKED));
  });

  it("require('/etc/passwd'), from CommonJS and from a service-worker script", async () => {
    const cjs = project({
      'src/index.js': "import p from './lib.cjs';\nexport default { fetch: () => new Response(p) };\n",
      'src/lib.cjs': "module.exports = require('/etc/passwd');\n",
    });
    await refused(
      cjs,
      new RegExp(`^src/lib\\.cjs:1:\\d+: Import "/etc/passwd" in src/lib\\.cjs is refused: ${OUTSIDE}`),
    );
    const script = worker(
      "const p = require('/etc/passwd');\naddEventListener('fetch', (e) => e.respondWith(new Response(p)));\n",
    );
    await refused(script, refusal('/etc/passwd', OUTSIDE));
  });

  it('import() of a literal path outside, and a glob import() that reaches outside', async () => {
    const literal = worker(
      "export default { async fetch() { return new Response((await import('/etc/passwd')).default); } };\n",
    );
    await refused(literal, refusal('/etc/passwd', OUTSIDE));
    // esbuild resolves a template-literal import() to every file it matches, without plugins.
    const glob = worker(
      [
        'export default {',
        '  async fetch(request) {',
        "    const name = new URL(request.url).searchParams.get('f');",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: worker source with a template literal
        '    return new Response((await import(`../../outside/${name}.js`)).default);',
        '  },',
        '};',
        '',
      ].join('\n'),
    );
    await refused(glob, new RegExp(`Reading "\\.\\./outside/secret\\.js" is refused: ${OUTSIDE}`));
  });

  it('a main outside the project, and an npm package whose package.json leads outside', async () => {
    const main = join(base, 'main-outside');
    const path = join(outside, 'secret.js');
    write(main, { 'wrangler.toml': `name = "main-outside"\nmain = ${JSON.stringify(path)}\n` });
    await refused(
      main,
      new RegExp(`^Import "${quoted(path)}" \\(the config's main\\) is refused: ${OUTSIDE}`),
    );
    const pkg = project({
      'src/index.js': "import s from 'evil';\nexport default { fetch: () => new Response(s) };\n",
      'node_modules/evil/package.json': JSON.stringify({ name: 'evil', main: '../../../outside/secret.js' }),
    });
    await refused(pkg, refusal('evil', OUTSIDE));
  });

  it('a tsconfig.json that extends a file outside the root, or links to one', async () => {
    const index = 'export default { fetch: () => new Response("x") };\n';
    const abs = project({ 'src/index.js': index, 'tsconfig.json': '{ "extends": "/proc/self/environ" }' });
    await refused(
      abs,
      new RegExp(`^tsconfig\\.json: "extends": "/proc/self/environ" is refused: ${OUTSIDE}`),
    );
    const rel = project({
      'src/index.js': index,
      'src/tsconfig.json': JSON.stringify({ extends: ['./base.json', '../../outside/tsconfig.base'] }),
      'src/base.json': '{}',
    });
    await refused(
      rel,
      new RegExp(
        `^src/tsconfig\\.json: "extends": "\\.\\./\\.\\./outside/tsconfig\\.base" is refused: ${OUTSIDE}`,
      ),
    );
    const linked = worker(index);
    symlinkSync(join(outside, 'tsconfig.base.json'), join(linked, 'tsconfig.json'));
    await refused(
      linked,
      /^tsconfig\.json is refused: it is a symbolic link to a file outside the build root /,
    );
  });

  it('a package.json linked to a host file: the parse error esbuild reports shows none of it', async () => {
    const token = 'HostToken7f3a9c';
    write(outside, { 'not-json': `${token}=1\n` });
    const dir = importing('linked');
    mkdirSync(join(dir, 'node_modules', 'linked'), { recursive: true });
    symlinkSync(join(outside, 'not-json'), join(dir, 'node_modules', 'linked', 'package.json'));
    const message = await refused(dir, /could not be parsed \(its text is not shown\)/);
    assert.ok(!message.includes(token), message);
  });

  it('a sourceMappingURL comment that names a file outside', async () => {
    const map = join(outside, 'secret.js.map');
    for (const url of [map, `file://${map}`, '../../outside/secret.js.map']) {
      const dir = worker(`export default { fetch: () => new Response("x") };\n//# sourceMappingURL=${url}\n`);
      await refused(
        dir,
        new RegExp(`^src/index\\.js: the file its sourceMappingURL comment names is refused: ${OUTSIDE}`),
      );
    }
  });

  it("process.env in source does not carry the builder's environment", async () => {
    process.env.OUTPOST_BUNDLER_CANARY = SECRET;
    try {
      const dir = worker(
        [
          "import process from 'node:process';",
          'export default {',
          '  fetch: () =>',
          '    Response.json({',
          '      imported: process.env.OUTPOST_BUNDLER_CANARY ?? null,',
          '      global: globalThis.process?.env?.OUTPOST_BUNDLER_CANARY ?? null,',
          '    }),',
          '};',
          '',
        ].join('\n'),
        'compatibility_flags = ["nodejs_compat"]\n',
      );
      const built = await bundle(dir);
      assert.ok(!built.code.includes(SECRET), "the builder's environment is in the bundle");
      const dev = await startFixture(dir);
      try {
        assert.deepEqual(await (await fetch(`${dev.url}/`)).json(), { imported: null, global: null });
      } finally {
        await dev.close();
      }
    } finally {
      delete process.env.OUTPOST_BUNDLER_CANARY;
    }
  });
});

describe('legitimate projects still build', () => {
  it('the fixtures: data modules, npm packages with export conditions, node:*, top-level await, scripts', async () => {
    for (const name of [
      'modules-imports',
      'npm-deps',
      'node-compat',
      'module-interop',
      'top-level-await',
      'service-worker',
      'durable',
      'api',
      'bundler-victim',
    ])
      await assert.doesNotReject(bundle(join(FIXTURES, name)), name);
  });

  it('a .wasm from an npm package, and a .wasm?module, .bin, .txt and .html of the project', async () => {
    const add = readFileSync(join(FIXTURES, 'modules-imports', 'src', 'add.wasm'));
    const dir = project({
      'src/index.js': [
        "import a from 'wasm-pkg/add.wasm';",
        "import b from './add.wasm?module';",
        "import d from './data.bin';",
        "import t from './note.txt';",
        "import h from './page.html';",
        'export default { fetch: () => Response.json([a, b, d, t, h].map(String)) };',
        '',
      ].join('\n'),
      'src/add.wasm': add,
      'src/data.bin': new Uint8Array([1, 2, 3]),
      'src/note.txt': 'note',
      'src/page.html': '<p>page</p>',
      'node_modules/wasm-pkg/package.json': JSON.stringify({ name: 'wasm-pkg', version: '1.0.0' }),
      'node_modules/wasm-pkg/add.wasm': add,
    });
    const built = await bundle(dir);
    assert.match(built.code, /new WebAssembly\.Module\(/);
  });

  it('the compatibility corpus, with the repository as its build root; without it, an error that says so', async () => {
    for (const name of ['hono', 'jose', 'itty'])
      await assert.doesNotReject(bundle(join(REPO, 'test', 'compat', name), REPO), name);
    await refused(
      join(REPO, 'test', 'compat', 'hono'),
      /Import "hono[^"]*" in src\/index\.tsx is refused: the file is outside the build root .*--build-root/,
    );
  });

  it("a monorepo: a workspace package linked into node_modules builds with the monorepo's root", async () => {
    const mono = join(base, 'mono');
    write(mono, {
      'packages/shared/package.json': JSON.stringify({ name: 'shared', version: '1.0.0', main: 'index.js' }),
      'packages/shared/index.js': "export const shared = 'from the workspace';\n",
      'app/wrangler.toml': 'name = "app"\nmain = "src/index.js"\n',
      'app/src/index.js':
        "import { shared } from 'shared';\nexport default { fetch: () => new Response(shared) };\n",
    });
    mkdirSync(join(mono, 'app', 'node_modules'));
    symlinkSync(join(mono, 'packages', 'shared'), join(mono, 'app', 'node_modules', 'shared'));
    const app = join(mono, 'app');
    await refused(app, refusal('shared', OUTSIDE));
    const built = await bundle(app, mono);
    assert.match(built.code, /from the workspace/);
    // The root must hold the project.
    await assert.rejects(
      bundle(app, outside),
      /the build root \(--build-root\) must be a folder that holds the project/,
    );
  });
});
