/**
 * The command table and what is generated from it: `outpost help`, each command's help, and
 * the argument parser. `main.ts` is the process entry; tests run commands through `runCli`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/index.ts';
import { OutpostError } from '../runtime/index.ts';
import { analyticsCommands } from './analytics.ts';
import { CliError, cacheCommands } from './cache.ts';
import { type CliIo, type Command, processIo } from './commands.ts';
import { d1Commands } from './d1.ts';
import { deployCommand, versionCommands } from './deploy.ts';
import { devCommand } from './dev.ts';
import { geodnsCommand } from './geodns.ts';
import { kvCommands } from './kv.ts';
import { networkCommands } from './network.ts';
import { nodeCommand, routerCommand, shieldCommand } from './node.ts';
import { objectCommands } from './objects.ts';
import { r2Commands } from './r2.ts';
import { secretCommands } from './secret.ts';
import { tailCommand } from './tail.ts';
import { triggerCommands } from './trigger.ts';

export const COMMANDS: Command[] = [
  devCommand,
  ...cacheCommands,
  ...kvCommands,
  ...d1Commands,
  ...r2Commands,
  ...analyticsCommands,
  tailCommand,
  ...triggerCommands,
  geodnsCommand,
  deployCommand,
  ...versionCommands,
  ...secretCommands,
  ...objectCommands,
  nodeCommand,
  routerCommand,
  shieldCommand,
  ...networkCommands,
];

export type OptionValues = Record<string, string | number | boolean | string[] | undefined>;

export function usage(): string {
  const lines = ['Usage: outpost <command> [options]', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${`${c.name} ${c.args ?? ''}`.padEnd(28)} ${c.summary}`);
  lines.push('', 'Run `outpost help <command>` for its options.');
  return lines.join('\n');
}

export function commandHelp(c: Command): string {
  const lines = [`Usage: outpost ${c.name} ${c.args ?? ''} [options]`, '', c.summary, '', 'Options:'];
  for (const o of c.options) {
    const flag = o.type === 'boolean' ? `--${o.name}` : `--${o.name} <${o.type}>`;
    lines.push(`  ${flag.padEnd(34)} ${o.help}${o.default !== undefined ? ` (default ${o.default})` : ''}`);
  }
  return lines.join('\n');
}

/** The command named by the first words of argv (`cache purge` is two words), and what follows. */
export function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (let n = Math.min(3, argv.length); n > 0; n--) {
    const command = COMMANDS.find((c) => c.name === argv.slice(0, n).join(' '));
    if (command) return { command, rest: argv.slice(n) };
  }
  return undefined;
}

/** A command line that does not fit the command's declared options. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
}

/**
 * A command's arguments by its declared options: unknown options are refused, numbers checked,
 * defaults filled in, `--no-<name>` turns a boolean off.
 */
export function parseOptions(
  command: Command,
  rest: string[],
): { positionals: string[]; values: OptionValues } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of command.options) {
    options[o.name] = {
      type: o.type === 'boolean' ? 'boolean' : 'string',
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
    if (o.type === 'boolean') options[`no-${o.name}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values: OptionValues = {};
  for (const o of command.options) {
    if (o.multiple) {
      values[o.name] = (parsed.values[o.name] as string[] | undefined) ?? [];
      continue;
    }
    let v = parsed.values[o.name] as string | boolean | undefined;
    if (o.type === 'boolean' && parsed.values[`no-${o.name}`]) v = false;
    if (v === undefined) {
      values[o.name] = o.default;
      continue;
    }
    if (o.type === 'number') {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n))
        throw new UsageError(`--${o.name} must be a number, received "${v}"`);
      values[o.name] = n;
    } else values[o.name] = v;
  }
  return { positionals: parsed.positionals, values };
}

/** Run `outpost <argv>`; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [first, ...afterFirst] = argv;
  if (!first || first === 'help' || first === '--help' || first === '-h') {
    const c = findCommand(afterFirst)?.command;
    io.out(`${c ? commandHelp(c) : usage()}\n`);
    return 0;
  }
  if (first === '--version' || first === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    io.out(`outpost ${pkg.version}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    io.err(`outpost: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${usage()}\n`);
    return 2;
  }
  const { command, rest } = found;
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(command, rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`outpost ${command.name}: ${err.message}\n\n${commandHelp(command)}\n`);
    return 2;
  }
  try {
    return (await command.run(parsed.positionals, parsed.values, io)) ?? 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof OutpostError || err instanceof CliError) {
      io.err(`outpost ${command.name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
