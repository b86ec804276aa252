/** console: formats arguments in the isolate and sends one line to the host log. */
import { host } from './bridge.ts';

function inspect(v: unknown, depth: number, seen: Set<unknown>): string {
  if (typeof v === 'string') return depth === 0 ? v : JSON.stringify(v);
  if (typeof v === 'function') return `[Function: ${v.name || 'anonymous'}]`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return v.toString();
  if (v === null || typeof v !== 'object') return String(v);
  if (v instanceof Error) return v.stack || `${v.name}: ${v.message}`;
  if (seen.has(v)) return '[Circular]';
  if (depth > 2) return Array.isArray(v) ? '[Array]' : '[Object]';
  seen.add(v);
  try {
    if (Array.isArray(v)) return `[ ${v.map((x) => inspect(x, depth + 1, seen)).join(', ')} ]`;
    if (v instanceof Map)
      return `Map(${v.size}) { ${[...v].map(([k, x]) => `${inspect(k, depth + 1, seen)} => ${inspect(x, depth + 1, seen)}`).join(', ')} }`;
    if (v instanceof Set)
      return `Set(${v.size}) { ${[...v].map((x) => inspect(x, depth + 1, seen)).join(', ')} }`;
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength}) [...]`;
    const tag = (v as any)[Symbol.toStringTag];
    if (tag && typeof (v as any).url === 'string')
      return `${tag} { ${(v as any).method ?? (v as any).status} ${(v as any).url} }`;
    // Like Node's util.inspect, never run getters: show them as [Getter].
    const entries: string[] = [];
    for (const k of Object.keys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      const shown = !d
        ? 'undefined'
        : 'value' in d
          ? inspect(d.value, depth + 1, seen)
          : d.set
            ? '[Getter/Setter]'
            : '[Getter]';
      entries.push(`${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${shown}`);
    }
    const name = v.constructor && v.constructor !== Object ? `${v.constructor.name} ` : '';
    return entries.length === 0 ? `${name}{}` : `${name}{ ${entries.join(', ')} }`;
  } finally {
    seen.delete(v);
  }
}

function show(a: unknown): string {
  try {
    return inspect(a, 0, new Set());
  } catch {
    return '[uninspectable]'; // hostile Proxies and the like: console never throws
  }
}

/**
 * console.log / util.format: a first string argument may hold printf-style specifiers
 * (%s %d %i %f %j %o %O %c %%), as in Node and browsers; the rest are inspected and joined.
 */
export function format(args: unknown[]): string {
  let rest = args;
  let head = '';
  if (typeof args[0] === 'string' && args[0].includes('%')) {
    let i = 1;
    head = args[0].replace(/%([sdifjoOc%])/g, (m, k: string) => {
      if (k === '%') return '%';
      if (i >= args.length) return m;
      const v = args[i++];
      try {
        if (k === 's') return typeof v === 'string' ? v : show(v);
        if (k === 'd' || k === 'i') {
          if (typeof v === 'bigint') return `${v}n`;
          const n = Number(v);
          return String(k === 'i' ? Math.trunc(n) : n);
        }
        if (k === 'f') return String(Number.parseFloat(String(v)));
        if (k === 'j') return JSON.stringify(v);
        if (k === 'c') return '';
        return show(v);
      } catch {
        return '[uninspectable]';
      }
    });
    rest = args.slice(i);
    if (rest.length === 0) return head;
    return `${head} ${rest.map(show).join(' ')}`;
  }
  return rest.map(show).join(' ');
}

const counts = new Map<string, number>();
const timers = new Map<string, number>();

export const console = {
  log: (...a: unknown[]) => host.log('log', format(a)),
  info: (...a: unknown[]) => host.log('info', format(a)),
  debug: (...a: unknown[]) => host.log('debug', format(a)),
  trace: (...a: unknown[]) => host.log('debug', format(a)),
  warn: (...a: unknown[]) => host.log('warn', format(a)),
  error: (...a: unknown[]) => host.log('error', format(a)),
  assert: (cond: unknown, ...a: unknown[]) => {
    if (!cond) host.log('error', `Assertion failed${a.length ? `: ${format(a)}` : ''}`);
  },
  count: (label = 'default') => {
    const n = (counts.get(label) ?? 0) + 1;
    counts.set(label, n);
    host.log('info', `${label}: ${n}`);
  },
  time: (label = 'default') => void timers.set(label, Date.now()),
  timeEnd: (label = 'default') => {
    host.log('info', `${label}: ${Date.now() - (timers.get(label) ?? Date.now())}ms`);
    timers.delete(label);
  },
  table: (...a: unknown[]) => host.log('info', format(a)),
  dir: (...a: unknown[]) => host.log('info', format(a)),
};
