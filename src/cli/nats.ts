/** What every command that talks to a network through NATS shares: `--nats` and its default. */
import { CliError } from './cache.ts';
import type { OptionSpec } from './commands.ts';

export const NATS_OPTION: OptionSpec = {
  name: 'nats',
  type: 'string',
  help: 'NATS server URL(s) of the network, comma-separated (default $OUTPOST_NATS)',
};

/** The NATS server(s) a command was given, else $OUTPOST_NATS; neither is an error naming both. */
export function natsOf(v: Record<string, unknown>): string {
  const url = typeof v.nats === 'string' ? v.nats : process.env.OUTPOST_NATS;
  if (!url) throw new CliError('give --nats URL (or set OUTPOST_NATS): the NATS server of the network');
  return url;
}
