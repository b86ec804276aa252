/**
 * Finds esbuild's async-generator helpers in a minified extension bundle and points them at
 * the prelude's (src/runtime/isolate/async-generators.ts): esbuild's read `Promise`, `then`,
 * `call` and the generator methods as they run, after tenant code may have replaced them.
 *
 * A minified bundle names its helpers anew each build, so they are recognised by shape: the
 * helper's tokens with every local name renamed by order of first use (property names, string
 * literals, keywords and the globals they read kept). The shapes to look for come from esbuild
 * itself, from the same options as the extension build, so an esbuild upgrade that changes a
 * helper makes its old shape miss, and the check after the rewrite fails the build instead.
 */
import * as acorn from 'acorn';
import * as esbuild from 'esbuild';

/** esbuild's name for each helper, and what replaces it (`outpost` is the extension's capability). */
const REPLACED: Record<string, string> = {
  __await: 'outpost.asyncGenerators.Await',
  __asyncGenerator: 'outpost.asyncGenerators.generator',
  __yieldStar: 'outpost.asyncGenerators.yieldStar',
  __forAwait: 'outpost.asyncGenerators.forAwait',
};
const GLOBALS = new Set(['Promise', 'Symbol', 'TypeError', 'Object']);
/** A sample that makes esbuild write every helper above. */
const SAMPLE = 'export async function* g(y) { yield 1; yield* y; for await (const x of y) {} }';

/** The helper's tokens, local names renamed in order of first use. */
export function shapeOf(code: string): string {
  const names = new Map<string, string>();
  const out: string[] = [];
  let prev: acorn.Token | null = null;
  const tokens = [...acorn.tokenizer(code, { ecmaVersion: 'latest' })];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type.label === 'name') {
      const name = code.slice(t.start, t.end);
      const next = tokens[i + 1];
      const afterDot = prev !== null && prev.type.label === '.';
      const isKey =
        next !== undefined &&
        next.type.label === ':' &&
        prev !== null &&
        (prev.type.label === '{' || prev.type.label === ',');
      if (afterDot || isKey || GLOBALS.has(name)) out.push(name);
      else {
        if (!names.has(name)) names.set(name, `$${names.size}`);
        out.push(names.get(name) as string);
      }
    } else out.push(code.slice(t.start, t.end));
    prev = t;
  }
  return out.join(' ');
}

type Declarators = { name: string; init: acorn.Expression }[];

function topDeclarators(code: string): Declarators {
  const ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const list: Declarators = [];
  for (const node of ast.body)
    if (node.type === 'VariableDeclaration')
      for (const d of node.declarations)
        if (d.id.type === 'Identifier' && d.init) list.push({ name: d.id.name, init: d.init });
  return list;
}

let references: Map<string, string> | null = null;

/** Shape → replacement, from esbuild's own output for SAMPLE with the extension build's options. */
function referenceShapes(options: esbuild.TransformOptions): Map<string, string> {
  if (references) return references;
  const plain = esbuild.transformSync(SAMPLE, { ...options, minify: false }).code;
  const minified = esbuild.transformSync(SAMPLE, { ...options, minify: true }).code;
  const named = topDeclarators(plain);
  const short = topDeclarators(minified);
  if (named.length !== short.length)
    throw new Error("esbuild's helpers changed (their count): update src/runtime/helper-shapes.ts");
  const map = new Map<string, string>();
  for (let i = 0; i < named.length; i++) {
    const to = REPLACED[named[i].name];
    if (!to) continue;
    const text = minified.slice(short[i].init.start, short[i].init.end);
    // Paired by position: check the pairing where it shows (__await is the one of its kind).
    if ((named[i].name === '__await') !== /^function\([\w$]+,[\w$]+\)\{this\[0\]=/.test(text))
      throw new Error("esbuild's helpers changed (their order): update src/runtime/helper-shapes.ts");
    map.set(shapeOf(text), to);
  }
  if (map.size !== Object.keys(REPLACED).length)
    throw new Error("esbuild's async-generator helpers changed: update src/runtime/helper-shapes.ts");
  references = map;
  return map;
}

/**
 * `code` (a minified extension bundle) with esbuild's async-generator helpers replaced. Throws
 * when something that looks like one is left.
 */
export function replaceGeneratorHelpers(
  code: string,
  file: string,
  options: esbuild.TransformOptions,
): string {
  if (!code.includes('asyncIterator')) return code;
  const shapes = referenceShapes(options);
  const edits: { start: number; end: number; text: string }[] = [];
  for (const d of topDeclarators(code)) {
    const text = code.slice(d.init.start, d.init.end);
    if (text.length > 5000) continue;
    const to = shapes.get(shapeOf(text));
    if (to) edits.push({ start: d.init.start, end: d.init.end, text: to });
  }
  // __await alone is an ordinary-looking function: replaced only beside the helpers that use it.
  const kept = edits.some((e) => e.text !== REPLACED.__await) ? edits : [];
  let out = code;
  for (let i = kept.length - 1; i >= 0; i--)
    out = out.slice(0, kept[i].start) + kept[i].text + out.slice(kept[i].end);
  // What is left that reads Symbol.asyncIterator through esbuild's __knownSymbol, anywhere in
  // the bundle (not only at its top), is a helper this did not recognise.
  if (
    /[\w$]+\("asyncIterator"\)\]/.test(out) ||
    /function\([\w$]+,[\w$]+\)\{this\[0\]=[\w$]+,this\[1\]=[\w$]+\}/.test(out)
  )
    throw new Error(
      `esbuild's async-generator helpers changed (in ${file}): update src/runtime/helper-shapes.ts`,
    );
  return out;
}
