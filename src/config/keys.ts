/**
 * Every top-level key wrangler documents, by what Outpost does with it. Keys in KNOWN are read
 * (load.ts and the parsers it calls); the others are named in one warning per file with what
 * happens instead, so nothing in a config is silently dropped.
 */
import { BINDING_KEYS } from './bindings/index.ts';

export const KNOWN = new Set([
  '$schema',
  'name',
  'main',
  'compatibility_date',
  'compatibility_flags',
  'vars',
  'limits',
  'account_id',
  'migrations',
  'assets',
  'rules',
  'alias',
  'define',
  'minify',
  'keep_names',
  'tail_consumers',
  'routes',
  'route',
  'triggers',
  ...BINDING_KEYS.map((k) => k.key),
]);

/** What happens instead, for keys wrangler documents that Outpost does not act on. */
export const IGNORED_KEYS: Record<string, string> = {
  workers_dev: 'no effect (there is no workers.dev locally)',
  preview_urls: 'no effect (there are no preview URLs locally)',
  build: 'the custom build command is not run; run it before outpost dev',
  find_additional_modules: 'not supported; dynamic imports are bundled by esbuild instead',
  base_dir: 'not supported (used with find_additional_modules)',
  preserve_file_names: 'not supported (used with find_additional_modules)',
  no_bundle: 'not supported; the entry is bundled with esbuild anyway',
  tsconfig: 'not read; esbuild uses the tsconfig.json beside the sources',
  jsx_factory: 'not read; set jsxFactory in tsconfig.json',
  jsx_fragment: 'not read; set jsxFragmentFactory in tsconfig.json',
  node_compat: 'the legacy polyfills are not supported; use compatibility_flags = ["nodejs_compat"]',
  site: 'Workers Sites are not supported; use an assets table',
  observability: 'no effect yet (logs go to the terminal)',
  logpush: 'no effect',
  placement: 'no effect (Smart Placement is not modelled)',
  upload_source_maps: 'no effect (Outpost always maps stacks to the sources)',
  usage_model: 'no effect',
  send_metrics: 'no effect',
  keep_vars: 'no effect',
  dev: 'not read; use outpost dev --port and --ip',
  zone_id: 'no effect',
  legacy_env: 'no effect (environments are named <name>-<env>)',
  first_party_worker: 'no effect',
  logfwdr: 'no effect',
  containers: 'Containers are not supported',
  cloudchamber: 'Containers are not supported',
  unsafe_hello_world: 'no effect',
  // Written into built configs by the Cloudflare Vite plugin (the deploy redirect's target).
  configPath: 'no effect (bookkeeping of the Cloudflare Vite plugin)',
  userConfigPath: 'no effect (bookkeeping of the Cloudflare Vite plugin)',
  topLevelName: 'no effect (bookkeeping of the Cloudflare Vite plugin)',
  definedEnvironments: 'no effect (bookkeeping of the Cloudflare Vite plugin)',
  exports: 'no effect (bookkeeping of the Cloudflare Vite plugin)',
  python_modules: 'no effect (Python Workers are not supported)',
  // Binding types newer than Outpost's list: their bindings are not on env.
  connect: 'not supported; these bindings are not on env',
  worker_loaders: 'Worker Loader bindings are not supported; they are not on env',
  vpc_services: 'VPC service bindings are not supported; they are not on env',
  vpc_networks: 'VPC network bindings are not supported; they are not on env',
  ai_search_namespaces: 'AI Search bindings are not supported; they are not on env',
  ai_search: 'AI Search bindings are not supported; they are not on env',
  agent_memory: 'not supported; these bindings are not on env',
  k2: 'not supported; these bindings are not on env',
  artifacts: 'not supported; these bindings are not on env',
  flagship: 'not supported; these bindings are not on env',
};
