/** `outpost <command>`: parses arguments from the command table and runs the command. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/index.ts';
import { OutpostError } from '../runtime/index.ts';
import { CliError, cacheCommands } from './cache.ts';
import type { Command } from './commands.ts';
import { devCommand } from './dev.ts';
import { geodnsCommand } from './geodns.ts';
import { kvCommands } from './kv.ts';

export const COMMANDS: Command[] = [devCommand, ...cacheCommands, ...kvCommands, geodnsCommand];

function usage(): string {
  const lines = ['Usage: outpost <command> [options]', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${`${c.name} ${c.args ?? ''}`.padEnd(28)} ${c.summary}`);
  lines.push('', 'Run `outpost help <command>` for its options.');
  return lines.join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`Usage: outpost ${c.name} ${c.args ?? ''} [options]`, '', c.summary, '', 'Options:'];
  for (const o of c.options) {
    const flag = o.type === 'boolean' ? `--${o.name}` : `--${o.name} <${o.type}>`;
    lines.push(`  ${flag.padEnd(24)} ${o.help}${o.default !== undefined ? ` (default ${o.default})` : ''}`);
  }
  return lines.join('\n');
}

/** The command named by the first words of argv (`cache purge` is two words), and what follows. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (let n = Math.min(3, argv.length); n > 0; n--) {
    const command = COMMANDS.find((c) => c.name === argv.slice(0, n).join(' '));
    if (command) return { command, rest: argv.slice(n) };
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...afterFirst] = argv;
  if (!first || first === 'help' || first === '--help' || first === '-h') {
    const c = findCommand(afterFirst)?.command;
    process.stdout.write(`${c ? commandHelp(c) : usage()}\n`);
    return 0;
  }
  if (first === '--version' || first === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`outpost ${pkg.version}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`outpost: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${usage()}\n`);
    return 2;
  }
  const { command, rest } = found;
  const name = command.name;
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
    process.stderr.write(`outpost ${name}: ${(err as Error).message}\n\n${commandHelp(command)}\n`);
    return 2;
  }
  const values: Record<string, string | number | boolean | string[] | undefined> = {};
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
      if (v === '' || !Number.isFinite(n)) {
        process.stderr.write(`outpost ${name}: --${o.name} must be a number, received "${v}"\n`);
        return 2;
      }
      values[o.name] = n;
    } else values[o.name] = v;
  }
  try {
    return (await command.run(parsed.positionals, values)) ?? 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof OutpostError || err instanceof CliError) {
      process.stderr.write(`outpost ${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`outpost: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
