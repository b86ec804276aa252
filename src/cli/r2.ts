/**
 * `outpost r2 object get|put|delete <bucket>/<key>`, as wrangler's r2 object commands with
 * `--local` (https://developers.cloudflare.com/workers/wrangler/commands/#r2-object). They work on
 * the project's buckets under `.outpost/r2/` (the ones `outpost dev` serves; a running dev server
 * sees what they write, as SQLite lets both share the index). A bucket is named by its binding
 * (`BUCKET`) or its `bucket_name`, as D1 databases are by `outpost d1`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindingsOf, loadConfig, type R2BucketBinding, type WorkerConfig } from '../config/index.ts';
import { R2Buckets, R2Error, type R2HttpFields, R2InputError } from '../r2/index.ts';
import { DEFAULT_ACCOUNT, r2BucketId } from '../runtime/index.ts';
import { CliError } from './cache.ts';
import type { Command, OptionSpec } from './commands.ts';

const COMMON: OptionSpec[] = [
  { name: 'project', type: 'string', default: '.', help: 'the Workers project folder' },
  { name: 'env', short: 'e', type: 'string', help: "the config's [env.NAME]" },
];

interface Target {
  config: WorkerConfig;
  binding: R2BucketBinding;
  bucket: string;
  key: string;
}

function target(path: string | undefined, v: Record<string, unknown>, usage: string): Target {
  const slash = path?.indexOf('/') ?? -1;
  if (path === undefined || slash <= 0 || slash === path.length - 1)
    throw new CliError(`give the object as <bucket>/<key>: ${usage}`);
  const name = path.slice(0, slash);
  const config = loadConfig(String(v.project ?? '.'), {
    warn: () => {},
    devVars: false,
    ...(typeof v.env === 'string' ? { env: v.env } : {}),
  });
  const all = bindingsOf(config.bindings, 'r2');
  const binding = all.find((b) => b.binding === name) ?? all.find((b) => !b.own && b.bucket === name);
  if (!binding)
    throw new CliError(
      `no R2 bucket "${name}" in ${config.configPath} (r2_buckets has: ${all.map((b) => b.binding).join(', ') || 'none'})`,
    );
  return {
    config,
    binding,
    bucket: r2BucketId(config.name, config.accountId ?? DEFAULT_ACCOUNT, binding),
    key: path.slice(slash + 1),
  };
}

async function withBuckets<T>(t: Target, op: string, fn: (r2: R2Buckets) => Promise<T>): Promise<T> {
  const r2 = new R2Buckets(join(t.config.projectDir, '.outpost', 'r2'));
  try {
    return await fn(r2);
  } catch (err) {
    if (err instanceof R2Error) throw new CliError(err.forOperation(op));
    if (err instanceof R2InputError) throw new CliError(err.message);
    throw err;
  } finally {
    r2.close();
  }
}

async function stdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const HTTP_OPTIONS: [option: string, field: keyof R2HttpFields][] = [
  ['content-type', 'contentType'],
  ['content-disposition', 'contentDisposition'],
  ['content-encoding', 'contentEncoding'],
  ['content-language', 'contentLanguage'],
  ['cache-control', 'cacheControl'],
];

function httpMetadata(v: Record<string, unknown>): R2HttpFields {
  const out: R2HttpFields = {};
  for (const [option, field] of HTTP_OPTIONS)
    if (typeof v[option] === 'string') out[field] = v[option] as never;
  if (typeof v.expires === 'string') {
    const ms = Date.parse(v.expires);
    if (!Number.isFinite(ms)) throw new CliError(`--expires must be a date, received "${v.expires}"`);
    out.cacheExpiry = ms;
  }
  return out;
}

const put: Command = {
  name: 'r2 object put',
  summary: 'Store an object in an R2 bucket from a file (--file) or standard input (--pipe)',
  args: '<bucket>/<key>',
  options: [
    ...COMMON,
    { name: 'file', type: 'string', help: 'the file to store' },
    { name: 'pipe', type: 'boolean', help: 'read the object from standard input' },
    { name: 'content-type', type: 'string', help: 'the Content-Type stored with it' },
    { name: 'content-disposition', type: 'string', help: 'the Content-Disposition stored with it' },
    { name: 'content-encoding', type: 'string', help: 'the Content-Encoding stored with it' },
    { name: 'content-language', type: 'string', help: 'the Content-Language stored with it' },
    { name: 'cache-control', type: 'string', help: 'the Cache-Control stored with it' },
    { name: 'expires', type: 'string', help: 'the cache expiry stored with it (a date)' },
    { name: 'storage-class', type: 'string', help: 'Standard or InfrequentAccess' },
  ],
  async run([path], v, io) {
    const t = target(path, v, 'outpost r2 object put BUCKET/key --file FILE');
    if ((typeof v.file === 'string') === (v.pipe === true))
      throw new CliError('give either --file FILE or --pipe');
    const body = typeof v.file === 'string' ? readFileSync(v.file) : await stdin();
    const options = {
      httpMetadata: httpMetadata(v),
      ...(typeof v['storage-class'] === 'string' ? { storageClass: v['storage-class'] } : {}),
    };
    const o = await withBuckets(t, 'put', (r2) => r2.put(t.bucket, t.key, body, options));
    io.out(`Stored ${o?.size} bytes as "${t.key}" in ${t.binding.binding} (etag ${o?.etag})\n`);
    return 0;
  },
};

const get: Command = {
  name: 'r2 object get',
  summary: 'Write an object of an R2 bucket to standard output (--pipe, the default) or a file (--file)',
  args: '<bucket>/<key>',
  options: [
    ...COMMON,
    { name: 'file', type: 'string', help: 'write the object to this file' },
    { name: 'pipe', type: 'boolean', help: 'write the object to standard output (the default)' },
  ],
  async run([path], v, io) {
    const t = target(path, v, 'outpost r2 object get BUCKET/key');
    if (typeof v.file === 'string' && v.pipe === true)
      throw new CliError('give --file FILE or --pipe, not both');
    const bytes = await withBuckets(t, 'get', async (r2) => {
      const r = await r2.get(t.bucket, t.key);
      return r?.body ? r.body.bytes() : null;
    });
    if (!bytes) {
      io.err(`The specified key does not exist: "${t.key}" in ${t.binding.binding}\n`);
      return 1;
    }
    if (typeof v.file === 'string') {
      writeFileSync(v.file, bytes);
      io.out(`Wrote ${bytes.byteLength} bytes to ${v.file}\n`);
    } else io.out(bytes);
    return 0;
  },
};

const del: Command = {
  name: 'r2 object delete',
  summary: 'Delete an object from an R2 bucket',
  args: '<bucket>/<key>',
  options: COMMON,
  async run([path], v, io) {
    const t = target(path, v, 'outpost r2 object delete BUCKET/key');
    await withBuckets(t, 'delete', (r2) => r2.delete(t.bucket, t.key));
    io.out(`Deleted "${t.key}" from ${t.binding.binding}\n`);
    return 0;
  },
};

export const r2Commands: Command[] = [get, put, del];
