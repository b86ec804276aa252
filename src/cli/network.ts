/**
 * `outpost network up | status | down`: a whole network of processes on this machine for
 * development and tests — nats-server (JetStream), one `outpost node` per PoP, one `outpost
 * shield` per shield region those PoPs use, and `outpost router` in front — started detached,
 * logged to files, and written down in `<dir>/network.json` so `down` can stop exactly them.
 * The same commands a multi-machine deployment runs (docs/deploying.md), on loopback.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { loadTopology, Membership, type Topology } from '../network/index.ts';
import { CliError } from './cache.ts';
import type { CliIo, Command } from './commands.ts';
import { deployCommand } from './deploy.ts';
import { outpostArgv } from './spawn.ts';

interface Proc {
  role: 'nats' | 'node' | 'shield' | 'router';
  /** The PoP or shield region; 'nats' and 'router' for those. */
  name: string;
  pid: number;
  url: string;
  log: string;
}

interface NetworkState {
  topology: string;
  nats: string;
  router: string;
  startedAt: string;
  processes: Proc[];
}

const STATE = 'network.json';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(dir: string): NetworkState | null {
  const file = join(dir, STATE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NetworkState;
  } catch (err) {
    throw new CliError(`${file} is not a network this command wrote: ${(err as Error).message}`);
  }
}

/** The last lines of a process's log, to say why it did not come up. */
function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new CliError(`${what} within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** Stop the processes of a network: SIGTERM (they leave the membership), SIGKILL what lingers. */
async function stopAll(procs: Proc[], io: CliIo, graceMs = 10_000): Promise<void> {
  // Routers and nodes before shields, NATS last: nodes leave the membership while NATS is up.
  const order = ['router', 'node', 'shield', 'nats'];
  for (const role of order) {
    const group = procs.filter((p) => p.role === role && alive(p.pid));
    for (const p of group) process.kill(p.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (group.some((p) => alive(p.pid)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    for (const p of group.filter((x) => alive(x.pid))) {
      io.err(`${p.role} ${p.name} (pid ${p.pid}) did not stop within ${graceMs} ms: killed\n`);
      process.kill(p.pid, 'SIGKILL');
    }
  }
}

function pickPops(topology: Topology, list: unknown): string[] {
  if (list === undefined) return topology.pops.map((p) => p.id);
  const ids = String(list)
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const unknown = ids.filter((id) => !topology.pops.some((p) => p.id === id));
  if (!ids.length || unknown.length)
    throw new CliError(
      `--pops: ${unknown.length ? `no PoP ${unknown.join(', ')} in` : 'give PoP ids of'} topology ${topology.name} (it has ${topology.pops.map((p) => p.id).join(', ')})`,
    );
  return [...new Set(ids)];
}

export const networkUpCommand: Command = {
  name: 'network up',
  summary: 'Start a network of processes on this machine: nats-server, a node per PoP, shields, the router',
  args: '[project]',
  options: [
    { name: 'topology', type: 'string', default: 'world', help: 'a built-in topology or a topology file' },
    {
      name: 'pops',
      type: 'string',
      help: 'only these PoPs, comma-separated (default: every PoP of the topology)',
    },
    { name: 'port', type: 'number', default: 8080, help: "the router's port (0 picks a free one)" },
    {
      name: 'dir',
      type: 'string',
      default: '.outpost-network',
      help: 'where the network keeps its state, data and logs',
    },
    {
      name: 'timeout-ms',
      type: 'number',
      default: 180_000,
      help: 'how long to wait for every process to come up',
    },
  ],
  async run(positionals, v, io) {
    const dir = resolve(String(v.dir));
    const before = readState(dir);
    if (before?.processes.some((p) => alive(p.pid)))
      throw new CliError(
        `a network is already up from ${dir} (router ${before.router}): outpost network down --dir ${v.dir} first`,
      );
    if (spawnSync('nats-server', ['--version']).error)
      throw new CliError(
        'nats-server is not installed (Debian: apt-get install -y nats-server; or https://nats.io)',
      );
    const topologyName = String(v.topology);
    const topology = loadTopology(topologyName);
    const pops = pickPops(topology, v.pops);
    const shields = [
      ...new Set(pops.map((id) => topology.pops.find((p) => p.id === id)?.shield ?? '')),
    ].filter((s) => topology.shields.some((x) => x.id === s));
    const timeoutMs = Number(v['timeout-ms']);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const secretFile = join(dir, 'secret');
    if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(24).toString('hex'), { mode: 0o600 });
    const procs: Proc[] = [];
    const state: NetworkState = {
      topology: topologyName,
      nats: '',
      router: '',
      startedAt: new Date().toISOString(),
      processes: procs,
    };
    const save = () => writeFileSync(join(dir, STATE), `${JSON.stringify(state, null, 2)}\n`);
    const launch = (
      role: Proc['role'],
      name: string,
      cmd: string,
      args: string[],
      url: string,
    ): ChildProcess => {
      const log = join(dir, 'logs', `${role === 'node' || role === 'shield' ? `${role}-${name}` : role}.log`);
      const fd = openSync(log, 'w');
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      child.unref();
      if (child.pid === undefined) throw new CliError(`could not start ${role} ${name}: see ${log}`);
      procs.push({ role, name, pid: child.pid, url, log });
      save();
      return child;
    };
    try {
      const natsPort = await freePort();
      state.nats = `nats://127.0.0.1:${natsPort}`;
      const natsDir = join(dir, 'nats');
      mkdirSync(natsDir, { recursive: true });
      launch(
        'nats',
        'nats',
        'nats-server',
        ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', natsDir],
        state.nats,
      );
      await until('nats-server did not accept connections', 15_000, async () =>
        (await tcpOpen(natsPort)) ? true : undefined,
      );
      io.out(`  nats-server on ${state.nats}\n`);
      if (positionals[0] !== undefined) {
        const defaults = Object.fromEntries(
          deployCommand.options.filter((o) => o.default !== undefined).map((o) => [o.name, o.default]),
        );
        const code = await deployCommand.run(
          [positionals[0]],
          { ...defaults, nats: state.nats, waves: 'all', wait: 0, topology: topologyName },
          io,
        );
        if (code) throw new CliError(`deploying ${positionals[0]} failed`);
      }
      const outpost = outpostArgv();
      const common = ['--nats', state.nats, '--topology', topologyName, '--secret-file', secretFile];
      for (const s of shields) {
        const port = await freePort();
        launch(
          'shield',
          s,
          process.execPath,
          [
            ...outpost,
            'shield',
            ...common,
            '--shield',
            s,
            '--port',
            String(port),
            '--egress-allow',
            'loopback',
          ],
          `http://127.0.0.1:${port}`,
        );
      }
      for (const p of pops) {
        const port = await freePort();
        launch(
          'node',
          p,
          process.execPath,
          [
            ...outpost,
            'node',
            ...common,
            '--pop',
            p,
            '--port',
            String(port),
            '--processes',
            '1',
            '--dir',
            join(dir, 'nodes', p),
            '--egress-allow',
            'loopback',
            '--trusted-proxy-header',
            'x-forwarded-for',
          ],
          `http://127.0.0.1:${port}`,
        );
      }
      const routerPort = Number(v.port) === 0 ? await freePort() : Number(v.port);
      state.router = `http://127.0.0.1:${routerPort}`;
      launch(
        'router',
        'router',
        process.execPath,
        [
          ...outpost,
          'router',
          '--nats',
          state.nats,
          '--topology',
          topologyName,
          '--port',
          String(routerPort),
        ],
        state.router,
      );
      // Up when every node and shield heartbeats and the router answers.
      const members = await Membership.connect({ servers: state.nats });
      try {
        await members.watch();
        const want = pops.length + shields.length;
        await until(`not every node and shield joined (see ${join(dir, 'logs')})`, timeoutMs, () => {
          const dead = procs.find((p) => !alive(p.pid));
          if (dead) throw new CliError(`${dead.role} ${dead.name} exited:\n${tail(dead.log)}`);
          return members.members().length >= want ? true : undefined;
        });
      } finally {
        await members.close();
      }
      await until('the router did not answer', 30_000, async () =>
        (await tcpOpen(routerPort)) ? true : undefined,
      );
    } catch (err) {
      io.err(`outpost network up failed; stopping what started\n`);
      await stopAll(procs, io, 3000);
      rmSync(join(dir, STATE), { force: true });
      throw err;
    }
    const first = topology.pops.find((p) => p.id === pops[0]);
    io.out(
      `\n  Outpost network up: ${pops.length} node(s) (${pops.join(', ')}), ${shields.length} shield(s), router on ${state.router}\n` +
        `  NATS        ${state.nats}   (export OUTPOST_NATS=${state.nats})\n` +
        `  Try         curl -i -H 'Outpost-Client-Location: ${first?.city ?? pops[0]}' ${state.router}/\n` +
        `  Deploy      outpost deploy <project> --nats ${state.nats}\n` +
        `  Logs        ${join(dir, 'logs')}\n` +
        `  Stop        outpost network down${v.dir === '.outpost-network' ? '' : ` --dir ${v.dir}`}\n\n`,
    );
    return 0;
  },
};

export const networkStatusCommand: Command = {
  name: 'network status',
  summary: 'The processes of the network `outpost network up` started, and whether each is alive',
  options: [
    { name: 'dir', type: 'string', default: '.outpost-network', help: 'the directory given to network up' },
  ],
  async run(_p, v, io) {
    const state = readState(resolve(String(v.dir)));
    if (!state) {
      io.out(`no network is up from ${v.dir}\n`);
      return 1;
    }
    io.out(
      `router ${state.router}, NATS ${state.nats}, topology ${state.topology}, up since ${state.startedAt}\n`,
    );
    let down = 0;
    for (const p of state.processes) {
      const up = alive(p.pid);
      if (!up) down++;
      io.out(
        `  ${p.role.padEnd(6)} ${p.name.padEnd(8)} pid ${String(p.pid).padEnd(7)} ${up ? 'alive' : 'DEAD '}  ${p.url}\n`,
      );
    }
    return down ? 1 : 0;
  },
};

export const networkDownCommand: Command = {
  name: 'network down',
  summary: 'Stop the network `outpost network up` started',
  options: [
    { name: 'dir', type: 'string', default: '.outpost-network', help: 'the directory given to network up' },
  ],
  async run(_p, v, io) {
    const dir = resolve(String(v.dir));
    const state = readState(dir);
    if (!state) {
      io.out(`no network is up from ${dir}\n`);
      return 0;
    }
    await stopAll(state.processes, io);
    rmSync(join(dir, STATE), { force: true });
    io.out(`stopped ${state.processes.length} process(es); logs and data stay in ${dir}\n`);
    return 0;
  },
};

export const networkCommands: Command[] = [networkUpCommand, networkStatusCommand, networkDownCommand];
