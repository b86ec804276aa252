/**
 * The prelude's functions and classes keep the names they are written with: tenants see them
 * (`setTimeout.name`, `new Headers().constructor.name`, `console.log.name`, stack traces).
 *
 * Why not esbuild's keepNames alone: it wraps every named function in a call to its `__name`
 * helper, which defines `name` as a data property, and V8 then keeps that function's properties
 * in a dictionary of its own. Over minified identifiers (the prelude until 2026-12-06) that was
 * every function: a heap snapshot of a pooled isolate held 179 KB of property dictionaries, 50 KB
 * without. Unminified, the bundle's names are the source's, except where esbuild renames a
 * symbol: two files' top-level names collide, or a file declares a name another file uses as a
 * global (`setTimeout` becomes `setTimeout2`), or a class refers to itself inside its body
 * (`var Headers = class _Headers`). keepNames still writes a call for every function.
 *
 * So the bundle is parsed (acorn) and each call is kept only where the function would not
 * already have the name by the language's own rules:
 * - `__name(f, "f")` after a function declaration named `f`: removed;
 * - `static { __name(this, "C") }` in a class whose own name, or the name it is assigned to, is
 *   `C`: removed;
 * - `__name(() => …, "x")` where the function is anonymous and the call is what `x` is
 *   initialized with, assigned, or a property or field `x` is defined with: replaced by the
 *   parenthesized function, which the language names `x` (NamedEvaluation, ECMA-262 §8.4.5).
 * What is left (renamed symbols, names that differ) goes through the helper, rewritten to
 * define a name only when it differs.
 */
import { parse } from 'acorn';

/** esbuild's keepNames helper as it writes it unminified (version pinned). */
const ESBUILD_NAME_HELPER = 'var __name=(target,value)=>__defProp(target,"name",{value,configurable:!0});';
/**
 * The same, leaving alone a function that already has the name; its descriptor has no
 * prototype (a getter tenant code put on Object.prototype.get would be called with it).
 *
 * A class (its `prototype` not writable) has its `name` deleted first. Redefined in place, the
 * name left the class with a map V8 took for stable and was not: every attempt to optimize a
 * constructor that ran it, or that called it through `super()` (the prelude's `Request` and
 * `Response`, subclasses of a renamed `Body`), was given up at the end ("Bailed out due to
 * dependency change", a StableMapDependency), and made again, without end (4–35 attempts in 5 s
 * under load, 2–9 ms of a V8 worker thread each). Deleted first, the class keeps its properties
 * in a dictionary, which V8 does not take for stable. (A small reproduction in plain Node 20:
 * ~1,900 abandoned compiles in 3 s, none with the delete.) The price: such a class's `name`
 * comes after `prototype` and its static methods in `Reflect.ownKeys` (native classes list it
 * second). Redefining it in place and then forcing a dictionary with other properties did not
 * stop the loop. `Object.getOwnPropertyDescriptor` is captured when the prelude loads: some
 * calls run later (`setInterval`'s, lazily made globals), after tenant code could replace it.
 */
const PRELUDE_NAME_HELPER =
  'var __nameDesc=Object.getOwnPropertyDescriptor,__name=(target,value)=>target.name===value?target:(__nameDesc(target,"prototype")?.writable===!1&&delete target.name,__defProp(target,"name",{__proto__:null,value,configurable:!0}));';

type Node = { type: string; start: number; end: number; [key: string]: any };
type Edit = [start: number, end: number, text: string];

export function keptNamesOnlyWhereRenamed(code: string): string {
  if (!code.includes(ESBUILD_NAME_HELPER))
    throw new Error(
      "esbuild's __name helper changed: update src/runtime/prelude-names.ts (keptNamesOnlyWhereRenamed)",
    );
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node;
  const edits = redundantNameCalls(ast, '__name');
  edits.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let at = 0;
  for (const [start, end, text] of edits) {
    if (start < at) throw new Error('keptNamesOnlyWhereRenamed: overlapping edits (an esbuild change?)');
    parts.push(code.slice(at, start), text);
    at = end;
  }
  parts.push(code.slice(at));
  return parts.join('').replace(ESBUILD_NAME_HELPER, PRELUDE_NAME_HELPER);
}

/**
 * The same for a worker's bundle (parsed as `ast`), whose source map must keep pointing at the
 * same characters: every character a removed call took is blanked (a space; line breaks kept),
 * so nothing moves. `helper` is the helper's name in the bundle (minified: one letter). Throws
 * on overlapping edits (the caller then keeps the bundle as it was).
 */
export function blankRedundantNameCalls(code: string, ast: Node, helper: string): string {
  const edits = redundantNameCalls(ast, helper);
  if (edits.length === 0) return code;
  edits.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let at = 0;
  for (const [start, end, text] of edits) {
    if (start < at) throw new Error('blankRedundantNameCalls: overlapping edits (an esbuild change?)');
    parts.push(
      code.slice(at, start),
      text,
      code.slice(start + text.length, end).replace(/[^\n\r\u2028\u2029]/g, ' '),
    );
    at = end;
  }
  parts.push(code.slice(at));
  return parts.join('');
}

/** The edits that drop every keepNames call the language's own naming makes redundant. */
function redundantNameCalls(ast: Node, helper: string): Edit[] {
  const edits: Edit[] = [];
  walk(ast, [], (node, parents) => {
    const name = nameCall(node, helper);
    if (name === null) return;
    const parent = parents[parents.length - 1];
    const target = node.arguments[0] as Node;
    if (target.type === 'Identifier') {
      // After a function declaration: `function f() {} __name(f, "f");` (or in a sequence).
      if (target.name === name && declaresFunction(parents, target.name)) removeCall(node, parent, edits);
    } else if (target.type === 'ThisExpression') {
      // `static { __name(this, "C") }`, the block's only statement.
      const block = parents[parents.length - 2];
      const cls = parents[parents.length - 4];
      if (parent.type !== 'ExpressionStatement' || block?.type !== 'StaticBlock' || block.body.length !== 1)
        return;
      if (classNameOf(cls, parents[parents.length - 5]) === name) edits.push([block.start, block.end, '']);
    } else if (isAnonymousFunction(target) && namedBy(node, parent) === name) {
      edits.push([node.start, target.start, '('], [target.end, node.end, ')']);
    }
  });
  return edits;
}

/** The name in `__name(target, "name")`, or null when `node` is not such a call. */
function nameCall(node: Node, helper: string): string | null {
  if (node.type !== 'CallExpression' || node.callee.type !== 'Identifier' || node.callee.name !== helper)
    return null;
  const name = node.arguments[1] as Node | undefined;
  return node.arguments.length === 2 && name?.type === 'Literal' && typeof name.value === 'string'
    ? name.value
    : null;
}

/**
 * Whether the call is a statement of its own (or an element of one's comma sequence) directly in
 * a statement list that declares function `name` (never the body of an `if` without braces).
 */
function declaresFunction(parents: Node[], name: string): boolean {
  let i = parents.length - 1;
  if (parents[i]?.type === 'SequenceExpression') i--;
  const statement = parents[i];
  const body = parents[i - 1]?.body;
  if (statement?.type !== 'ExpressionStatement' || !Array.isArray(body) || !body.includes(statement))
    return false;
  return body.some((s: Node) => s.type === 'FunctionDeclaration' && s.id?.name === name);
}

/** Remove a statement-like call: the whole statement, or its place in a comma sequence. */
function removeCall(call: Node, parent: Node, edits: Edit[]): void {
  if (parent.type === 'ExpressionStatement') {
    edits.push([parent.start, parent.end, '']);
    return;
  }
  if (parent.type !== 'SequenceExpression') return;
  const list = parent.expressions as Node[];
  const i = list.indexOf(call);
  if (i < list.length - 1) edits.push([call.start, list[i + 1].start, '']);
  else edits.push([list[i - 1].end, call.end, '']);
}

/** The name a class gets: its own, or (anonymous) the variable it initializes. */
function classNameOf(cls: Node | undefined, holder: Node | undefined): string | null {
  if (!cls || (cls.type !== 'ClassDeclaration' && cls.type !== 'ClassExpression')) return null;
  if (cls.id) return cls.id.name;
  return holder ? namedBy(cls, holder) : null;
}

function isAnonymousFunction(node: Node): boolean {
  return (
    (node.type === 'ArrowFunctionExpression' ||
      node.type === 'FunctionExpression' ||
      node.type === 'ClassExpression') &&
    !node.id
  );
}

/** The name NamedEvaluation gives an anonymous function at `node`'s place in `parent`. */
function namedBy(node: Node, parent: Node): string | null {
  switch (parent.type) {
    case 'VariableDeclarator':
      return parent.init === node && parent.id.type === 'Identifier' ? parent.id.name : null;
    case 'AssignmentExpression':
      return parent.right === node && parent.operator === '=' && parent.left.type === 'Identifier'
        ? parent.left.name
        : null;
    case 'Property':
    case 'PropertyDefinition':
      if (parent.value !== node || parent.computed || parent.kind === 'get' || parent.kind === 'set')
        return null;
      // `{ __proto__: f }` in an object literal sets the prototype: the language names nothing.
      if (parent.type === 'Property' && !parent.shorthand && !parent.method && protoKey(parent.key))
        return null;
      if (parent.key.type === 'Identifier') return parent.key.name;
      if (parent.key.type === 'PrivateIdentifier') return `#${parent.key.name}`;
      return parent.key.type === 'Literal' && typeof parent.key.value === 'string' ? parent.key.value : null;
    default:
      return null;
  }
}

function protoKey(key: Node): boolean {
  return (
    (key.type === 'Identifier' && key.name === '__proto__') ||
    (key.type === 'Literal' && key.value === '__proto__')
  );
}

/** Depth-first over every node, with the chain of its parents. */
function walk(node: Node, parents: Node[], visit: (node: Node, parents: Node[]) => void): void {
  visit(node, parents);
  parents.push(node);
  for (const key in node) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const child of value) if (child && typeof child.type === 'string') walk(child, parents, visit);
    } else if (value && typeof value.type === 'string' && key !== 'type') walk(value, parents, visit);
  }
  parents.pop();
}
