/**
 * Topologies: a built-in one by name, or a file (JSON or TOML) of the same shape:
 *   { name, pops: [{ id, city, country, continent, latitude, longitude, timezone, shield,
 *     region?, regionCode? }], shields: [ place ], origins: [ place ] }
 * Validation names the entry and the field (`pops[3].latitude must be …`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, parseConfigText } from '../../config/index.ts';
import { BUILTIN_TOPOLOGIES, builtinTopology } from './builtin.ts';
import { CONTINENTS, type Place, type Pop, type Topology } from './types.ts';

/** A built-in name or a topology file path. */
export function loadTopology(nameOrFile: string): Topology {
  const builtin = builtinTopology(nameOrFile);
  if (builtin) return builtin;
  if (!existsSync(nameOrFile))
    throw new ConfigError(
      nameOrFile,
      '(topology)',
      `one of ${BUILTIN_TOPOLOGIES.join(', ')} or a topology file (.json or .toml)`,
      'neither',
    );
  return validateTopology(parseConfigText(nameOrFile, readFileSync(nameOrFile, 'utf8')), nameOrFile);
}

function place(raw: unknown, at: string, file: string): Place {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new ConfigError(file, `${at}.${field}`, expected, got);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, at, 'a table', raw);
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || !/^[A-Za-z0-9_-]{2,32}$/.test(r.id))
    fail('id', 'an id of 2–32 letters, digits, - or _', r.id);
  if (typeof r.city !== 'string' || r.city === '') fail('city', 'a city name', r.city);
  if (typeof r.country !== 'string' || !/^[A-Z]{2}$/.test(r.country))
    fail('country', 'an ISO 3166-1 alpha-2 code', r.country);
  if (typeof r.continent !== 'string' || !CONTINENTS.has(r.continent))
    fail('continent', `one of ${[...CONTINENTS].join(', ')}`, r.continent);
  if (typeof r.latitude !== 'number' || !(Math.abs(r.latitude) <= 90))
    fail('latitude', 'a number between -90 and 90', r.latitude);
  if (typeof r.longitude !== 'number' || !(Math.abs(r.longitude) <= 180))
    fail('longitude', 'a number between -180 and 180', r.longitude);
  if (typeof r.timezone !== 'string' || !validZone(r.timezone))
    fail('timezone', 'an IANA time zone', r.timezone);
  for (const k of ['region', 'regionCode'] as const)
    if (r[k] !== undefined && typeof r[k] !== 'string') fail(k, 'a string', r[k]);
  return r as unknown as Place;
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function validateTopology(raw: Record<string, unknown>, file: string): Topology {
  const list = (key: string): unknown[] => {
    const v = raw[key];
    if (!Array.isArray(v) || v.length === 0) throw new ConfigError(file, key, 'a non-empty array', v);
    return v;
  };
  const shields = list('shields').map((s, i) => place(s, `shields[${i}]`, file));
  const origins = list('origins').map((s, i) => place(s, `origins[${i}]`, file));
  const shieldIds = new Set(shields.map((s) => s.id));
  const pops = list('pops').map((p, i): Pop => {
    const pl = place(p, `pops[${i}]`, file);
    const shield = (p as Record<string, unknown>).shield;
    if (typeof shield !== 'string' || !shieldIds.has(shield))
      throw new ConfigError(
        file,
        `pops[${i}].shield`,
        `the id of a shield (${[...shieldIds].join(', ')})`,
        shield,
      );
    return { ...pl, shield };
  });
  const seen = new Set<string>();
  for (const [i, p] of [...pops, ...shields, ...origins].entries()) {
    if (seen.has(p.id))
      throw new ConfigError(file, `(entry ${i})`, 'ids unique across PoPs, shields and origins', p.id);
    seen.add(p.id);
  }
  const name = typeof raw.name === 'string' && raw.name ? raw.name : file;
  return { name, pops, shields, origins };
}
