/**
 * Where a client is: `outpost dev --from`, the `Outpost-Client-Location` header, `CF-IPCountry`
 * (in that order). A location is a city or PoP code of the topology ("Mumbai", "BOM"), an ISO
 * country code ("IN": the country's first PoP city, else its capital below), or "lat,long".
 */
import type { Place, Pop, Topology } from './topology/types.ts';

export interface ClientLocation {
  latitude: number;
  longitude: number;
  /** Known when the location named a place. */
  city?: string;
  country?: string;
  continent?: string;
  timezone?: string;
  region?: string;
  regionCode?: string;
  /** How the location was given, for errors and Server-Timing. */
  source: string;
}

/** Capitals for countries without a PoP city in the topology (ISO code → place). */
const CAPITALS: Record<string, [string, string, number, number, string]> = {
  US: ['Washington', 'NA', 38.9072, -77.0369, 'America/New_York'],
  CA: ['Ottawa', 'NA', 45.4215, -75.6972, 'America/Toronto'],
  MX: ['Mexico City', 'NA', 19.4326, -99.1332, 'America/Mexico_City'],
  BR: ['Brasília', 'SA', -15.7939, -47.8828, 'America/Sao_Paulo'],
  AR: ['Buenos Aires', 'SA', -34.6037, -58.3816, 'America/Argentina/Buenos_Aires'],
  CL: ['Santiago', 'SA', -33.4489, -70.6693, 'America/Santiago'],
  CO: ['Bogotá', 'SA', 4.711, -74.0721, 'America/Bogota'],
  PE: ['Lima', 'SA', -12.0464, -77.0428, 'America/Lima'],
  GB: ['London', 'EU', 51.5074, -0.1278, 'Europe/London'],
  IE: ['Dublin', 'EU', 53.3498, -6.2603, 'Europe/Dublin'],
  FR: ['Paris', 'EU', 48.8566, 2.3522, 'Europe/Paris'],
  DE: ['Berlin', 'EU', 52.52, 13.405, 'Europe/Berlin'],
  NL: ['Amsterdam', 'EU', 52.3676, 4.9041, 'Europe/Amsterdam'],
  ES: ['Madrid', 'EU', 40.4168, -3.7038, 'Europe/Madrid'],
  IT: ['Rome', 'EU', 41.9028, 12.4964, 'Europe/Rome'],
  PL: ['Warsaw', 'EU', 52.2297, 21.0122, 'Europe/Warsaw'],
  SE: ['Stockholm', 'EU', 59.3293, 18.0686, 'Europe/Stockholm'],
  RU: ['Moscow', 'EU', 55.7558, 37.6173, 'Europe/Moscow'],
  TR: ['Ankara', 'AS', 39.9334, 32.8597, 'Europe/Istanbul'],
  EG: ['Cairo', 'AF', 30.0444, 31.2357, 'Africa/Cairo'],
  NG: ['Abuja', 'AF', 9.0765, 7.3986, 'Africa/Lagos'],
  KE: ['Nairobi', 'AF', -1.2921, 36.8219, 'Africa/Nairobi'],
  ZA: ['Pretoria', 'AF', -25.7479, 28.2293, 'Africa/Johannesburg'],
  MA: ['Rabat', 'AF', 34.0209, -6.8416, 'Africa/Casablanca'],
  AE: ['Abu Dhabi', 'AS', 24.4539, 54.3773, 'Asia/Dubai'],
  SA: ['Riyadh', 'AS', 24.7136, 46.6753, 'Asia/Riyadh'],
  IN: ['New Delhi', 'AS', 28.6139, 77.209, 'Asia/Kolkata'],
  PK: ['Islamabad', 'AS', 33.6844, 73.0479, 'Asia/Karachi'],
  CN: ['Beijing', 'AS', 39.9042, 116.4074, 'Asia/Shanghai'],
  JP: ['Tokyo', 'AS', 35.6762, 139.6503, 'Asia/Tokyo'],
  KR: ['Seoul', 'AS', 37.5665, 126.978, 'Asia/Seoul'],
  SG: ['Singapore', 'AS', 1.3521, 103.8198, 'Asia/Singapore'],
  ID: ['Jakarta', 'AS', -6.2088, 106.8456, 'Asia/Jakarta'],
  TH: ['Bangkok', 'AS', 13.7563, 100.5018, 'Asia/Bangkok'],
  VN: ['Hanoi', 'AS', 21.0278, 105.8342, 'Asia/Ho_Chi_Minh'],
  PH: ['Manila', 'AS', 14.5995, 120.9842, 'Asia/Manila'],
  HK: ['Hong Kong', 'AS', 22.3193, 114.1694, 'Asia/Hong_Kong'],
  AU: ['Canberra', 'OC', -35.2809, 149.13, 'Australia/Sydney'],
  NZ: ['Wellington', 'OC', -41.2865, 174.7762, 'Pacific/Auckland'],
  AQ: ['McMurdo Station', 'AN', -77.8419, 166.6863, 'Antarctica/McMurdo'],
};

export class LocationError extends Error {
  readonly code = 'LOCATION_INVALID';
}

function fromPlace(p: Place, source: string): ClientLocation {
  const { latitude, longitude, city, country, continent, timezone, region, regionCode } = p;
  return { latitude, longitude, city, country, continent, timezone, region, regionCode, source };
}

/** Resolve a location string against a topology; throws a LocationError naming it. */
/** Case and accents do not matter: "sao paulo" names São Paulo. */
function fold(name: string): string {
  return name.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Each topology's places by folded PoP code and city (made once: requests name places often). */
const names = new WeakMap<Topology, Map<string, Place>>();
function namesOf(topology: Topology): Map<string, Place> {
  let m = names.get(topology);
  if (m) return m;
  m = new Map();
  // Codes first, then cities, each keeping the first place of that name (topology order).
  const places: Place[] = [...topology.pops, ...topology.shields];
  for (const p of places) if (!m.has(fold(p.id))) m.set(fold(p.id), p);
  for (const p of places) if (!m.has(fold(p.city))) m.set(fold(p.city), p);
  names.set(topology, m);
  return m;
}

/** A PoP of the topology by its id, any case (a map made once per topology). */
export function popById(topology: Topology, id: string): Pop | undefined {
  let m = byId.get(topology);
  if (!m) byId.set(topology, (m = new Map(topology.pops.map((p) => [p.id.toUpperCase(), p]))));
  return m.get(id.toUpperCase());
}
const byId = new WeakMap<Topology, Map<string, Pop>>();

export function parseLocation(value: string, topology: Topology, source = 'location'): ClientLocation {
  const v = value.trim();
  const m = /^(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)$/.exec(v);
  if (m) {
    const latitude = Number(m[1]);
    const longitude = Number(m[2]);
    if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180)
      throw new LocationError(
        `${source}: "${v}" is not a latitude,longitude (latitude −90…90, longitude −180…180)`,
      );
    return { latitude, longitude, source };
  }
  const byName = namesOf(topology).get(fold(v));
  if (byName) return fromPlace(byName, source);
  if (/^[A-Za-z]{2}$/.test(v)) {
    const cc = v.toUpperCase();
    const inCountry = topology.pops.find((p) => p.country === cc);
    if (inCountry) return { ...fromPlace(inCountry, source), city: undefined };
    const cap = CAPITALS[cc];
    if (cap)
      return {
        city: cap[0],
        country: cc,
        continent: cap[1],
        latitude: cap[2],
        longitude: cap[3],
        timezone: cap[4],
        source,
      };
  }
  throw new LocationError(
    `${source}: "${v}" is not a known city, PoP code, country code or "latitude,longitude" (cities: ${topology.pops
      .slice(0, 8)
      .map((p) => p.city)
      .join(', ')}…)`,
  );
}

/** Cloudflare's locationHint regions, by a city whose nearest PoP stands for them. */
export const HINT_PLACES: Record<string, { latitude: number; longitude: number }> = {
  wnam: { latitude: 37.77, longitude: -122.42 }, // San Francisco
  enam: { latitude: 38.9, longitude: -77.04 }, // Washington
  sam: { latitude: -23.55, longitude: -46.63 }, // São Paulo
  weur: { latitude: 51.51, longitude: -0.13 }, // London
  eeur: { latitude: 52.23, longitude: 21.01 }, // Warsaw
  apac: { latitude: 1.35, longitude: 103.82 }, // Singapore
  oc: { latitude: -33.87, longitude: 151.21 }, // Sydney
  afr: { latitude: -26.2, longitude: 28.05 }, // Johannesburg
  me: { latitude: 25.2, longitude: 55.27 }, // Dubai
};
