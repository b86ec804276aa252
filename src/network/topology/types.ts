/** A network: PoPs in real places, the regional shields they fill from, and origins. */

export interface Place {
  /** An IATA-like code: PoPs and cities (FRA, SIN); shields and origins any id. */
  id: string;
  city: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  /** AF, AN, AS, EU, NA, OC, SA (as request.cf.continent). */
  continent: string;
  latitude: number;
  longitude: number;
  /** IANA time zone. */
  timezone: string;
  /** Region name and ISO 3166-2 code where known (request.cf.region / regionCode). */
  region?: string;
  regionCode?: string;
}

export interface Pop extends Place {
  /** The shield this PoP fills from (a shield id). */
  shield: string;
}

export type Shield = Place;
export type Origin = Place;

export interface Topology {
  name: string;
  pops: Pop[];
  shields: Shield[];
  origins: Origin[];
}

export const CONTINENTS = new Set(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']);
