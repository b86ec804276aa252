/**
 * `outpost cache purge`: sends a purge to a running PoP's admin endpoint. The PoP comes from
 * --server, else `.outpost/admin.json` in the project folder (written by `outpost dev`). The
 * token follows the server's order, so that the same environment and files give both the same
 * token: --token, then OUTPOST_ADMIN_TOKEN, then `[admin] token` in the folder's outpost.toml,
 * then the token the running server wrote to `.outpost/admin.json` (one it made up).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Dispatcher } from 'undici';
import { parsePurge, publishPurge } from '../cache/index.ts';
import { adminTokenFromEnv, loadProxyConfig, PROXY_CONFIG_FILES } from '../config/index.ts';
import { undici } from '../http/undici.ts';
import { Membership } from '../network/index.ts';
import type { CliIo, Command } from './commands.ts';

export class CliError extends Error {
  readonly code = 'CLI_USAGE';
}

interface AdminTarget {
  url: string;
  token: string;
  /** Where the token came from, for the message when the server refuses it. */
  source: string;
}

export function adminTarget(dir: string, server: unknown, token: unknown): AdminTarget {
  const file = join(resolve(dir), '.outpost', 'admin.json');
  let saved: { url?: string; token?: string } = {};
  if (existsSync(file)) {
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new CliError(`${file} is not valid JSON; restart outpost dev to rewrite it`);
    }
  }
  const url = (server as string | undefined) ?? saved.url;
  if (!url)
    throw new CliError(
      `no running dev network found (${file} is missing): start \`outpost dev\` there, or pass --server URL`,
    );
  if (typeof token === 'string') return { url, token, source: '--token' };
  const env = adminTokenFromEnv();
  if (env !== undefined) return { url, token: env, source: 'OUTPOST_ADMIN_TOKEN' };
  const root = resolve(dir);
  if (PROXY_CONFIG_FILES.some((f) => existsSync(join(root, f)))) {
    const config = loadProxyConfig(root, {});
    if (config.adminToken)
      return { url, token: config.adminToken, source: `[admin] token in ${config.configPath}` };
  }
  if (saved.token) return { url, token: saved.token, source: file };
  throw new CliError(
    'no admin token: pass --token, set OUTPOST_ADMIN_TOKEN or give [admin] token in outpost.toml',
  );
}

/**
 * POST a JSON body to a running network's admin endpoint; the answer as JSON with its status.
 * Unreachable servers and answers that are not JSON are CliErrors saying so.
 */
export async function adminPost<T>(
  target: AdminTarget,
  path: string,
  body: unknown,
): Promise<{ status: number; answer: T; text: string }> {
  let res: Dispatcher.ResponseData;
  try {
    res = await undici().request(new URL(path, target.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${target.url}: ${(err as Error).message} (is outpost dev running?)`);
  }
  const text = await res.body.text();
  try {
    return { status: res.statusCode, answer: JSON.parse(text) as T, text };
  } catch {
    throw new CliError(`${target.url} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  }
}

export const cachePurgeCommand: Command = {
  name: 'cache purge',
  summary: 'Purge the edge cache of a running network by URL, prefix, tag or everything',
  args: '[dir]',
  options: [
    { name: 'url', type: 'string', multiple: true, help: 'purge this URL (repeatable)' },
    {
      name: 'prefix',
      type: 'string',
      multiple: true,
      help: 'purge URLs starting with this (host/path or full URL; repeatable)',
    },
    {
      name: 'tag',
      type: 'string',
      multiple: true,
      help: 'purge responses tagged so by Cache-Tag / Surrogate-Key (repeatable)',
    },
    { name: 'everything', type: 'boolean', default: false, help: 'purge everything' },
    { name: 'worker', type: 'string', help: "limit the purge to one worker's subrequest cache" },
    { name: 'server', type: 'string', help: 'the PoP to talk to (default: from .outpost/admin.json)' },
    {
      name: 'nats',
      type: 'string',
      help: 'purge every node of a network on this NATS server (outpost node)',
    },
    {
      name: 'timeout-ms',
      type: 'number',
      default: 5000,
      help: 'with --nats: how long to wait for the nodes',
    },
    {
      name: 'replicas',
      type: 'number',
      default: 1,
      help: 'with --nats: JetStream replicas of what this makes if missing (3 on a NATS cluster)',
    },
    {
      name: 'token',
      type: 'string',
      help: 'admin token (default: OUTPOST_ADMIN_TOKEN, then [admin] token in outpost.toml, then .outpost/admin.json)',
    },
  ],
  async run(positionals, v, io) {
    const body: Record<string, unknown> = {};
    if ((v.url as string[]).length) body.files = v.url;
    if ((v.prefix as string[]).length) body.prefixes = v.prefix;
    if ((v.tag as string[]).length) body.tags = v.tag;
    if (v.everything) body.purge_everything = true;
    if (v.worker !== undefined) body.worker = v.worker;
    if (!body.files && !body.prefixes && !body.tags && !body.purge_everything)
      throw new CliError('say what to purge: --url, --prefix, --tag or --everything');
    if (typeof v.nats === 'string')
      return purgeNetwork(v.nats, body, Number(v['timeout-ms']), Number(v.replicas), io);
    const target = adminTarget(positionals[0] ?? '.', v.server, v.token);
    const { status, answer, text } = await adminPost<{
      success?: boolean;
      purged?: number;
      caches?: number;
      errors?: { message: string }[];
    }>(target, '/__outpost/cache/purge', body);
    if (status !== 200 || !answer.success)
      throw new CliError(
        `purge refused (${status}): ${answer.errors?.map((e) => e.message).join('; ') ?? text}${
          status === 401
            ? ` (the token sent came from ${target.source}; the server takes OUTPOST_ADMIN_TOKEN from its environment, else [admin] token in outpost.toml, else one it makes up and writes to .outpost/admin.json)`
            : ''
        }`,
      );
    io.out(
      `purged ${answer.purged} entr${answer.purged === 1 ? 'y' : 'ies'} from ${answer.caches} cache(s)\n`,
    );
    return 0;
  },
};

/**
 * A purge through NATS to every node (src/cache/nats-purge.ts): how many PoPs acknowledged it,
 * and the nodes that did not within the timeout, by name. Exit 1 when any did not.
 */
async function purgeNetwork(
  nats: string,
  body: Record<string, unknown>,
  timeoutMs: number,
  replicas: number,
  io: CliIo,
): Promise<number> {
  let selector: ReturnType<typeof parsePurge>;
  try {
    selector = parsePurge(body);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const members = await Membership.connect({ servers: nats, replicas });
  try {
    await members.watch();
    // Shield nodes hold cached responses too: they are expected to acknowledge, counted apart.
    const expected = () =>
      members.members().map((m) => ({ node: m.id, pop: m.role === 'shield' ? `shield:${m.pop}` : m.pop }));
    const r = await publishPurge(nats, selector, expected, timeoutMs, replicas);
    const isShield = (pop: string) => pop.startsWith('shield:');
    const acked = new Set(r.acks.map((a) => a.pop));
    const all = new Set([...expected().map((e) => e.pop), ...acked]);
    const count = (set: Set<string>, shield: boolean) =>
      [...set].filter((p) => isShield(p) === shield).length;
    const purged = r.acks.reduce((n, a) => n + a.purged, 0);
    const shields = count(all, true) ? `, ${count(acked, true)} of ${count(all, true)} shield(s)` : '';
    io.out(
      `purged ${purged} entr${purged === 1 ? 'y' : 'ies'}: ${count(acked, false)} of ${count(all, false)} PoP(s) acknowledged${shields} (${r.acks.length} node(s)) in ${r.ms.toFixed(0)} ms\n`,
    );
    for (const m of r.missing)
      io.out(`  no acknowledgement from ${m.node} (${m.pop}) within ${timeoutMs} ms\n`);
    return r.missing.length ? 1 : 0;
  } finally {
    await members.close();
  }
}

export const cacheCommands: Command[] = [cachePurgeCommand];
