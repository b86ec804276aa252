/** Bundles the CLI into `<out>/dist/cli/` (default: this package); resolves to the loader's path. */
export function bundle(out?: string): Promise<string>;
