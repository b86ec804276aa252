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
  ): Promise<number | undefined>;
}
