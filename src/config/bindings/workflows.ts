/**
 * Workflows in wrangler config (https://developers.cloudflare.com/workflows/build/workers-api/):
 *
 *   [[workflows]]
 *   name = "my-workflow"        # the Workflow: its instances belong to the account, by this name
 *   binding = "MY_WORKFLOW"     # env.MY_WORKFLOW.create(...), .get(id)
 *   class_name = "MyWorkflow"   # the exported class extending WorkflowEntrypoint
 *   script_name = "other"       # optional: the worker that defines it, when it is another one
 *   limits = { steps = 10000 }  # optional: steps one instance may take (1 to 25000)
 */
import { ConfigError } from '../errors.ts';
import type { WorkflowBinding } from '../types.ts';
import { BINDING_NAME, isTable } from './name.ts';

/** Cloudflare's Workflow names: letters, digits, `_` and `-`, at most 64. */
export const WORKFLOW_NAME = /^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,63}$/;
/** Steps one instance may take (Cloudflare's default; `limits.steps` changes it). */
export const DEFAULT_STEP_LIMIT = 10_000;
const KEYS = new Set(['name', 'binding', 'class_name', 'script_name', 'limits']);

export function parseWorkflows(file: string, raw: unknown): (WorkflowBinding & { key: string })[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw))
    throw new ConfigError(file, 'workflows', 'an array of { name, binding, class_name }', raw);
  const names = new Set<string>();
  return raw.map((w, i) => {
    const key = `workflows[${i}]`;
    if (!isTable(w))
      throw new ConfigError(file, key, 'a table { name = "…", binding = "NAME", class_name = "Class" }', w);
    for (const k of Object.keys(w))
      if (!KEYS.has(k))
        throw new ConfigError(file, `${key}.${k}`, `one of the known keys (${[...KEYS].join(', ')})`, k);
    if (typeof w.binding !== 'string' || !BINDING_NAME.test(w.binding))
      throw new ConfigError(file, `${key}.binding`, 'a JavaScript identifier', w.binding);
    if (typeof w.name !== 'string' || !WORKFLOW_NAME.test(w.name))
      throw new ConfigError(
        file,
        `${key}.name`,
        'a Workflow name (letters, digits, "_" and "-", at most 64)',
        w.name,
      );
    if (typeof w.class_name !== 'string' || !BINDING_NAME.test(w.class_name))
      throw new ConfigError(file, `${key}.class_name`, 'the name of an exported class', w.class_name);
    if (w.script_name !== undefined && (typeof w.script_name !== 'string' || w.script_name === ''))
      throw new ConfigError(file, `${key}.script_name`, 'a worker name', w.script_name);
    const limits = w.limits ?? {};
    if (!isTable(limits) || Object.keys(limits).some((k) => k !== 'steps'))
      throw new ConfigError(file, `${key}.limits`, 'a table { steps = N }', w.limits);
    const steps = limits.steps ?? DEFAULT_STEP_LIMIT;
    if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1 || steps > 25_000)
      throw new ConfigError(file, `${key}.limits.steps`, 'a whole number from 1 to 25000', steps);
    if (w.script_name === undefined) {
      if (names.has(w.name))
        throw new ConfigError(file, `${key}.name`, 'a Workflow this worker does not define twice', w.name);
      names.add(w.name);
    }
    return {
      key,
      binding: w.binding,
      name: w.name,
      className: w.class_name,
      steps,
      ...(typeof w.script_name === 'string' ? { scriptName: w.script_name } : {}),
    };
  });
}
