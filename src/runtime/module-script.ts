/**
 * A module bundle as a script, so that V8's code cache works for it.
 *
 * isolated-vm 5.0.4 compiles an ES module without the code cache it is given: its
 * CompileModuleRunner calls `ScriptCompiler::CompileModule` without `kConsumeCodeCache`, so the
 * cache is neither used nor reported rejected. Scripts get it. Measured on a 65 KB Hono bundle,
 * in a fresh isolate: 2.5 ms to compile as a module with or without the cache, 2.6 ms as a
 * script without it, 0.23 ms as a script with it. Every cold start of a module worker after the
 * first (another tenant on the same code, a second isolate under load, each Durable Object,
 * an isolate back after eviction) paid the whole compile.
 *
 * A bundle made by bundle-modules.ts has one kind of module syntax: named imports of
 * `outpost:runtime` (ES import bindings are hoisted, so where esbuild printed them does not
 * matter). It runs as a strict function of the runtime module's namespace, the imports turned
 * into constants at its start, on a line of its own before the bundle's first line (compiled
 * with lineOffset -1, so stack traces keep the bundle's lines and the source map holds).
 * Anything else — another import or export, `import.meta`, a name that clashes — fails to
 * convert or to compile as a script, and the bundle is loaded as a module, as before.
 */

/** The parameter the runtime module's namespace arrives in. */
const PARAM = '__outpost_runtime_ns';

/** `import { a, b as c } from "outpost:runtime";` as esbuild prints it (also minified). */
const IMPORT = /import\s*\{([^}]*)\}\s*from\s*"outpost:runtime"\s*;?/g;
const IDENT = /^[A-Za-z_$][\w$]*$/;

/** The code of `bundle` as a script evaluating to a function of the runtime namespace, or null. */
export function moduleAsScript(code: string): string | null {
  const bindings: string[] = [];
  let failed = false;
  const body = code.replace(IMPORT, (_match, clause: string) => {
    for (const part of clause.split(',')) {
      const spec = part.trim();
      if (spec === '') continue;
      const [imported, local = imported, ...rest] = spec.split(/\s+as\s+/);
      if (rest.length > 0 || !IDENT.test(imported) || !IDENT.test(local)) failed = true;
      bindings.push(imported === local ? imported : `${imported}: ${local}`);
    }
    return '';
  });
  if (failed || bindings.length === 0) return null;
  // Every mention of the specifier must have been one of those imports (not, say, a string of
  // the worker's own that looks like one: it would have been cut out of the string).
  if (
    countOf(code, '"outpost:runtime"') !== countOf(code.match(IMPORT)?.join('\n') ?? '', '"outpost:runtime"')
  )
    return null;
  return `(function (${PARAM}) { "use strict"; const { ${bindings.join(', ')} } = ${PARAM};\n${body}\n})`;
}

function countOf(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}
