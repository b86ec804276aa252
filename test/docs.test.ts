// The documentation stands on its own: a reader with only the repository can follow every link,
// no placeholder is left, and the layout in docs/development.md names every part under src/.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

describe('documentation', () => {
  it('points nowhere outside the repository and leaves no placeholder', () => {
    for (const f of FILES) {
      assert.doesNotMatch(read(f), /\.\.\/shared|DESIGN\.md/, `${f} sends readers outside the repository`);
      assert.doesNotMatch(read(f), /[A-Z]+_PLACEHOLDER/, `${f} has a placeholder`);
    }
  });
  it('every relative link resolves to a file of the repository', () => {
    const broken: string[] = [];
    for (const f of FILES)
      for (const m of read(f).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(m[1])) continue;
        if (!existsSync(join(ROOT, dirname(f), m[1]))) broken.push(`${f}: ${m[1]}`);
      }
    assert.deepEqual(broken, []);
  });
  it('the README links the architecture document, which names every part under src/', () => {
    assert.match(read('README.md'), /\]\(docs\/architecture\.md\)/);
    const arch = read('docs/architecture.md');
    const layout = read('docs/development.md');
    for (const part of readdirSync(join(ROOT, 'src')).filter((d) =>
      statSync(join(ROOT, 'src', d)).isDirectory(),
    )) {
      assert.match(arch, new RegExp(`\`${part}/\``), `docs/architecture.md omits src/${part}/`);
      assert.match(layout, new RegExp(`\`src/${part}/\``), `docs/development.md's layout omits src/${part}/`);
    }
  });
});
