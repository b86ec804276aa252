/**
 * esbuild's `keepNames` (on by default, as wrangler bundles) calls `__name(fn, "name")` for
 * every named function and class a bundle makes, including the arrow functions a class's fields
 * make for each instance (Hono's `Context` makes fifteen per request). The helper always
 * redefines `name`, even to the value it already has, and V8 then turns the function's `name`
 * accessor into a data property and moves the function to a map of its own, slow to make and
 * slower to read (perf, the isolate's thread of a Hono route: property descriptor conversion,
 * map migration and normalisation).
 *
 * Calls the language makes redundant are blanked out (the arrow a field `json` is initialized
 * with is named `json` without one: prelude-names.ts), and the helper is changed to return a
 * function whose `name` already is the value as it is — what the redefinition would have left —
 * and to redefine it otherwise (a minified name, a name inferred differently). esbuild names no
 * class that has a static `name` of its own; a `name` that throws when read is redefined, as
 * before.
 *
 * Blanking replaces characters with spaces and the helper's change inserts text
 * (bundle-inserts.ts), so the source map stays right. All of it is an optimisation: a bundle it
 * cannot handle (no helper found at its top level, too deeply nested to parse) is left as
 * esbuild wrote it.
 */
import { parse } from 'acorn';
import { applyInserts, type Insert } from './bundle-inserts.ts';
import { blankRedundantNameCalls } from './prelude-names.ts';

/**
 * esbuild's helper as it writes it (version pinned): unminified (`{ value, configurable: true }`),
 * minified, and reprinted by a second pass (`{ value: t, configurable: true }`).
 */
const HELPER =
  /var ([\w$]+) ?= ?\(([\w$]+), ?([\w$]+)\) ?=> ?([\w$]+\(\2, ?"name", ?\{ ?value(?:: ?\3)?, ?configurable: ?(?:!0|true) ?\}\))/g;

/** `code` with keepNames' cost cut as above; `map` kept. */
export function cheaperKeptNames<M extends string | null>(
  code: string,
  map: M,
  sourceType: 'module' | 'script',
): { code: string; map: M } {
  if (!code.includes('"name"')) return { code, map };
  try {
    const ast = parse(code, {
      ecmaVersion: 'latest',
      sourceType,
      allowHashBang: true,
      allowReturnOutsideFunction: sourceType === 'script',
    }) as unknown as { body: { type: string; start: number }[] };
    // esbuild's own helper is a statement of the bundle's top level: a match anywhere else (in
    // a string: an embedded page's script) is not it.
    const starts = new Set(ast.body.filter((s) => s.type === 'VariableDeclaration').map((s) => s.start));
    let found: RegExpExecArray | null = null;
    for (const m of code.matchAll(HELPER)) {
      const shorthand = !m[0].includes(`value:`);
      if (starts.has(m.index) && (!shorthand || m[3] === 'value')) {
        found = m;
        break;
      }
    }
    if (!found) return { code, map };
    const [, helper, t, v, call] = found;
    const blanked = blankRedundantNameCalls(code, ast as never, helper);
    const at = found.index + found[0].length - call.length;
    const inserts: Insert[] = [
      { at, text: `{try{if(${t}.name===${v})return ${t}}catch{}return `, close: false, depth: 0 },
      { at: at + call.length, text: '}', close: true, depth: 0 },
    ];
    return applyInserts(blanked, map, inserts);
  } catch {
    return { code, map };
  }
}
