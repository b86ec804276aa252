/**
 * `outpost trigger scheduled`: runs a worker's scheduled() in a running dev network now, through
 * its admin endpoint (POST /__outpost/scheduled), as Cloudflare's dashboard "Trigger" does. The
 * network and token come as for `outpost cache purge` (src/cli/cache.ts).
 */
import { adminPost, adminTarget, CliError } from './cache.ts';
import type { Command } from './commands.ts';

export const triggerScheduledCommand: Command = {
  name: 'trigger scheduled',
  summary: "Run a worker's scheduled() handler now in a running dev network",
  args: '[dir]',
  options: [
    { name: 'worker', type: 'string', help: 'the worker (default: the one outpost dev serves)' },
    {
      name: 'cron',
      type: 'string',
      help: "the cron the controller says (default: each of the worker's triggers.crons, or none)",
    },
    { name: 'server', type: 'string', help: 'the PoP to talk to (default: from .outpost/admin.json)' },
    {
      name: 'token',
      type: 'string',
      help: 'admin token (default: OUTPOST_ADMIN_TOKEN, then [admin] token in outpost.toml, then .outpost/admin.json)',
    },
  ],
  async run(positionals, v, io) {
    const target = adminTarget(positionals[0] ?? '.', v.server, v.token);
    const body: Record<string, string> = {};
    if (typeof v.worker === 'string') body.worker = v.worker;
    if (typeof v.cron === 'string') body.cron = v.cron;
    const { status, answer, text } = await adminPost<{
      success?: boolean;
      ran?: { worker: string; cron: string }[];
      errors?: { message: string }[];
    }>(target, '/__outpost/scheduled', body);
    if (status !== 200 || !answer.success)
      throw new CliError(
        `scheduled() failed (${status}): ${answer.errors?.map((e) => e.message).join('; ') ?? text}`,
      );
    for (const r of answer.ran ?? [])
      io.out(`ran scheduled() of ${r.worker}${r.cron ? ` for "${r.cron}"` : ''}\n`);
    return 0;
  },
};

export const triggerCommands: Command[] = [triggerScheduledCommand];
