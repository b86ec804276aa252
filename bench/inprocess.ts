// The runtime alone, per core: requests given to `Runtime.handle` in one process pinned to one
// core, with no HTTP in front (bench/inprocess-child.ts), against hello world in the same run.
// What a worker's isolate and the runtime's bookkeeping cost a request, apart from the PoP's
// HTTP (the per-core table, bench/percore.ts, has both): where the floor of isolated-vm's
// crossings is, and what a Durable Object call adds to a request.
import { fmt, median, runChild } from './util.ts';

interface Round {
  rps: number;
  allUs: number;
  mainUs: number;
}

const CASES: { label: string; fixture: string; path: string; headers?: string[] }[] = [
  { label: 'hello world (baseline)', fixture: 'hello', path: '/' },
  {
    label: 'request headers echoed as JSON',
    fixture: 'echo',
    path: '/',
    // What the per-core bench's browser sends, and what the PoP adds (bench/percore.ts, BROWSER).
    headers: [
      'user-agent',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      'accept',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-language',
      'en-GB,en;q=0.9',
      'accept-encoding',
      'gzip, deflate, br',
      'cookie',
      'session=0123456789abcdef; theme=dark',
      'referer',
      'https://example.com/',
      'cf-connecting-ip',
      '127.0.0.1',
      'x-forwarded-proto',
      'http',
      'cf-ray',
      '8f2b3c4d5e6f7081-DEV',
    ],
  },
  { label: 'one Durable Object by RPC', fixture: 'durable', path: '/rpc' },
  { label: 'one Durable Object by stub.fetch()', fixture: 'durable', path: '/fetch' },
];

export async function inProcessBench(opts: { rounds: number; seconds: number }) {
  const rows: { label: string; rps: number; allUs: number; mainUs: number }[] = [];
  for (const c of CASES) {
    const rounds = await runChild<Round[]>('inprocess-child.ts', [
      c.fixture,
      c.path,
      String(opts.seconds),
      String(opts.rounds),
      JSON.stringify(c.headers ?? []),
    ]);
    rows.push({
      label: c.label,
      rps: median(rounds.map((r) => r.rps)),
      allUs: median(rounds.map((r) => r.allUs)),
      mainUs: median(rounds.map((r) => r.mainUs)),
    });
  }
  const base = rows[0];
  return {
    rows,
    table: [
      `The runtime alone: Runtime.handle in one process on one core, 64 requests at a time, no HTTP (${opts.rounds} rounds × ${opts.seconds} s, medians)`,
      ...rows.map(
        (r) =>
          `  ${r.label.padEnd(36)} ${fmt(r.rps, 0).padStart(7)} req/s (${fmt(r.rps / base.rps, 2)}x)   CPU per request ${fmt(r.allUs, 1).padStart(5)} µs, main thread ${fmt(r.mainUs, 1).padStart(5)} µs, isolates' threads ${fmt(r.allUs - r.mainUs, 1).padStart(5)} µs`,
      ),
    ],
  };
}
