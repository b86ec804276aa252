/**
 * What a build may read. Tenant source is untrusted (a deploy service or a shared build host
 * bundles code it did not write; `outpost dev` serves several projects side by side), and
 * esbuild bundles any file the builder can read: `import env from '/proc/self/environ'` put the
 * host's environment, admin token included, into a worker. So every file a build resolves or
 * loads must lie under the *build root* once symbolic links are resolved: the project's folder
 * by default, a monorepo's root when the operator names one (`bundleWorker`'s `root`,
 * `outpost dev --build-root`). It is deliberately not a key of the project's config: the
 * project's files are what is being confined. Even under the root, Outpost's state folder
 * `.outpost/` (admin token, TLS key, KV and Durable Object data) and `.dev.vars` files (secrets,
 * which reach a worker as env bindings) are never read into a bundle.
 *
 * esbuild reads files in several ways; each is checked:
 *  - Imports: `confinePlugin` runs first of all plugins on every import, resolves it with
 *    esbuild's own resolution (`build.resolve`: package exports, tsconfig paths, the `.wasm`
 *    plugin's resolution), checks the real path of the result, then lets the import go on to the
 *    normal resolution, which finds the same file. (The result is checked, not returned:
 *    build.resolve cannot say that a package's `browser` field disables a path.) A refusal
 *    names the import, and esbuild's location names the file that made it.
 *  - Loads: every module read from a file is checked again. Glob imports
 *    (`import(`./x/${name}.js`)`) are resolved by esbuild without plugins and meet only this
 *    check. A JavaScript or CSS file's `sourceMappingURL=` comment makes esbuild read the file
 *    it names: one the build may not read is refused.
 *  - tsconfig.json / jsconfig.json: esbuild reads the nearest one of each folder it resolves in,
 *    with what it `extends`, before any plugin sees the import that led there. `checkTsconfigs`
 *    refuses, before the build, one that links out of the root or extends a file outside it.
 *  - Messages: esbuild still reads package.json files, and tsconfig.json files of the root's
 *    ancestors (the builder's own folders), while resolving; their content is never bundled. An
 *    error located in a file the build may not read is reported without its text
 *    (`redactMessage`): a syntax error quotes what it found.
 *
 * Outpost's own import forms (`outpost:entry`, `outpost:runtime`, the modules behind `.wasm`
 * and `.bin` imports) come only from Outpost's plugins: tenant source may not name an
 * `outpost:` specifier, and the modules Outpost generates live in namespaces no tenant module is
 * in (bundle-data.ts, bundle-modules.ts).
 */
import { type Dirent, realpathSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as esbuild from 'esbuild';
import { parse as parseJsonc } from 'jsonc-parser';
import { ENTRY_POINT } from './bundle-modules.ts';
import { BundleError } from './errors.ts';

/** Where a build may read. */
export interface BuildRoot {
  /** Real path of the build root. */
  root: string;
  /** The project's folder as configured (esbuild's working folder; messages are relative to it). */
  project: string;
}

/**
 * The build root of a project: `root` when given, else the project's folder. The root must be
 * an existing folder that holds the project; `option` names the setting in the error.
 */
export function buildRoot(projectDir: string, root?: string, option = 'the build root'): BuildRoot {
  const project = resolve(projectDir);
  let realProject: string;
  let real: string;
  try {
    realProject = realpathSync(project);
  } catch {
    throw new BundleError(`the project folder ${project} does not exist`);
  }
  try {
    real = root === undefined ? realProject : realpathSync(resolve(root));
  } catch {
    throw new BundleError(`${option} must be an existing folder, received "${root}"`);
  }
  if (!inside(real, realProject))
    throw new BundleError(`${option} must be a folder that holds the project ${project}, received "${root}"`);
  return { root: real, project };
}

/** Whether `file` is `dir` or lies under it (both absolute). */
function inside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Why a real path under the root is still never read, or undefined. */
function reserved(root: string, real: string): string | undefined {
  if (relative(root, real).split(sep).includes('.outpost'))
    return "files in .outpost/ are Outpost's state (admin token, keys, data)";
  if (/^\.dev\.vars(\.|$)/.test(basename(real)))
    return '.dev.vars holds secrets, which reach a worker as env bindings, not as modules';
  return undefined;
}

/**
 * Why a build may not read `file` (an absolute path), or undefined when it may. Symbolic links
 * are resolved first; a path that does not exist is judged as written (nothing can read it).
 * `written`: the path as the import named it, when known (esbuild's own result is a real path).
 */
export async function fileProblem(
  where: BuildRoot,
  file: string,
  written = file,
): Promise<string | undefined> {
  const real = await realpath(file).catch(() => resolve(file));
  if (!inside(where.root, real))
    return inside(where.root, resolve(written))
      ? `it is a symbolic link to a file outside the build root ${where.root}`
      : `the file is outside the build root ${where.root} (the project's folder unless outpost dev --build-root names a monorepo's root)`;
  return reserved(where.root, real);
}

/** pluginData of the resolutions confinePlugin asks for itself: it lets them through. */
const CHECKING = Object.freeze({ outpost: 'checking' });
/**
 * pluginData of a resolution by esbuild's rules alone: Outpost's plugins that claim a tenant's
 * import (the `.wasm`/`.bin` one) let it through to esbuild, and so does confinePlugin: the
 * import that asked for it is the one being checked.
 */
const PLAIN = Object.freeze({ outpost: 'plain' });

/** Whether a plugin is called for a resolution resolvePlain asked for. */
export function isPlainResolve(args: esbuild.OnResolveArgs): boolean {
  return args.pluginData === PLAIN;
}

/** Resolve `path` for the import `args` describes by esbuild's rules, past Outpost's plugins. */
export function resolvePlain(
  build: esbuild.PluginBuild,
  path: string,
  args: esbuild.OnResolveArgs,
): Promise<esbuild.ResolveResult> {
  return build.resolve(path, {
    importer: args.importer,
    namespace: args.namespace || undefined,
    resolveDir: args.resolveDir,
    kind: args.kind,
    with: args.with,
    pluginData: PLAIN,
  });
}

/** Specifiers only Outpost's generated code may use (the former `?outpost-bytes` form too). */
const RESERVED = /^outpost:|\?outpost-/;

/** Files whose `sourceMappingURL=` comment esbuild follows (loaders that can have a source map). */
const MAPPED = /\.(?:[cm]?[jt]sx?|css)$/;

function refuse(text: string) {
  return { errors: [{ text }] };
}

/** The first plugin of every build of tenant source. */
export function confinePlugin(where: BuildRoot): esbuild.Plugin {
  const shown = (file: string) => (isAbsolute(file) ? relative(where.project, file) || file : file);
  return {
    name: 'outpost-confine',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === CHECKING || args.pluginData === PLAIN) return undefined;
        const main = args.kind === 'entry-point' || args.namespace === 'outpost-entry';
        const by = main ? " (the config's main)" : args.importer ? ` in ${shown(args.importer)}` : '';
        // Tenant modules are files; Outpost's generated modules live in `outpost-*` namespaces.
        const tenant = args.namespace === 'file' || args.namespace === '';
        const entry = args.kind === 'entry-point' && args.path === ENTRY_POINT;
        if (tenant && !entry && RESERVED.test(args.path))
          return refuse(
            `Import "${args.path}"${by} is refused: "outpost:" specifiers and "?outpost-" suffixes are reserved for Outpost's own generated code`,
          );
        const found = await build.resolve(args.path, {
          importer: args.importer,
          namespace: args.namespace || undefined,
          resolveDir: args.resolveDir,
          kind: args.kind,
          with: args.with,
          pluginData: CHECKING,
        });
        // Not found: esbuild's own resolution, next, says so in its words. External and
        // runtime-provided modules (`node:*`) read no file.
        if (found.errors.length > 0 || found.external || !isAbsolute(found.path)) return undefined;
        // A relative import names a path; when that lies under the root and the file does not,
        // a symbolic link led out.
        const written = args.path.startsWith('.') ? resolve(args.resolveDir, args.path) : found.path;
        const problem = await fileProblem(where, found.path, written);
        return problem ? refuse(`Import "${args.path}"${by} is refused: ${problem}`) : undefined;
      });

      // Every module read from a file, in any namespace (the `.wasm` plugin's modules are files
      // too). Glob imports come here without passing onResolve.
      build.onLoad({ filter: /.*/ }, async (args) => {
        if (!isAbsolute(args.path)) return undefined;
        const problem = await fileProblem(where, args.path);
        if (problem) return refuse(`Reading "${shown(args.path)}" is refused: ${problem}`);
        if (args.namespace !== 'file' || !MAPPED.test(args.path)) return undefined;
        const text = await readFile(args.path, 'utf8');
        for (const target of sourceMapTargets(text, dirname(args.path))) {
          const bad = await fileProblem(where, target);
          if (bad)
            return refuse(
              `${shown(args.path)}: the file its sourceMappingURL comment names is refused: ${bad}`,
            );
        }
        return undefined;
      });
    },
  };
}

/**
 * The files `sourceMappingURL=` comments in `text` name. Every occurrence counts, in a comment
 * or not (esbuild follows the last comment; a string that looks like one only makes this
 * stricter); data: and http(s): URLs name no file.
 */
export function sourceMapTargets(text: string, dir: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/sourceMappingURL=([^\s'"`]+)/g)) {
    let url: URL;
    try {
      url = new URL(m[1].replace(/\*\/$/, ''), pathToFileURL(`${dir}/`));
    } catch {
      continue;
    }
    if (url.protocol !== 'file:') continue;
    try {
      out.push(fileURLToPath(url));
    } catch {
      // A file URL with a host, which esbuild does not read either.
    }
  }
  return out;
}

/**
 * The plugin of the second pass of a top-level-await build, whose one input is the first pass's
 * output: it imports the runtime module and reads no file.
 */
export function sealedPlugin(runtimeSpecifier: string): esbuild.Plugin {
  const why = 'the second pass of a top-level-await build reads no file';
  return {
    name: 'outpost-sealed',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) =>
        args.path === runtimeSpecifier
          ? { path: args.path, external: true }
          : refuse(`Import "${args.path}" is refused: ${why}`),
      );
      build.onLoad({ filter: /.*/ }, (args) => refuse(`Reading "${args.path}" is refused: ${why}`));
    },
  };
}

/** Folders checkTsconfigs skips: esbuild ignores tsconfig.json inside node_modules. */
const UNSEARCHED = new Set(['node_modules', '.git', '.outpost']);

/**
 * A problem with the tsconfig.json / jsconfig.json files under the root, or undefined. esbuild
 * reads the nearest one of each folder it resolves in (outside node_modules), and the files it
 * `extends`, before a plugin sees the import that led there: one that is a link out of the root,
 * or extends a file the build may not read, is refused before the build starts.
 */
export async function checkTsconfigs(where: BuildRoot): Promise<string | undefined> {
  const seen = new Set<string>();
  const dirs = [where.root];
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (!UNSEARCHED.has(e.name)) dirs.push(join(dir, e.name));
      } else if (e.name === 'tsconfig.json' || e.name === 'jsconfig.json') {
        const problem = await checkTsconfig(where, join(dir, e.name), seen);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}

async function checkTsconfig(where: BuildRoot, file: string, seen: Set<string>): Promise<string | undefined> {
  const shown = relative(where.project, file) || file;
  const problem = await fileProblem(where, file);
  if (problem) return `${shown} is refused: ${problem}`;
  const real = await realpath(file).catch(() => file);
  if (seen.has(real)) return undefined;
  seen.add(real);
  const text = await readFile(real, 'utf8').catch(() => '');
  // Fault-tolerant, as esbuild reads what it can of a damaged file.
  const json: unknown = parseJsonc(text, [], { allowTrailingComma: true });
  const value = json && typeof json === 'object' ? (json as Record<string, unknown>).extends : undefined;
  const names = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  for (const name of names) {
    const targets = await extendsTargets(where, name, dirname(real));
    if (typeof targets === 'string') return `${shown}: "extends": "${name}" is refused: ${targets}`;
    for (const t of targets) {
      const bad = await fileProblem(where, t);
      if (bad) return `${shown}: "extends": "${name}" is refused: ${bad}`;
      const inner = await checkTsconfig(where, t, seen);
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * The existing files esbuild may read for `"extends": name` in a tsconfig in `dir`, by its rules
 * (a path, with ".json" added when needed; a package, looked up in the node_modules folders
 * from `dir` up), or why it is refused.
 */
async function extendsTargets(where: BuildRoot, name: string, dir: string): Promise<string[] | string> {
  const files = async (paths: string[]) => {
    const out: string[] = [];
    for (const p of paths)
      if (
        await stat(p).then(
          (s) => s.isFile(),
          () => false,
        )
      )
        out.push(p);
    return out;
  };
  if (name.startsWith('.') || isAbsolute(name)) {
    const path = resolve(dir, name === '.' || name === '..' ? `${name}/tsconfig.json` : name);
    const found = await files([path, `${path}.json`]);
    // A path that names nothing is read by nobody, but one outside the root is refused as written.
    if (found.length === 0 && !inside(where.root, path))
      return `the file is outside the build root ${where.root}`;
    return found;
  }
  const parts = name.split(/[\\/]/);
  if (parts.includes('..')) return 'a package name may not contain ".."';
  // A package: the nearest node_modules that has it must be under the root (esbuild looks
  // further up; what it finds there is refused).
  const pkg = parts.slice(0, name.startsWith('@') ? 2 : 1).join('/');
  for (let d = dir; inside(where.root, d); d = dirname(d)) {
    const folder = join(d, 'node_modules', pkg);
    if (
      await stat(folder).then(
        (s) => s.isDirectory(),
        () => false,
      )
    ) {
      const problem = await fileProblem(where, folder);
      if (problem) return problem;
      const base = join(d, 'node_modules', name);
      return files([base, `${base}.json`, join(base, 'tsconfig.json')]);
    }
    if (d === where.root) break;
  }
  return `no package "${pkg}" is installed under the build root ${where.root}`;
}

/**
 * An esbuild message, its text withheld when it is located in a file the build may not read: a
 * syntax error quotes what it found there.
 */
export function redactMessage(where: BuildRoot, m: esbuild.Message): esbuild.Message {
  if (!m.location?.file) return m;
  const file = resolve(where.project, m.location.file);
  let real = file;
  try {
    real = realpathSync(file);
  } catch {
    // Not a file (`<stdin>`, a namespace's module): judged as written.
  }
  if (inside(where.root, real) && !reserved(where.root, real)) return m;
  return {
    ...m,
    text: 'a file the build may not read could not be parsed (its text is not shown)',
    notes: [],
  };
}
