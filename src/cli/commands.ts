/**
 * Commands are data: a name, a summary, typed options and a run function. `outpost help`
 * and the argument parser are generated from this table.
 */
export interface OptionSpec {
  name: string;
  type: 'string' | 'boolean' | 'number';
  help: string;
  default?: string | number | boolean;
  short?: string;
  /** May be given several times; the value is then a string array. */
  multiple?: boolean;
}

export interface Command {
  /** e.g. 'dev' or 'kv key put' */
  name: string;
  summary: string;
  /** Positional arguments, for help text: e.g. '[dir]' */
  args?: string;
  options: OptionSpec[];
  run(
    positionals: string[],
    values: Record<string, string | number | boolean | string[] | undefined>,
    io: CliIo,
  ): Promise<number | undefined>;
}

/** Where a command prints (the process's stdout and stderr, or a test's buffers). */
export interface CliIo {
  out(chunk: string | Uint8Array): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (chunk) => void process.stdout.write(chunk),
  err: (text) => void process.stderr.write(text),
};

/** How many idle isolates a runtime process keeps (Runtime's memoryBudgetMb, maxIsolates, poolMax). */
export const ISOLATE_BUDGET: OptionSpec[] = [
  {
    name: 'memory-budget-mb',
    type: 'number',
    default: 4096,
    help: 'evict idle isolates, least recently used first, past this much heap',
  },
  // No default here: asking for more than a process can map is warned about (runtime/capacity.ts),
  // and only a number the user gave should be.
  {
    name: 'max-isolates',
    type: 'number',
    help: 'evict idle isolates past this many (default 5000, held below what one process can map)',
  },
  {
    name: 'warm-pool-max',
    type: 'number',
    help: 'most isolates kept ready for new tenants after a burst of cold starts (default 64, ~2 MB each, given back as the burst ages; 0: the pool keeps its base size)',
  },
];
