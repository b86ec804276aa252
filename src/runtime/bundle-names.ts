/**
 * esbuild's `keepNames` (on by default, as wrangler bundles) calls `__name(fn, "name")` for
 * every named function and class a bundle makes, including the arrow functions a class's fields
 * make for each instance (Hono's `Context` makes fifteen per request). The helper always
 * redefines `name`, even to the value it already has, and V8 then turns the function's `name`
 * accessor into a data property and moves the function to a map of its own, slow to make and
 * slower to read (perf, the isolate's thread of a Hono route: property descriptor conversion,
 * map migration and normalisation).
 *
 * Calls the language makes redundant go (blanked: the arrow a field `json` is initialized with is
 * named `json` without one), and the helper is changed to return a function whose `name` already is the value as it is —
 * what the redefinition would have left — and to redefine it otherwise (a minified name, a
 * name inferred differently). esbuild names no class that has a static `name` of its own; a
 * `name` that throws when read is redefined, as before.
 *
 * Text is only inserted (bundle-inserts.ts), so the source map stays right.
 */
import { applyInserts, type Insert } from './bundle-inserts.ts';
import { blankRedundantNameCalls } from './prelude-names.ts';

/** esbuild's helper, as it writes it (version pinned), unminified and minified. */
const PLAIN =
  /var __name = \(target, value\) => (__defProp\(target, "name", \{ value, configurable: true \}\));/;
const MINIFIED = /var ([\w$]+)=\(([\w$]+),([\w$]+)\)=>([\w$]+\(\2,"name",\{value:\3,configurable:!0\}\))/;

/**
 * `code` without the `__name` calls the language's own naming makes redundant (an arrow a
 * class field or a variable is initialized with is named by it: prelude-names.ts, blanked so
 * no column moves), and with the helper a no-op where the name is already right; `map` kept.
 */
export function cheaperKeptNames<M extends string | null>(
  source: string,
  map: M,
  sourceType: 'module' | 'script',
): { code: string; map: M } {
  const plain = PLAIN.exec(source);
  const found = plain ?? MINIFIED.exec(source);
  if (!found) return { code: source, map };
  const code = blankRedundantNameCalls(source, plain ? '__name' : found[1], sourceType);
  const [t, v] = plain ? ['target', 'value'] : [found[2], found[3]];
  const call = plain ? found[1] : found[4];
  const at = found.index + found[0].length - call.length - (plain ? 1 : 0);
  const inserts: Insert[] = [
    { at, text: `{try{if(${t}.name===${v})return ${t}}catch{}return `, close: false, depth: 0 },
    { at: at + call.length, text: '}', close: true, depth: 0 },
  ];
  return applyInserts(code, map, inserts);
}
