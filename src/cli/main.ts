/** `outpost <command>`: the process entry (bin/outpost.mjs runs it); see program.ts. */
import { runCli } from './program.ts';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`outpost: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
