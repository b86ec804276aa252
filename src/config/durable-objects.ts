/**
 * Durable Object bindings and migrations in wrangler config, validated naming the key
 * (https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/):
 *
 *   [[durable_objects.bindings]]          name, class_name, script_name?
 *   [[migrations]]                        tag, new_classes, new_sqlite_classes,
 *                                         renamed_classes [{ from, to }], deleted_classes
 *
 * Migrations are applied in order to find each class's storage backend (KV or SQLite); a class
 * bound here but never created by a migration is an error, as `wrangler deploy` makes it.
 */
import { BINDING_NAME } from './bindings/name.ts';
import { ConfigError } from './errors.ts';
import type { DurableObjectBinding, DurableObjectClass } from './types.ts';

function table(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export function parseDurableObjectBindings(file: string, raw: unknown): DurableObjectBinding[] {
  if (raw === undefined) return [];
  if (!table(raw)) throw new ConfigError(file, 'durable_objects', 'a table with a "bindings" array', raw);
  const list = raw.bindings;
  if (list === undefined) return [];
  if (!Array.isArray(list))
    throw new ConfigError(file, 'durable_objects.bindings', 'an array of { name, class_name }', list);
  return list.map((b, i) => {
    const key = `durable_objects.bindings[${i}]`;
    if (!table(b)) throw new ConfigError(file, key, 'a table { name = "ROOM", class_name = "Room" }', b);
    const { name, class_name: className, script_name: scriptName, environment } = b;
    if (typeof name !== 'string' || !BINDING_NAME.test(name))
      throw new ConfigError(file, `${key}.name`, 'a JavaScript identifier', name);
    if (typeof className !== 'string' || !BINDING_NAME.test(className))
      throw new ConfigError(file, `${key}.class_name`, 'the name of an exported class', className);
    if (scriptName !== undefined && (typeof scriptName !== 'string' || scriptName === ''))
      throw new ConfigError(file, `${key}.script_name`, 'the name of a worker', scriptName);
    if (environment !== undefined)
      throw new ConfigError(
        file,
        `${key}.environment`,
        'absent (environments are not supported)',
        environment,
      );
    return { binding: name, className, scriptName: scriptName as string | undefined };
  });
}

function names(file: string, key: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !BINDING_NAME.test(x)))
    throw new ConfigError(file, key, 'an array of class names', v);
  return v as string[];
}

/** The classes the migrations leave, with their storage backend. */
export function parseMigrations(file: string, raw: unknown): DurableObjectClass[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw))
    throw new ConfigError(file, 'migrations', 'an array of { tag, new_classes, … }', raw);
  const classes = new Map<string, DurableObjectClass>();
  const tags = new Set<string>();
  raw.forEach((m, i) => {
    const key = `migrations[${i}]`;
    if (!table(m)) throw new ConfigError(file, key, 'a table { tag = "v1", new_classes = [...] }', m);
    if (typeof m.tag !== 'string' || m.tag === '')
      throw new ConfigError(file, `${key}.tag`, 'a non-empty string', m.tag);
    if (tags.has(m.tag)) throw new ConfigError(file, `${key}.tag`, 'a tag no earlier migration uses', m.tag);
    tags.add(m.tag);
    const create = (list: string, storage: DurableObjectClass['storage']) =>
      names(file, `${key}.${list}`, m[list]).forEach((c, j) => {
        if (classes.has(c))
          throw new ConfigError(file, `${key}.${list}[${j}]`, 'a class no earlier migration created', c);
        classes.set(c, { className: c, storage });
      });
    create('new_classes', 'kv');
    create('new_sqlite_classes', 'sqlite');
    const renamed = m.renamed_classes ?? [];
    if (!Array.isArray(renamed))
      throw new ConfigError(file, `${key}.renamed_classes`, 'an array of { from, to }', renamed);
    renamed.forEach((r, j) => {
      const k = `${key}.renamed_classes[${j}]`;
      if (!table(r) || typeof r.from !== 'string' || typeof r.to !== 'string' || !BINDING_NAME.test(r.to))
        throw new ConfigError(file, k, 'a table { from = "Old", to = "New" }', r);
      const old = classes.get(r.from);
      if (!old) throw new ConfigError(file, `${k}.from`, 'a class an earlier migration created', r.from);
      if (classes.has(r.to)) throw new ConfigError(file, `${k}.to`, 'a class name not in use', r.to);
      classes.delete(r.from);
      // The objects keep their storage: it is found by the class's first name.
      classes.set(r.to, { ...old, className: r.to });
    });
    names(file, `${key}.deleted_classes`, m.deleted_classes).forEach((c, j) => {
      if (!classes.delete(c))
        throw new ConfigError(
          file,
          `${key}.deleted_classes[${j}]`,
          'a class an earlier migration created',
          c,
        );
    });
    if (m.transferred_classes !== undefined)
      throw new ConfigError(
        file,
        `${key}.transferred_classes`,
        'absent (not supported by Outpost)',
        m.transferred_classes,
      );
  });
  return [...classes.values()];
}
