/**
 * Streaming edge rendering (examples/react-streaming, docs/streaming.md): time to first byte
 * and total time of the React page streamed with renderToReadableStream, against the same page
 * buffered until every Suspense boundary has rendered (`?mode=buffered`), with the personalised
 * data delayed by `?delay=ms`. The server (Outpost's PoP front, bench/servers/outpost.ts) on
 * core 0, this process as the client on core 1; the two modes alternate in batches so that
 * drift in the machine falls on both. Latency, not throughput: one request in flight, then a few.
 */
import http from 'node:http';
import { pin, startNode } from './platform.ts';
import { fmt, median, percentile } from './util.ts';

interface Sample {
  /** ms from sending the request to the first body byte, and to the end of the body. */
  ttfb: number;
  total: number;
}

/** One GET, timed; throws unless the page arrived whole. */
function timed(agent: http.Agent, port: number, path: string): Promise<Sample> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let ttfb = -1;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (ttfb < 0) ttfb = performance.now() - t0;
          body += c;
        });
        res.on('end', () => {
          // A limit's 503 names the limit in its body: show it. (On an oversubscribed machine the
          // CPU limit can be met by time the isolate's thread spent descheduled; docs/runtime.md.)
          if (res.statusCode !== 200 || !body.includes('id="recommendations"') || !body.endsWith('</html>'))
            return reject(new Error(`${path}: status ${res.statusCode}: ${body.slice(0, 200)}`));
          resolve({ ttfb, total: performance.now() - t0 });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** `count` requests of `path`, `inFlight` at a time. */
async function batch(agent: http.Agent, port: number, path: string, count: number, inFlight: number) {
  const out: Sample[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < count) out.push(await timed(agent, port, path));
    }),
  );
  return out;
}

const row = (label: string, s: Sample[]) => {
  const t = s.map((x) => x.ttfb);
  const a = s.map((x) => x.total);
  return `    ${label.padEnd(10)} TTFB p50 ${fmt(median(t), 1).padStart(6)} ms  p90 ${fmt(percentile(t, 90), 1).padStart(6)} ms   total p50 ${fmt(median(a), 1).padStart(6)} ms  p90 ${fmt(percentile(a, 90), 1).padStart(6)} ms`;
};

export async function streamingBench(opts: { requests: number; delayMs: number; inFlight: number[] }) {
  const pinned = pin(process.pid, 1);
  const server = await startNode('outpost', ['examples/react-streaming'], 'Outpost');
  const table = [
    `Streaming edge rendering (examples/react-streaming), data delayed ${opts.delayMs} ms, ${opts.requests} requests per mode and level${pinned ? ', server on core 0, client on core 1' : ' (not pinned)'}`,
  ];
  const ratios: Record<string, number> = {};
  const paths = {
    streaming: `/?delay=${opts.delayMs}`,
    buffered: `/?delay=${opts.delayMs}&mode=buffered`,
  };
  try {
    for (const inFlight of opts.inFlight) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
      // Warm the isolate (React's first render compiles its code) and the connections.
      for (const path of Object.values(paths)) await batch(agent, server.port, path, 4 * inFlight, inFlight);
      const got = { streaming: [] as Sample[], buffered: [] as Sample[] };
      const rounds = 4;
      for (let i = 0; i < rounds; i++) {
        const order = i % 2 ? (['buffered', 'streaming'] as const) : (['streaming', 'buffered'] as const);
        for (const mode of order)
          got[mode].push(
            ...(await batch(agent, server.port, paths[mode], Math.ceil(opts.requests / rounds), inFlight)),
          );
      }
      agent.destroy();
      const ttfb = median(got.streaming.map((s) => s.ttfb)) / median(got.buffered.map((s) => s.ttfb));
      const total = median(got.streaming.map((s) => s.total)) / median(got.buffered.map((s) => s.total));
      ratios[`ttfb ${inFlight} in flight`] = ttfb;
      ratios[`total ${inFlight} in flight`] = total;
      table.push(
        `  ${inFlight} in flight`,
        row('streaming', got.streaming),
        row('buffered', got.buffered),
        `    ratio streaming/buffered (p50): TTFB ${fmt(ttfb, 3)}x, total ${fmt(total, 3)}x`,
      );
    }
  } finally {
    server.stop();
  }
  return { table, ratios };
}
