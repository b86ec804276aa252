/** `outpost <command>`: parses arguments from the command table and runs the command. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/index.ts';
import { OutpostError } from '../runtime/index.ts';
import type { Command } from './commands.ts';
import { devCommand } from './dev.ts';

export const COMMANDS: Command[] = [devCommand];

function usage(): string {
  const lines = ['Usage: outpost <command> [options]', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${`${c.name} ${c.args ?? ''}`.padEnd(22)} ${c.summary}`);
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

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const c = COMMANDS.find((x) => x.name === rest[0]);
    process.stdout.write(`${c ? commandHelp(c) : usage()}\n`);
    return 0;
  }
  if (name === '--version' || name === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`outpost ${pkg.version}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`outpost: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const o of command.options) {
    options[o.name] = o.short
      ? { type: o.type === 'boolean' ? 'boolean' : 'string', short: o.short }
      : { type: o.type === 'boolean' ? 'boolean' : 'string' };
    if (o.type === 'boolean') options[`no-${o.name}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`outpost ${name}: ${(err as Error).message}\n\n${commandHelp(command)}\n`);
    return 2;
  }
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const o of command.options) {
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
    if (err instanceof ConfigError || err instanceof OutpostError) {
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
