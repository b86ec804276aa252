/**
 * `outpost network up | status | down`: a whole network of processes on this machine for
 * development and tests — nats-server (JetStream), one `outpost node` per PoP, one `outpost
 * shield` per shield region those PoPs use, and `outpost router` in front — started detached,
 * logged to files, and written down in `<dir>/network.json` so `down` can stop exactly them.
 * The same commands a multi-machine deployment runs (docs/deploying.md), on loopback.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { loadTopology, Membership, popById, type Topology } from '../network/index.ts';
import { CliError } from './cache.ts';
import type { CliIo, Command, OptionSpec } from './commands.ts';
import { deployCommand } from './deploy.ts';
import { outpostArgv } from './spawn.ts';

interface Proc {
  role: 'nats' | 'node' | 'shield' | 'router';
  /** When the process started (/proc/<pid>/stat), so a pid reused by another process is not ours. */
  start?: string;
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
  /** The kernel's boot id when the network came up: after a reboot no pid is ours. */
  boot?: string;
  processes: Proc[];
}

const STATE = 'network.json';

const DIR_GIVEN: OptionSpec = {
  name: 'dir',
  type: 'string',
  default: '.outpost-network',
  help: 'the directory given to network up',
};

/** Ports handed out by this process: the kernel may give the same ephemeral port twice. */
const issued = new Set<number>();

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    if (!issued.has(port)) {
      issued.add(port);
      return port;
    }
  }
}

/** Whether `port` on 127.0.0.1 can be listened on now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A process's start time in clock ticks since boot, or null when it is gone or a zombie. */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : fields[19];
  } catch {
    return null;
  }
}

const HAS_PROC = existsSync('/proc/self/stat');

/** Whether the process recorded as `p` is still that process (not a pid reused by another). */
function alive(p: Proc, boot: string | undefined): boolean {
  if (HAS_PROC) {
    if (boot !== undefined && boot !== bootId()) return false;
    const start = procStart(p.pid);
    return start !== null && (p.start === undefined || start === p.start);
  }
  try {
    process.kill(p.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signal a process and the group it leads (it was started detached); gone already is fine. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {}
  }
}

function readState(dir: string): NetworkState | null {
  const file = join(dir, STATE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NetworkState;
  } catch (err) {
    throw new CliError(
      `${file} is not a network this command wrote (${(err as Error).message}); stop its processes yourself and delete it`,
    );
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

/**
 * Stop the processes of a network: SIGTERM (they leave the membership), SIGKILL what lingers;
 * resolves with those still running after that (none, normally).
 */
async function stopAll(state: NetworkState, io: CliIo, graceMs = 10_000): Promise<Proc[]> {
  const live = (p: Proc) => alive(p, state.boot);
  const waitGone = async (group: Proc[], ms: number) => {
    const deadline = Date.now() + ms;
    while (group.some(live) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };
  // Routers and nodes before shields, NATS last: nodes leave the membership while NATS is up.
  for (const role of ['router', 'node', 'shield', 'nats']) {
    const group = state.processes.filter((p) => p.role === role && live(p));
    for (const p of group) signal(p.pid, 'SIGTERM');
    await waitGone(group, graceMs);
    const stuck = group.filter(live);
    for (const p of stuck) {
      io.err(`${p.role} ${p.name} (pid ${p.pid}) did not stop within ${graceMs} ms: killed\n`);
      signal(p.pid, 'SIGKILL');
    }
    await waitGone(stuck, 2000);
  }
  return state.processes.filter(live);
}

function pickPops(topology: Topology, list: unknown): string[] {
  if (list === undefined) return topology.pops.map((p) => p.id);
  const given = String(list)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // PoP ids match as popById matches them (any case); the topology's own spelling is kept.
  const ids = given.map((id) => popById(topology, id)?.id ?? id);
  const unknown = ids.filter((id) => !popById(topology, id));
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
    if (before?.processes.some((p) => alive(p, before.boot)))
      throw new CliError(
        `a network is already up from ${dir} (router ${before.router}): outpost network down --dir ${dir} first`,
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
    if (!existsSync(secretFile))
      writeFileSync(secretFile, randomBytes(24).toString('hex'), { mode: 0o600, flag: 'wx' });
    chmodSync(secretFile, 0o600);
    const routerPort = Number(v.port) === 0 ? await freePort() : Number(v.port);
    if (!(await portFree(routerPort)))
      throw new CliError(
        `--port ${routerPort}: something already listens there (give another, or 0 for a free one)`,
      );
    const procs: Proc[] = [];
    const state: NetworkState = {
      topology: topologyName,
      nats: '',
      router: '',
      startedAt: new Date().toISOString(),
      ...(bootId() ? { boot: bootId() } : {}),
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
      child.on('error', () => {}); // a failed spawn has no pid: reported below
      child.unref();
      if (child.pid === undefined) throw new CliError(`could not start ${role} ${name} (${cmd}): see ${log}`);
      const start = procStart(child.pid);
      procs.push({ role, name, pid: child.pid, ...(start ? { start } : {}), url, log });
      save();
      return child;
    };
    // Interrupted while coming up (Ctrl-C): what started is stopped, not left detached.
    const interrupted = () => {
      io.err('\ninterrupted: stopping what started\n');
      void stopAll(state, io, 3000).then(() => {
        rmSync(join(dir, STATE), { force: true });
        process.exit(130);
      });
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    process.once('SIGHUP', interrupted);
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
          const dead = procs.find((p) => !alive(p, state.boot));
          if (dead) throw new CliError(`${dead.role} ${dead.name} exited:\n${tail(dead.log)}`);
          return members.members().length >= want ? true : undefined;
        });
      } finally {
        await members.close();
      }
      // The router answers for itself (Outpost-Error or Outpost-Node), not just anything on the port.
      const router = procs.find((p) => p.role === 'router') as Proc;
      await until('the router did not answer', 30_000, async () => {
        if (!alive(router, state.boot)) throw new CliError(`the router exited:\n${tail(router.log)}`);
        try {
          const r = await fetch(`${state.router}/`, { signal: AbortSignal.timeout(2000) });
          await r.body?.cancel();
          return r.headers.has('outpost-error') || r.headers.has('outpost-node') ? true : undefined;
        } catch {
          return undefined;
        }
      });
    } catch (err) {
      io.err(`outpost network up failed; stopping what started\n`);
      await stopAll(state, io, 3000);
      rmSync(join(dir, STATE), { force: true });
      throw err;
    } finally {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      process.off('SIGHUP', interrupted);
    }
    const topologyFlag = topologyName === 'world' ? '' : ` --topology ${topologyName}`;
    io.out(
      `\n  Outpost network up: ${pops.length} node(s) (${pops.join(', ')}), ${shields.length} shield(s), router on ${state.router}\n` +
        `  NATS        ${state.nats}   (export OUTPOST_NATS=${state.nats})\n` +
        (positionals[0] === undefined
          ? '  Nothing is deployed yet: deploy a project first (below); until then nodes answer 503\n'
          : '') +
        // A PoP code is a location the router accepts (a city name may not survive a shell's encoding).
        `  Try         curl -i -H 'Outpost-Client-Location: ${pops[0]}' ${state.router}/\n` +
        `  Deploy      outpost deploy <project> --nats ${state.nats}${topologyFlag}\n` +
        `  Logs        ${join(dir, 'logs')}\n` +
        `  Stop        outpost network down --dir ${dir}\n\n`,
    );
    return 0;
  },
};

export const networkStatusCommand: Command = {
  name: 'network status',
  summary: 'The processes of the network `outpost network up` started, and whether each is alive',
  options: [DIR_GIVEN],
  async run(_p, v, io) {
    const dir = resolve(String(v.dir));
    const state = readState(dir);
    if (!state) {
      io.out(`no network is up from ${dir}\n`);
      return 1;
    }
    io.out(
      `router ${state.router}, NATS ${state.nats}, topology ${state.topology}, up since ${state.startedAt}\n`,
    );
    let down = 0;
    for (const p of state.processes) {
      const up = alive(p, state.boot);
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
  options: [DIR_GIVEN],
  async run(_p, v, io) {
    const dir = resolve(String(v.dir));
    const state = readState(dir);
    if (!state) {
      io.out(`no network is up from ${dir}\n`);
      return 0;
    }
    const running = state.processes.filter((p) => alive(p, state.boot)).length;
    const left = await stopAll(state, io);
    if (left.length) {
      // Kept in network.json, so another `down` (or the user) can deal with them.
      for (const p of left) io.err(`${p.role} ${p.name} (pid ${p.pid}) is still running\n`);
      return 1;
    }
    rmSync(join(dir, STATE), { force: true });
    io.out(
      `stopped ${running} process(es)${running < state.processes.length ? ` (${state.processes.length - running} had already exited)` : ''}; logs and data stay in ${dir}\n`,
    );
    return 0;
  },
};

export const networkCommands: Command[] = [networkUpCommand, networkStatusCommand, networkDownCommand];
