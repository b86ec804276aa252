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
 * matter). It runs as a strict function, applied to the runtime module's namespace, whose
 * first line (compiled with lineOffset -1) turns the imports into constants; each import
 * statement is blanked in place, to spaces of its length, so every other character keeps its
 * line and column, and stack traces their source map. The bundler counted the import
 * statements it wrote (Bundle.runtimeImports): text that only looks like one (in a string of
 * the worker's own) makes the count differ, and the bundle is not converted. Anything else —
 * another import or export, `import.meta` — fails to compile as a script, and the bundle is
 * loaded as a module, as before. One difference shows: `arguments` at the top level is the
 * function's (a module has none; a worker reading it there would fail on Workers).
 */

/** `import { a, b as c } from "outpost:runtime";` as esbuild prints it (also minified). */
const IMPORT = /import\s*\{([^}]*)\}\s*from\s*"outpost:runtime"\s*;?/g;
const IDENT = /^[A-Za-z_$][\w$]*$/;

/**
 * The code of a module bundle as a script evaluating to a function of the runtime namespace, or
 * null. `imports`: how many import statements of the runtime module the bundler wrote.
 */
export function moduleAsScript(code: string, imports: number | undefined): string | null {
  if (typeof imports !== 'number' || !Number.isInteger(imports) || imports < 1) return null;
  const bindings: string[] = [];
  let found = 0;
  let failed = false;
  const body = code.replace(IMPORT, (match: string, clause: string) => {
    found++;
    for (const part of clause.split(',')) {
      const spec = part.trim();
      if (spec === '') continue;
      const [imported, local = imported, ...rest] = spec.split(/\s+as\s+/);
      if (rest.length > 0 || !IDENT.test(imported) || !IDENT.test(local)) failed = true;
      bindings.push(imported === local ? imported : `${imported}: ${local}`);
    }
    return match.replace(/[^\n]/g, ' ');
  });
  if (failed || found !== imports || bindings.length === 0) return null;
  return `(function () { "use strict"; const { ${bindings.join(', ')} } = arguments[0];\n${body}\n})`;
}
