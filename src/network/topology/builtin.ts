/**
 * Built-in topologies. `local`: one PoP, what `outpost dev` runs by default. `world`: PoPs in
 * real cities on every inhabited continent, three regional shields (us-east, eu-west, apac) and
 * an origin in northern Virginia (the seed's us-east-1). `world-large`: 360 PoPs in the largest
 * metro areas (world-large.ts), for scale.
 */
import type { Origin, Pop, Shield, Topology } from './types.ts';
import { worldLargePops } from './world-large.ts';

const ORIGIN: Origin = {
  id: 'origin',
  city: 'Ashburn',
  country: 'US',
  continent: 'NA',
  latitude: 39.0438,
  longitude: -77.4874,
  timezone: 'America/New_York',
  region: 'Virginia',
  regionCode: 'VA',
};

const SHIELDS: Shield[] = [
  { ...ORIGIN, id: 'us-east' },
  {
    id: 'eu-west',
    city: 'London',
    country: 'GB',
    continent: 'EU',
    latitude: 51.5074,
    longitude: -0.1278,
    timezone: 'Europe/London',
    region: 'England',
    regionCode: 'ENG',
  },
  {
    id: 'apac',
    city: 'Singapore',
    country: 'SG',
    continent: 'AS',
    latitude: 1.3521,
    longitude: 103.8198,
    timezone: 'Asia/Singapore',
  },
];

type Row = [
  id: string,
  city: string,
  country: string,
  continent: string,
  lat: number,
  lon: number,
  tz: string,
  shield: string,
  region?: string,
  regionCode?: string,
];

const WORLD: Row[] = [
  ['IAD', 'Ashburn', 'US', 'NA', 39.0438, -77.4874, 'America/New_York', 'us-east', 'Virginia', 'VA'],
  ['ORD', 'Chicago', 'US', 'NA', 41.8781, -87.6298, 'America/Chicago', 'us-east', 'Illinois', 'IL'],
  [
    'SFO',
    'San Francisco',
    'US',
    'NA',
    37.7749,
    -122.4194,
    'America/Los_Angeles',
    'us-east',
    'California',
    'CA',
  ],
  ['YYZ', 'Toronto', 'CA', 'NA', 43.6532, -79.3832, 'America/Toronto', 'us-east', 'Ontario', 'ON'],
  [
    'MEX',
    'Mexico City',
    'MX',
    'NA',
    19.4326,
    -99.1332,
    'America/Mexico_City',
    'us-east',
    'Ciudad de México',
    'CMX',
  ],
  ['GRU', 'São Paulo', 'BR', 'SA', -23.5505, -46.6333, 'America/Sao_Paulo', 'us-east', 'São Paulo', 'SP'],
  [
    'EZE',
    'Buenos Aires',
    'AR',
    'SA',
    -34.6037,
    -58.3816,
    'America/Argentina/Buenos_Aires',
    'us-east',
    'Buenos Aires',
    'C',
  ],
  ['LHR', 'London', 'GB', 'EU', 51.5074, -0.1278, 'Europe/London', 'eu-west', 'England', 'ENG'],
  ['CDG', 'Paris', 'FR', 'EU', 48.8566, 2.3522, 'Europe/Paris', 'eu-west', 'Île-de-France', 'IDF'],
  ['FRA', 'Frankfurt', 'DE', 'EU', 50.1109, 8.6821, 'Europe/Berlin', 'eu-west', 'Hesse', 'HE'],
  ['AMS', 'Amsterdam', 'NL', 'EU', 52.3676, 4.9041, 'Europe/Amsterdam', 'eu-west', 'North Holland', 'NH'],
  ['JNB', 'Johannesburg', 'ZA', 'AF', -26.2041, 28.0473, 'Africa/Johannesburg', 'eu-west', 'Gauteng', 'GP'],
  ['LOS', 'Lagos', 'NG', 'AF', 6.5244, 3.3792, 'Africa/Lagos', 'eu-west', 'Lagos', 'LA'],
  ['CAI', 'Cairo', 'EG', 'AF', 30.0444, 31.2357, 'Africa/Cairo', 'eu-west', 'Cairo', 'C'],
  ['DXB', 'Dubai', 'AE', 'AS', 25.2048, 55.2708, 'Asia/Dubai', 'apac', 'Dubai', 'DU'],
  ['BOM', 'Mumbai', 'IN', 'AS', 19.076, 72.8777, 'Asia/Kolkata', 'apac', 'Maharashtra', 'MH'],
  ['SIN', 'Singapore', 'SG', 'AS', 1.3521, 103.8198, 'Asia/Singapore', 'apac'],
  ['HKG', 'Hong Kong', 'HK', 'AS', 22.3193, 114.1694, 'Asia/Hong_Kong', 'apac'],
  ['NRT', 'Tokyo', 'JP', 'AS', 35.6762, 139.6503, 'Asia/Tokyo', 'apac', 'Tokyo', '13'],
  ['SYD', 'Sydney', 'AU', 'OC', -33.8688, 151.2093, 'Australia/Sydney', 'apac', 'New South Wales', 'NSW'],
  ['AKL', 'Auckland', 'NZ', 'OC', -36.8485, 174.7633, 'Pacific/Auckland', 'apac', 'Auckland', 'AUK'],
];

function pop([
  id,
  city,
  country,
  continent,
  latitude,
  longitude,
  timezone,
  shield,
  region,
  regionCode,
]: Row): Pop {
  return { id, city, country, continent, latitude, longitude, timezone, shield, region, regionCode };
}

export function builtinTopology(name: string): Topology | undefined {
  if (name === 'local')
    return {
      name,
      pops: [
        {
          id: 'DEV',
          city: 'San Francisco',
          country: 'US',
          continent: 'NA',
          latitude: 37.7749,
          longitude: -122.4194,
          timezone: 'America/Los_Angeles',
          region: 'California',
          regionCode: 'CA',
          shield: 'us-east',
        },
      ],
      shields: [SHIELDS[0]],
      origins: [ORIGIN],
    };
  if (name === 'world') return { name, pops: WORLD.map(pop), shields: SHIELDS, origins: [ORIGIN] };
  if (name === 'world-large') return { name, pops: worldLargePops(), shields: SHIELDS, origins: [ORIGIN] };
  return undefined;
}

export const BUILTIN_TOPOLOGIES = ['local', 'world', 'world-large'] as const;
