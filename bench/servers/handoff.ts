// Two processes serving 'hello' behind one port, for the per-core bench's connection handoff
// (bench/percore.ts, key handoff): `affinity` — this process holds the port and hands each
// connection to the process of its host (src/network/affinity.ts, as `outpost node --processes`
// does); `cluster` — Node's cluster, round-robin (what it did before). The children are pinned
// to core 0 with this process (the bench pins it there; a child forked before that would not be).
import { execFileSync, fork } from 'node:child_process';
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { acceptHanded, processSlot, READY_MESSAGE, type Slot, shareByHost } from '../../src/network/index.ts';

const mode = process.argv[2];
const pinToCore0 = (pid: number) => {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(pid)], { stdio: 'ignore' });
  } catch {}
};
const hello = () => createServer((_req, res) => res.end('Hello World!'));

if (mode === 'child') {
  acceptHanded(hello());
  process.send?.(READY_MESSAGE);
} else if (mode === 'affinity') {
  const slots: Slot[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < 2; i++) {
    const c = fork(import.meta.filename, ['child'], { execArgv: process.execArgv });
    pinToCore0(c.pid as number);
    ready.push(new Promise((resolve) => slots.push(processSlot(c, resolve))));
  }
  await Promise.all(ready);
  const share = await shareByHost({ host: '127.0.0.1', port: 0, slots });
  process.send?.({ port: share.port });
} else if (cluster.isPrimary) {
  // Node's cluster: the primary listens once the first worker does; it tells the port.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  let listening = 0;
  for (let i = 0; i < 2; i++) {
    const w = cluster.fork({ HANDOFF_PORT: String(port) });
    pinToCore0(w.process.pid as number);
    w.on('listening', () => {
      if (++listening === 2) process.send?.({ port });
    });
  }
} else hello().listen(Number(process.env.HANDOFF_PORT), '127.0.0.1');
