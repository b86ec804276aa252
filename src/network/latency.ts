/**
 * The latency model: great-circle distance at about 2/3 of the speed of light (light in fibre),
 * times a route factor (real paths are longer than the great circle), plus processing per hop.
 * With the defaults, Mumbai ↔ northern Virginia (13,000 km) is a 258 ms round trip (the seed
 * quotes 280 ms).
 */
import type { Place } from './topology/types.ts';

export interface LatencyModel {
  /** km per ms in fibre (2/3 c ≈ 200). */
  fibreKmPerMs: number;
  /** Path length over great-circle distance. */
  routeFactor: number;
  /** Processing per hop, ms (each way). */
  hopMs: number;
}

export const DEFAULT_LATENCY: LatencyModel = { fibreKmPerMs: 199.86, routeFactor: 2, hopMs: 0.5 };

const EARTH_KM = 6371.0088;

/** Great-circle distance (haversine), km. */
export function distanceKm(
  a: { latitude: number; longitude: number },
  b: { latitude: number; longitude: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** One-way delay between two places, ms. */
export function oneWayMs(
  a: Pick<Place, 'latitude' | 'longitude'>,
  b: Pick<Place, 'latitude' | 'longitude'>,
  m: LatencyModel = DEFAULT_LATENCY,
): number {
  return (distanceKm(a, b) * m.routeFactor) / m.fibreKmPerMs + m.hopMs;
}

/** Round trip between two places, ms. */
export function rttMs(
  a: Pick<Place, 'latitude' | 'longitude'>,
  b: Pick<Place, 'latitude' | 'longitude'>,
  m: LatencyModel = DEFAULT_LATENCY,
): number {
  return 2 * oneWayMs(a, b, m);
}
