/**
 * `outpost kv key put|get|list|delete` and `outpost kv bulk put`, as wrangler's `kv` commands
 * (https://developers.cloudflare.com/kv/reference/kv-commands/). They work on the project's
 * KV file (`.outpost/kv/kv.sqlite`) directly, so they serve a running dev network (SQLite
 * lets both write; the network sees a change as any PoP sees a write made elsewhere: once
 * its cached copy's cacheTtl ends) and the files of a stopped one alike; with `--nats URL`,
 * on the JetStream buckets of a network that keeps KV there.
 */
import { readFileSync } from 'node:fs';
import { bindingsOf, loadConfig } from '../config/index.ts';
import { KvError, KvPop, type KvStore, NatsKvStore, SqliteKvStore } from '../kv/index.ts';
import { kvFile } from '../pop/index.ts';
import { CliError } from './cache.ts';
import type { Command, OptionSpec } from './commands.ts';

const COMMON: OptionSpec[] = [
  { name: 'binding', type: 'string', help: 'the KV binding name from kv_namespaces' },
  { name: 'namespace-id', type: 'string', help: 'the namespace id (instead of --binding)' },
  { name: 'project', type: 'string', default: '.', help: 'the Workers project folder' },
  { name: 'nats', type: 'string', help: 'NATS server URL when the network keeps KV in JetStream' },
];

/** The PoP id the CLI writes as: a write from outside every PoP, like one through the API. */
const CLI_POP = 'CLI';

async function withNamespace<T>(
  v: Record<string, unknown>,
  fn: (pop: KvPop, ns: string) => Promise<T>,
): Promise<T> {
  const project = String(v.project ?? '.');
  const config = loadConfig(project, { warn: () => {}, devVars: false });
  let ns: string;
  if (typeof v['namespace-id'] === 'string') ns = v['namespace-id'];
  else {
    if (typeof v.binding !== 'string')
      throw new CliError('say which namespace: --binding NAME or --namespace-id ID');
    const kv = bindingsOf(config.bindings, 'kv');
    const b = kv.find((k) => k.binding === v.binding);
    if (!b)
      throw new CliError(
        `no KV binding "${v.binding}" in ${config.configPath} (kv_namespaces has: ${kv.map((k) => k.binding).join(', ') || 'none'})`,
      );
    ns = b.id;
  }
  let store: KvStore;
  if (typeof v.nats === 'string') {
    try {
      store = await NatsKvStore.connect({ servers: v.nats, pop: CLI_POP });
    } catch (err) {
      throw new CliError(`--nats: ${(err as Error).message}`);
    }
  } else store = new SqliteKvStore({ file: kvFile(config.projectDir) });
  try {
    return await fn(new KvPop(CLI_POP, store), ns);
  } catch (err) {
    if (err instanceof KvError) throw new CliError(`KV refused it: ${err.status} ${err.message}`);
    throw err;
  } finally {
    await store.close();
  }
}

function numberOption(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number, received "${v}"`);
  return n;
}

const put: Command = {
  name: 'kv key put',
  summary: 'Write a value to a KV namespace',
  args: '<key> [value]',
  options: [
    ...COMMON,
    { name: 'path', type: 'string', help: 'read the value from this file' },
    { name: 'ttl', type: 'number', help: 'expirationTtl, seconds (at least 60)' },
    { name: 'expiration', type: 'number', help: 'expiration, seconds since the epoch' },
    { name: 'metadata', type: 'string', help: 'metadata as JSON' },
  ],
  async run([key, value], v, io) {
    if (key === undefined) throw new CliError('give the key: outpost kv key put <key> <value>');
    if ((value === undefined) === (v.path === undefined))
      throw new CliError('give either a value or --path FILE');
    const bytes = v.path !== undefined ? readFileSync(String(v.path)) : Buffer.from(value, 'utf8');
    let metadata: string | undefined;
    if (v.metadata !== undefined) {
      try {
        metadata = JSON.stringify(JSON.parse(String(v.metadata)));
      } catch {
        throw new CliError(`--metadata must be JSON, received ${v.metadata}`);
      }
    }
    await withNamespace(v, (pop, ns) =>
      pop.put(ns, key, bytes, {
        expirationTtl: numberOption(v.ttl, 'ttl'),
        expiration: numberOption(v.expiration, 'expiration'),
        metadata,
      }),
    );
    io.out(`Wrote ${bytes.byteLength} bytes to "${key}"\n`);
    return 0;
  },
};

const get: Command = {
  name: 'kv key get',
  summary: 'Print a value from a KV namespace',
  args: '<key>',
  options: COMMON,
  async run([key], v, io) {
    if (key === undefined) throw new CliError('give the key: outpost kv key get <key>');
    const got = await withNamespace(v, (pop, ns) => pop.get(ns, key));
    if (!got) {
      io.err(`Value not found for "${key}"\n`);
      return 1;
    }
    io.out(got.value);
    return 0;
  },
};

const list: Command = {
  name: 'kv key list',
  summary: 'List the keys of a KV namespace (JSON)',
  options: [...COMMON, { name: 'prefix', type: 'string', help: 'only keys starting with this' }],
  async run(_p, v, io) {
    const keys = await withNamespace(v, async (pop, ns) => {
      const all: unknown[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await pop.list(ns, { prefix: v.prefix as string | undefined, cursor });
        all.push(...page.keys);
        if (page.complete || !page.cursor) return all;
        cursor = page.cursor;
      }
    });
    io.out(`${JSON.stringify(keys, null, 2)}\n`);
    return 0;
  },
};

const del: Command = {
  name: 'kv key delete',
  summary: 'Delete a key from a KV namespace',
  args: '<key>',
  options: COMMON,
  async run([key], v, io) {
    if (key === undefined) throw new CliError('give the key: outpost kv key delete <key>');
    await withNamespace(v, (pop, ns) => pop.delete(ns, key));
    io.out(`Deleted "${key}"\n`);
    return 0;
  },
};

interface BulkEntry {
  key: string;
  value: string;
  expiration?: number;
  expiration_ttl?: number;
  metadata?: unknown;
  base64?: boolean;
}

const bulkPut: Command = {
  name: 'kv bulk put',
  summary:
    'Write many values from a JSON file: [{ "key", "value", "expiration_ttl"?, "metadata"?, "base64"? }]',
  args: '<file.json>',
  options: COMMON,
  async run([file], v, io) {
    if (file === undefined) throw new CliError('give the file: outpost kv bulk put <file.json>');
    let entries: BulkEntry[];
    try {
      entries = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CliError(`${file} is not readable JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(entries))
      throw new CliError(`${file} must hold a JSON array of { key, value } objects`);
    entries.forEach((e, i) => {
      if (!e || typeof e !== 'object' || typeof e.key !== 'string' || typeof e.value !== 'string')
        throw new CliError(`${file}[${i}] must be an object with string "key" and "value"`);
    });
    await withNamespace(v, async (pop, ns) => {
      for (const [i, e] of entries.entries()) {
        try {
          await pop.put(ns, e.key, Buffer.from(e.value, e.base64 ? 'base64' : 'utf8'), {
            expiration: e.expiration,
            expirationTtl: e.expiration_ttl,
            metadata: e.metadata === undefined ? undefined : JSON.stringify(e.metadata),
          });
        } catch (err) {
          if (err instanceof KvError)
            throw new CliError(`${file}[${i}] ("${e.key}"): ${err.status} ${err.message}`);
          throw err;
        }
      }
    });
    io.out(`Wrote ${entries.length} key-value pairs\n`);
    return 0;
  },
};

export const kvCommands: Command[] = [put, get, list, del, bulkPut];
