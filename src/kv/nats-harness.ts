/**
 * Test support: a real `nats-server` (Debian's package) with JetStream in a temp folder on a
 * free loopback port. Tests that need NATS fail, naming the package, when it is missing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Start it again on the same port and store (after stop()). */
  restart(): Promise<void>;
  /**
   * Freeze the process (SIGSTOP): connections stay open, nothing is answered. Resolves once
   * every thread has stopped: a group stop is asynchronous, and under load a thread still
   * running could answer a write sent right after kill() returned.
   */
  freeze(): Promise<void>;
  /** Let a frozen process run on (SIGCONT). */
  thaw(): void;
  dispose(): Promise<void>;
}

/** Whether every thread of process `pid` is stopped (state T in /proc/<pid>/task/<tid>/stat). */
function allStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state follows the parenthesised command name, which may itself hold spaces.
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
    });
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startNatsServer(): Promise<NatsServer> {
  if (spawnSync('nats-server', ['--version']).error)
    throw new Error(
      'nats-server is not installed (Debian: apt-get install -y nats-server); the NATS tests need it',
    );
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'outpost-nats-'));
  let child: ChildProcess | null = null;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      let out = '';
      const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${out}`)), 10_000);
      const onData = (d: Buffer) => {
        out += d;
        if (out.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout?.on('data', onData);
      c.stderr?.on('data', onData);
      c.once('exit', (code) => {
        clearTimeout(timer);
        if (!out.includes('Server is ready')) reject(new Error(`nats-server exited (${code}): ${out}`));
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const c = child as ChildProcess | null;
      child = null;
      if (!c || c.exitCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGCONT'); // a frozen server cannot act on SIGTERM
      c.kill('SIGTERM');
    });
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    restart: start,
    freeze: async () => {
      const c = child as ChildProcess | null;
      if (!c?.pid) return;
      c.kill('SIGSTOP');
      const until = Date.now() + 5000;
      while (!allStopped(c.pid)) {
        if (Date.now() > until) throw new Error('nats-server did not stop within 5 s of SIGSTOP');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    thaw: () => void (child as ChildProcess | null)?.kill('SIGCONT'),
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface NatsCluster {
  /** Every server's client URL, comma-separated (what --nats takes). */
  urls: string;
  servers: { url: string; stop(): Promise<void>; restart(): Promise<void> }[];
  dispose(): Promise<void>;
}

/**
 * A JetStream cluster of `size` nats-servers on loopback (routes between all of them), resolved
 * once a metadata leader is elected, so streams and buckets with `size` replicas can be made.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  if (spawnSync('nats-server', ['--version']).error)
    throw new Error(
      'nats-server is not installed (Debian: apt-get install -y nats-server); the NATS tests need it',
    );
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = await Promise.all(Array.from({ length: size }, () => freePort()));
  const root = mkdtempSync(join(tmpdir(), 'outpost-nats-cluster-'));
  const children: (ChildProcess | null)[] = Array(size).fill(null);
  let leader = false;
  const start = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(
        'nats-server',
        [
          '-a',
          '127.0.0.1',
          '-p',
          String(ports[i]),
          '-js',
          '-sd',
          join(root, `s${i}`),
          '--server_name',
          `s${i}`,
          '--cluster_name',
          'outpost',
          '--cluster',
          `nats://127.0.0.1:${routes[i]}`,
          '--routes',
          routes
            .filter((_, j) => j !== i)
            .map((p) => `nats://127.0.0.1:${p}`)
            .join(','),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children[i] = c;
      let out = '';
      const timer = setTimeout(() => reject(new Error(`nats-server s${i} did not start: ${out}`)), 15_000);
      const onData = (d: Buffer) => {
        out += d;
        if (/metadata leader|JetStream cluster new/i.test(out)) leader = true;
        if (out.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout?.on('data', onData);
      c.stderr?.on('data', onData);
    });
  const stop = (i: number) =>
    new Promise<void>((resolve) => {
      const c = children[i];
      children[i] = null;
      if (!c || c.exitCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  await Promise.all(ports.map((_, i) => start(i)));
  const until = Date.now() + 20_000;
  while (!leader && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (!leader) throw new Error('the NATS cluster elected no JetStream metadata leader within 20 s');
  // A leader is not yet a cluster: wait until a stream with `size` replicas can be placed.
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: ports.map((p) => `nats://127.0.0.1:${p}`) });
  try {
    // checkAPI off: the account-info probe is one request with the client's default timeout,
    // which a forming cluster can miss; the loop below retries until the deadline instead.
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 5_000 });
    for (;;) {
      try {
        await jsm.streams.add({
          name: 'OUTPOST_HARNESS_PROBE',
          subjects: ['outpost.harness.probe'],
          num_replicas: size,
        });
        await jsm.streams.delete('OUTPOST_HARNESS_PROBE');
        break;
      } catch (err) {
        if (Date.now() > until)
          throw new Error(`the NATS cluster cannot place ${size} replicas: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await nc.close();
  }
  return {
    urls: ports.map((p) => `nats://127.0.0.1:${p}`).join(','),
    servers: ports.map((p, i) => ({
      url: `nats://127.0.0.1:${p}`,
      stop: () => stop(i),
      restart: () => start(i),
    })),
    dispose: async () => {
      await Promise.all(ports.map((_, i) => stop(i)));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
