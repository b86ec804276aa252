/**
 * `outpost tail [worker]`: a running network's worker events as they happen — each request
 * with its status, the worker's console lines and uncaught exceptions — like `wrangler tail`.
 * It subscribes to the PoP's `/__outpost/tail` (Server-Sent Events; src/pop/admin.ts), which
 * applies the filters; the PoP and token are found as `outpost cache purge` finds them.
 */
import type { Dispatcher } from 'undici';
import { undici } from '../http/undici.ts';
import { prettyTail, type TailItem } from '../observability/index.ts';
import { adminTarget, CliError } from './cache.ts';
import type { Command } from './commands.ts';

export const tailCommand: Command = {
  name: 'tail',
  summary: "Stream a running network's worker events: requests, console lines, exceptions",
  args: '[worker]',
  options: [
    {
      name: 'status',
      type: 'string',
      multiple: true,
      help: 'only events that ended so: ok, error (an exception or a limit) or canceled (repeatable)',
    },
    { name: 'method', type: 'string', multiple: true, help: 'only requests with this method (repeatable)' },
    {
      name: 'search',
      type: 'string',
      help: 'only events whose console lines, exceptions or URL contain this',
    },
    { name: 'sampling-rate', type: 'number', help: 'share of events to show, 0 to 1 (default 1)' },
    { name: 'format', type: 'string', default: 'pretty', help: 'pretty, or json (one event per line)' },
    {
      name: 'dir',
      type: 'string',
      default: '.',
      help: 'the project folder whose .outpost/admin.json names the PoP',
    },
    { name: 'server', type: 'string', help: 'the PoP to talk to (default: from .outpost/admin.json)' },
    {
      name: 'token',
      type: 'string',
      help: 'admin token (default: OUTPOST_ADMIN_TOKEN, then [admin] token in outpost.toml, then .outpost/admin.json)',
    },
  ],
  async run(positionals, v, io) {
    const format = String(v.format);
    if (format !== 'pretty' && format !== 'json')
      throw new CliError(`--format must be pretty or json, received "${format}"`);
    const q = new URLSearchParams();
    if (positionals[0] !== undefined) q.set('worker', positionals[0]);
    for (const s of (v.status as string[] | undefined) ?? []) q.append('status', s);
    for (const m of (v.method as string[] | undefined) ?? []) q.append('method', m);
    if (typeof v.search === 'string') q.set('search', v.search);
    if (v['sampling-rate'] !== undefined) q.set('sampling', String(v['sampling-rate']));
    const target = adminTarget(String(v.dir), v.server, v.token);
    const url = new URL(`/__outpost/tail?${q}`, target.url);
    let res: Dispatcher.ResponseData;
    try {
      res = await undici().request(url, {
        headers: { authorization: `Bearer ${target.token}` },
        bodyTimeout: 0,
      });
    } catch (err) {
      throw new CliError(`cannot reach ${target.url}: ${(err as Error).message} (is outpost dev running?)`);
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { errors: { message: string }[] }).errors
          .map((e) => e.message)
          .join('; ');
      } catch {}
      throw new CliError(
        `tail refused (${res.statusCode}): ${message}${res.statusCode === 401 ? ` (the token sent came from ${target.source})` : ''}`,
      );
    }
    let buffered = '';
    // A character split across two chunks is decoded whole.
    const utf8 = new TextDecoder('utf-8');
    for await (const chunk of res.body) {
      buffered += utf8.decode(chunk as Buffer, { stream: true });
      let end = buffered.indexOf('\n\n');
      while (end !== -1) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\n\n');
        if (block === ': tailing') {
          io.err(`Tailing ${positionals[0] ?? 'every worker'} on ${target.url}; Ctrl+C to stop\n`);
          continue;
        }
        const dropped = /^: dropped (\d+)$/.exec(block);
        if (dropped) io.err(`(${dropped[1]} events dropped: this terminal reads slower than they come)\n`);
        if (!block.startsWith('data: ')) continue;
        const event = JSON.parse(block.slice(6)) as TailItem;
        io.out(format === 'json' ? `${JSON.stringify(event)}\n` : `${prettyTail(event)}\n`);
      }
    }
    io.err('The server ended the tail (it stopped).\n');
    return 0;
  },
};
