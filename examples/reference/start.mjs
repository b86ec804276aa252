#!/usr/bin/env node
// `npm start`: the reference application on the `world` topology with simulated latency — the
// origin (examples/reference/origin) and `outpost dev` in front of it, 21 PoPs in real cities.
// Ctrl+C stops both.
//
//   node examples/reference/start.mjs [--port 8787] [--origin-port 8790] [--no-latency]
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOrigin } from './origin/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const port = Number(arg('--port', '8787'));
const originPort = Number(arg('--origin-port', '8790'));
if (originPort !== 8790)
  console.warn('note: outpost.toml names the origin at 127.0.0.1:8790; edit it to match --origin-port');

let origin;
try {
  origin = await startOrigin(originPort);
} catch (err) {
  console.error(`The origin could not listen on 127.0.0.1:${originPort}: ${err.message}`);
  process.exit(1);
}
const latency = process.argv.includes('--no-latency') ? [] : ['--simulate-latency'];
const edge = spawn(
  process.execPath,
  [
    join(root, 'bin', 'outpost.mjs'),
    'dev',
    here,
    '--topology',
    'world',
    '--from',
    'Frankfurt',
    ...latency,
    '--port',
    String(port),
    // The worker imports the DocumentRoom of examples/document-room: builds may read the examples folder.
    '--build-root',
    join(root, 'examples'),
  ],
  { stdio: 'inherit' },
);
const stop = async (code) => {
  edge.kill('SIGINT');
  await origin.close();
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop(0));
edge.on('exit', async (code) => {
  await origin.close();
  process.exit(code ?? 0);
});

// Once the edge answers, say where to look.
const site = `http://127.0.0.1:${port}`;
for (let i = 0; i < 600; i++) {
  try {
    const res = await fetch(`${site}/assets/manifest.json`);
    if (res.ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
console.log(`
  The reference application (examples/reference/README.md): origin ${origin.url}, edge ${site}
  21 PoPs of the world topology, latency simulated; you are in Frankfurt unless a request says otherwise.

  ${site}/                      the home page, streamed from the edge (geo, A/B bucket, Early Hints)
  ${site}/esi/home              a page assembled at the edge from cached fragments (ESI)
  ${site}/api/products          the origin's API, cached 60 s at the edge (cf-cache-status)
  curl -i -H 'Outpost-Client-Location: Mumbai' ${site}/      the same page from another continent
  curl -i ${site}/api/me/flags                            401: the edge checks JWTs (token: ${origin.url}/auth/token?user=alice)
  ${site}/__outpost/             the dashboard: live requests, the PoPs, cache purge, KV versions per PoP
  ${site}/__outpost/metrics     Prometheus metrics (admin token in examples/reference/.outpost/admin.json)
`);
