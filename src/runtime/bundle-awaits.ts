/**
 * Rewrites a tenant bundle's native async functions to carry the request context across their
 * awaits (the isolate's half, and why: src/runtime/isolate/await-frames.ts).
 *
 * esbuild bundles with async functions kept native and async generators and `for await`
 * lowered (TENANT_SUPPORTED: the lowered `for await` is plain `await`s, which this then
 * rewrites). Each async function that is not a generator gets, by inserting text only:
 * - its body wrapped: `{ const $ = __outpostFrames(); try { … } finally { $.x() } }` (after the
 *   directive prologue; an arrow's expression body becomes a block returning it);
 * - each `await e` of its own (not of a nested function): `$.r(await $.s(e))`;
 * - each `return e` of its own: `return $.t(e)` (`return $.t((a, b))` for `return a, b`);
 * - each `catch` and `finally` block of its own: `$.c();` first.
 *
 * `__outpostFrames` is bound by the loader: a script's wrapper passes it (src/runtime/load.ts),
 * and a module bundle imports it from `outpost:runtime` on its first line (this adds the import,
 * which the bundle's count of runtime imports then includes: module-script.ts).
 *
 * Only text is inserted and no line breaks, so the source map is kept by moving each mapped
 * column of a line right by what was inserted before it on that line. Parentheses are kept as
 * nodes (acorn's `preserveParens`), so `await (a, b)` or `() => ({})` are rewritten around
 * their parentheses, never inside them.
 */
import { type Node, parse } from 'acorn';
import { applyInserts, type Insert } from './bundle-inserts.ts';

/**
 * esbuild's `supported` for tenant bundles: async functions native (rewritten here), async
 * generators and `for await` lowered (their helpers' awaits go through the frame-carrying `then`).
 */
export const TENANT_SUPPORTED: Record<string, boolean> = {
  'async-generator': false,
  'for-await': false,
};

/** The per-activation variable: a name no bundle has (checked). */
const TOKEN = '__outpostF';
const FACTORY = '__outpostFrames';
const IMPORT = `import { ${FACTORY} } from "outpost:runtime";`;

type AnyNode = Node & Record<string, any>;

const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** Whether `code` has an async function to rewrite (a cheap test before parsing). */
function mayHaveAsync(code: string): boolean {
  return /\basync\b/.test(code);
}

/**
 * `code` (a bundle's script or module text) and its source map (JSON), rewritten as above. A
 * bundle that cannot be parsed is an error: esbuild wrote it, so that is a bug here.
 */
export function carryFramesThroughAwaits<M extends string | null>(
  code: string,
  map: M,
  sourceType: 'module' | 'script',
): { code: string; map: M; imported: boolean } {
  const taken = /\b(__outpostF|__outpostFrames)\b/.exec(code);
  if (taken)
    throw new Error(
      `the name ${taken[1]} is Outpost's (it carries the request context through awaits): rename it`,
    );
  if (!mayHaveAsync(code)) return { code, map, imported: false };
  const ast = parseBundle(code, sourceType, 'parse the bundle');
  const inserts: Insert[] = [];
  const add = (at: number, text: string, close: boolean, depth: number) =>
    inserts.push({ at, text, close, depth });

  /** Walk `node`; `inAsync` is whether the nearest enclosing function is a rewritten one. */
  const walk = (node: AnyNode, inAsync: boolean, depth: number): void => {
    if (FUNCTIONS.has(node.type)) {
      const rewrite = node.async === true && node.generator !== true;
      for (const p of node.params as AnyNode[]) walk(p, false, depth + 1);
      const body = node.body as AnyNode;
      if (rewrite) wrapBody(node, body, depth);
      walk(body, rewrite, depth + 1);
      return;
    }
    if (inAsync) {
      if (node.type === 'AwaitExpression') {
        add(node.start, `${TOKEN}.r(`, false, depth);
        add(node.argument.start, ` ${TOKEN}.s(`, false, depth);
        add(node.end, '))', true, depth);
      } else if (node.type === 'ReturnStatement' && node.argument) {
        // `return a, b` (minifiers write it) is one argument: kept one inside parentheses.
        const seq = node.argument.type === 'SequenceExpression';
        add(node.argument.start, ` ${TOKEN}.t(${seq ? '(' : ''}`, false, depth);
        add(node.argument.end, seq ? '))' : ')', true, depth);
      } else if (node.type === 'CatchClause') {
        add(node.body.start + 1, `${TOKEN}.c();`, false, depth);
      } else if (node.type === 'TryStatement' && node.finalizer) {
        add(node.finalizer.start + 1, `${TOKEN}.c();`, false, depth);
      }
    }
    for (const key in node) {
      if (key === 'type' || key === 'start' || key === 'end') continue;
      const v = node[key];
      if (Array.isArray(v)) {
        for (const child of v) if (child && typeof child.type === 'string') walk(child, inAsync, depth + 1);
      } else if (v && typeof v === 'object' && typeof v.type === 'string') walk(v, inAsync, depth + 1);
    }
  };

  const wrapBody = (fn: AnyNode, body: AnyNode, depth: number) => {
    const open = `const ${TOKEN}=${FACTORY}();try{`;
    const close = `}finally{${TOKEN}.x()}`;
    if (fn.expression === true || body.type !== 'BlockStatement') {
      // An arrow's expression body: `=> {…return $.t(<body>)…}` (the return's own rewrite).
      add(body.start, `{${open}return ${TOKEN}.t(`, false, depth);
      add(body.end, `)${close}}`, true, depth);
      return;
    }
    // After the directive prologue ("use strict" must stay the body's first statement).
    let at = body.start + 1;
    let prefix = '';
    for (const st of body.body as AnyNode[]) {
      if (st.type !== 'ExpressionStatement' || typeof st.directive !== 'string') break;
      at = st.end;
      // A directive without its semicolon, then `const` on its line: not one statement.
      prefix = ';';
    }
    if (!blockSafe(body)) {
      // Inside `try {}` its declarations would clash: no `finally`, so a frame it resumed in
      // stays current after it ends, until the next job or entry sets one (docs/runtime.md).
      add(at, `${prefix}const ${TOKEN}=${FACTORY}();`, false, depth);
      return;
    }
    // An empty body (`{}`, minified): open and close at one offset, in that order.
    if (at === body.end - 1) add(at, prefix + open + close, false, depth);
    else {
      add(at, prefix + open, false, depth);
      add(body.end - 1, close, true, depth);
    }
  };

  try {
    walk(ast, false, 0);
  } catch (err) {
    if (err instanceof RangeError) throw tooDeep(err);
    throw err;
  }
  if (inserts.length === 0) return { code, map, imported: false };
  const imported = sourceType === 'module';
  // First, on the first line (after a hashbang's): no line moves.
  if (imported) add(code.startsWith('#!') ? code.indexOf('\n') + 1 : 0, IMPORT, false, -1);
  const out = applyInserts(code, map, inserts);
  // What is inserted is checked, not trusted: a construct this misses fails the bundle here,
  // naming it, not the worker's load.
  parseBundle(out.code, sourceType, 'check its rewrite');
  return { ...out, imported };
}

/** The bundle parsed as acorn parses it here; a failure is an Error saying what failed. */
function parseBundle(code: string, sourceType: 'module' | 'script', what: string): AnyNode {
  try {
    return parse(code, {
      ecmaVersion: 'latest',
      sourceType,
      preserveParens: true,
      allowHashBang: true,
      // A service-worker script runs inside the loader's function: CommonJS may `return`.
      allowReturnOutsideFunction: sourceType === 'script',
    }) as AnyNode;
  } catch (err) {
    if (err instanceof RangeError || /stack space/i.test(String((err as Error)?.message)))
      throw tooDeep(err as Error);
    throw new Error(
      `Outpost could not ${what} to carry the request context through its awaits (a bug in Outpost; please report it): ${(err as Error).message}`,
    );
  }
}

function tooDeep(err: Error): Error {
  return new Error(
    `the bundle nests expressions too deeply for Outpost to rewrite its awaits (${err.message}); split the deepest expression`,
  );
}

/**
 * Whether a function body's declarations mean the same inside a block: a function declared at
 * its top level is lexical in a block, so one that shares its name with a `var` of the function
 * or with another top-level function declaration (legal in a function body) would not parse.
 */
function blockSafe(body: AnyNode): boolean {
  const fns = new Set<string>();
  for (const st of body.body as AnyNode[]) {
    if (st.type !== 'FunctionDeclaration' || !st.id) continue;
    if (fns.has(st.id.name)) return false;
    fns.add(st.id.name);
  }
  if (fns.size === 0) return true;
  let safe = true;
  const names = (p: AnyNode | null): void => {
    if (!p || !safe) return;
    if (p.type === 'Identifier') {
      if (fns.has(p.name)) safe = false;
    } else if (p.type === 'ObjectPattern')
      for (const q of p.properties) names(q.type === 'RestElement' ? q : q.value);
    else if (p.type === 'ArrayPattern') for (const q of p.elements) names(q);
    else if (p.type === 'AssignmentPattern') names(p.left);
    else if (p.type === 'RestElement') names(p.argument);
  };
  const visit = (node: AnyNode): void => {
    if (!safe || FUNCTIONS.has(node.type)) return;
    if (node.type === 'VariableDeclaration' && node.kind === 'var')
      for (const d of node.declarations) names(d.id);
    for (const key in node) {
      const v = node[key];
      if (Array.isArray(v)) {
        for (const child of v) if (child && typeof child.type === 'string') visit(child);
      } else if (v && typeof v === 'object' && typeof v.type === 'string') visit(v);
    }
  };
  for (const st of body.body as AnyNode[]) if (st.type !== 'FunctionDeclaration') visit(st);
  return safe;
}
