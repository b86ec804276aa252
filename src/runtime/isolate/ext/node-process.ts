/**
 * node:process (nodejs_compat), also the global `process`: what Workers provides — `env`
 * holding the worker's text vars and secrets (from compatibility date 2025-04-01, or the
 * nodejs_compat_populate_process_env flag), `getBuiltinModule`, nextTick, and inert values for
 * the rest. There is no host process behind it.
 */
const process: Record<string, any> = {
  env: outpost.processEnv(),
  getBuiltinModule: (id: string) => outpost.builtinModule(String(id)),
  features: { inspector: false, tls: false },
  release: { name: 'node' },
  title: 'workerd',
  pid: 1,
  ppid: 0,
  execArgv: [],
  arch: 'x64',
  memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
  uptime: () => performance.now() / 1000,
  umask: () => 0o22,
  argv: [],
  platform: 'linux',
  version: 'v20.0.0',
  versions: { node: '20.0.0' },
  browser: false,
  nextTick(fn: (...a: unknown[]) => void, ...args: unknown[]) {
    queueMicrotask(() => fn(...args));
  },
  cwd: () => '/',
  emitWarning: (w: unknown) => console.warn(w),
  exit() {
    throw new Error('process.exit() is not supported in Workers');
  },
  hrtime: Object.assign(
    (prev?: [number, number]) => {
      const ns = BigInt(Math.round(performance.now() * 1e6));
      const t: [number, number] = [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
      if (!prev) return t;
      let s = t[0] - prev[0];
      let n = t[1] - prev[1];
      if (n < 0) {
        s--;
        n += 1e9;
      }
      return [s, n];
    },
    { bigint: () => BigInt(Math.round(performance.now() * 1e6)) },
  ),
  on: () => process,
  off: () => process,
  once: () => process,
  emit: () => false,
};

export default process;
export const env = process.env;
export const nextTick = process.nextTick;
export const getBuiltinModule = process.getBuiltinModule;
export const platform = process.platform;
