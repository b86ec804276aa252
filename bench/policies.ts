/**
 * What each platform policy adds to a request (issue: JWT RS256 with a cached key, a rate-limit
 * check, the WAF on a typical request), against the same route without it, in the same run:
 * the hello worker behind a PoP front pinned to core 0, wrk on core 1; throughput with 64
 * connections, latency (p50) with one. Fresh server processes each round, settings interleaved.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parseSecurity } from '../src/config/index.ts';
import { startNatsServer } from '../src/kv/nats-harness.ts';
import { JwtVerifier, keyResolver } from '../src/security/jwt/index.ts';
import { hasWrk, latencyP50, load, pin, startNode } from './platform.ts';
import { fmt, median } from './util.ts';

export async function policiesBench(opts: { rounds: number; seconds: number }) {
  if (!hasWrk)
    return { table: ['Policies: not measured: wrk is not installed (apt-get install -y wrk)'], ratios: {} };
  const pinned = pin(process.pid, 1);
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256' };
  const token = await new SignJWT({ sub: 'user-42', permissions: ['read'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setExpirationTime('2h')
    .sign(privateKey);
  // A typical browser request: the same fields for every setting, so only the policy differs.
  const browser = [
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language: en-US,en;q=0.9',
    'Cookie: session=3f9a1c; theme=dark',
    `Authorization: Bearer ${token}`,
    'X-API-Key: bench-client',
  ];
  const varied = join(import.meta.dirname, 'fixtures', 'varied-query.lua');
  // Shared counters (outpost node, dev --nats): a nats-server for the run, on the load's core.
  let nats: Awaited<ReturnType<typeof startNatsServer>> | null = null;
  try {
    nats = await startNatsServer();
  } catch {}
  const natsAt = nats ? natsPid(nats.port) : 0;
  if (natsAt > 0) pin(natsAt, 1);
  const settings: {
    label: string;
    security?: object;
    keys?: object;
    headers: string[];
    script?: string;
    nats?: boolean;
  }[] = [
    { label: 'none', headers: browser },
    {
      label: 'JWT RS256',
      security: {
        jwt: [{ algorithms: ['RS256'], keys_kv: 'bench-keys', forward: { sub: 'X-User-ID' } }],
      },
      keys: { bench: JSON.stringify(jwk) },
      headers: browser,
    },
    {
      label: 'rate limit',
      // A limit no run reaches: the cost measured is the check, not refusals.
      security: { rate_limit: [{ name: 'api', limit: 1_000_000, period: 60, key: 'header:X-API-Key' }] },
      headers: browser,
    },
    ...(nats
      ? [
          {
            label: 'rate limit, NATS',
            // Fixed: a shared sliding window this large is refused (it is stored whole).
            security: {
              rate_limit: [
                { name: 'api', mode: 'fixed', limit: 1_000_000, period: 60, key: 'header:X-API-Key' },
              ],
            },
            headers: browser,
            nats: true,
          },
        ]
      : []),
    { label: 'WAF', security: { waf: {} }, headers: browser },
    // The same with a query that differs on every request: values the WAF has not seen.
    { label: 'none, new q', headers: browser, script: varied },
    { label: 'WAF, new q', security: { waf: {} }, headers: browser, script: varied },
  ];
  const path = '/?q=summer+shoes&page=2';
  const rps = settings.map(() => [] as number[]);
  const p50 = settings.map(() => [] as number[]);
  for (let i = 0; i < opts.rounds; i++) {
    const order = settings.map((_, k) => k);
    if (i % 2) order.reverse();
    for (const k of order) {
      const s = settings[k];
      if (s.security) process.env.OUTPOST_BENCH_SECURITY = JSON.stringify(s.security);
      if (s.keys) process.env.OUTPOST_BENCH_KV_KEYS = JSON.stringify(s.keys);
      if (s.nats && nats) process.env.OUTPOST_BENCH_NATS = nats.url;
      const target = await startNode('outpost', ['hello'], s.label);
      delete process.env.OUTPOST_BENCH_SECURITY;
      delete process.env.OUTPOST_BENCH_KV_KEYS;
      delete process.env.OUTPOST_BENCH_NATS;
      try {
        await load(target.port, path, 1, 12, s.headers, s.script);
        rps[k].push(await load(target.port, path, opts.seconds, 12, s.headers, s.script));
        p50[k].push(latencyP50(target.port, path, 2, s.headers, s.script));
      } finally {
        target.stop();
      }
    }
  }
  // Each setting against its baseline: the first, or the one with the same request script.
  const baseOf = (k: number) => settings.findIndex((b) => !b.security && b.script === settings[k].script);
  const table = [
    `Platform policies on a hello-world route, one core for the server${pinned ? '' : ' (not pinned)'}, fresh processes each round (medians of ${opts.rounds})`,
  ];
  const ratios: Record<string, number> = {};
  for (let k = 0; k < settings.length; k++) {
    const r = median(rps[k]);
    const l = median(p50[k]);
    const base = median(rps[baseOf(k)]);
    const baseLatency = median(p50[baseOf(k)]);
    ratios[settings[k].label] = r / base;
    table.push(
      `  ${settings[k].label.padEnd(12)} ${fmt(r, 0).padStart(7)} req/s (${fmt(r / base, 3)}x, ${fmt((1 / r - 1 / base) * 1e6, 1)} µs a request)   p50 ${fmt(l, 3)} ms (+${fmt((l - baseLatency) * 1000, 0)} µs)`,
    );
  }
  if (!nats)
    table.push(
      '  rate limit, NATS: not measured: nats-server is not installed (apt-get install -y nats-server)',
    );
  await nats?.dispose();
  // A token seen for the first time is checked in full (the figures above reuse one token,
  // whose verdict is remembered): that cost, in this process, over distinct tokens.
  const policy = parseSecurity({ jwt: [{ algorithms: ['RS256'], keys_kv: 'k' }] }, 'bench')?.jwt[0];
  if (policy) {
    const verifier = new JwtVerifier(
      policy,
      keyResolver(policy.keys, { kvRead: async () => JSON.stringify(jwk) }),
    );
    const tokens = await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        new SignJWT({ sub: `user-${i}` })
          .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
          .setExpirationTime('2h')
          .sign(privateKey),
      ),
    );
    await verifier.verify(tokens[0]);
    const started = performance.now();
    for (const t of tokens.slice(1))
      if (!(await verifier.verify(t)).ok) throw new Error('a bench token failed');
    const us = ((performance.now() - started) * 1000) / (tokens.length - 1);
    table.push(
      `  JWT RS256 first sight of a token (full verification, in-process, this core): ${fmt(us, 1)} µs`,
    );
    ratios['JWT RS256 uncached µs'] = us;
  }
  return { table, ratios };
}

/** The pid of the nats-server listening on `port` (to pin it beside the load generator). */
function natsPid(port: number): number {
  const out = execFileSync('pgrep', ['-f', `nats-server .*-p ${port}`])
    .toString()
    .trim()
    .split('\n')[0];
  return Number(out);
}
