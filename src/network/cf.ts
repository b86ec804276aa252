/**
 * `request.cf` (https://developers.cloudflare.com/workers/runtime-apis/request/#incomingrequestcfproperties):
 * what the PoP tells a worker about the request's client and connection — the PoP (`colo`), where
 * the client is (from its location, else the PoP's own place), the round trip to it, and the
 * HTTP and TLS versions it spoke. One builder for the local PoP of `outpost dev` and for every
 * PoP of a topology.
 */
import type { IncomingMessage } from 'node:http';
import { OutpostError } from '../runtime/index.ts';
import { rttMs } from './latency.ts';
import type { ClientLocation } from './location.ts';
import { clientLocation } from './select.ts';
import type { Place, Pop, Topology } from './topology/types.ts';

export interface CfInput {
  /** The PoP serving it: its id is `colo`; its place stands in for a client of unknown place. */
  pop: Place;
  /** Where the client is, when known (a topology's routing); else the PoP's place. */
  client?: ClientLocation;
  /** The client's round trip to the PoP, ms. */
  rttMs: number;
  /** Node's `req.httpVersion`: "1.1", "2.0". */
  httpVersion: string;
  /** The TLS version negotiated ("TLSv1.3"), '' over plain HTTP. */
  tlsVersion: string;
  /** Extra fields of a place the topology does not describe (the local PoP's postal and metro codes). */
  extra?: Record<string, unknown>;
}

/** "HTTP/1.1", "HTTP/2" (as Cloudflare writes it), "HTTP/1.0". */
export function httpProtocol(httpVersion: string): string {
  return httpVersion === '2.0' ? 'HTTP/2' : `HTTP/${httpVersion}`;
}

export function requestCf(i: CfInput): Record<string, unknown> {
  const known = i.client?.country ? i.client : undefined;
  const where = known ?? i.pop;
  return {
    colo: i.pop.id,
    country: where.country,
    city: i.client ? (i.client.city ?? (known ? undefined : i.pop.city)) : i.pop.city,
    continent: where.continent,
    region: known ? known.region : i.pop.region,
    regionCode: known ? known.regionCode : i.pop.regionCode,
    ...i.extra,
    latitude: (i.client ?? i.pop).latitude.toFixed(5),
    longitude: (i.client ?? i.pop).longitude.toFixed(5),
    timezone: where.timezone,
    asn: 0,
    asOrganization: 'Outpost development',
    httpProtocol: httpProtocol(i.httpVersion),
    tlsVersion: i.tlsVersion,
    tlsCipher: '',
    clientTcpRtt: Math.round(i.rttMs),
    requestPriority: '',
    edgeRequestKeepAliveStatus: 1,
  };
}

/** The local PoP of `outpost dev`: in San Francisco, as wrangler dev's request.cf is. */
const LOCAL_PLACE = {
  id: 'DEV',
  city: 'San Francisco',
  country: 'US',
  continent: 'NA',
  region: 'California',
  regionCode: 'CA',
  latitude: 37.7749,
  longitude: -122.4194,
  timezone: 'America/Los_Angeles',
};

const localCache = new Map<string, Readonly<Record<string, unknown>>>();

/**
 * `request.cf` for the single local PoP. One frozen object per protocol version, shared by
 * requests: the runtime then sends it into an isolate only when it changes.
 */
export function localCf(req: IncomingMessage): Record<string, unknown> {
  const tlsVersion = (req.socket as { getProtocol?: () => string | null }).getProtocol?.() ?? '';
  const k = `${req.httpVersion} ${tlsVersion}`;
  let cf = localCache.get(k);
  if (!cf) {
    cf = Object.freeze(
      requestCf({
        pop: LOCAL_PLACE,
        rttMs: 0,
        httpVersion: req.httpVersion,
        tlsVersion,
        extra: { postalCode: '94107', metroCode: '807' },
      }),
    );
    localCache.set(k, cf);
  }
  return cf as Record<string, unknown>;
}

/**
 * `request.cf` for a node serving one PoP of a topology (src/pop/node.ts): the PoP is fixed and
 * the client is where the router says (`Outpost-Client-Location`, `CF-IPCountry`); a request
 * that says nothing (or nothing valid) is from the PoP's own place. The round trip is the
 * modelled one. Requests that say nothing share one frozen object per protocol version.
 */
export function nodeCf(topology: Topology, pop: Pop): (req: IncomingMessage) => Record<string, unknown> {
  const shared = new Map<string, Readonly<Record<string, unknown>>>();
  return (req) => {
    const tlsVersion = (req.socket as { getProtocol?: () => string | null }).getProtocol?.() ?? '';
    const located = req.headers['outpost-client-location'] ?? req.headers['cf-ipcountry'];
    if (located !== undefined) {
      const client = clientLocation(req, topology, { ...pop, source: 'the PoP' });
      if (!(client instanceof OutpostError))
        return requestCf({
          pop,
          client,
          rttMs: rttMs(client, pop),
          httpVersion: req.httpVersion,
          tlsVersion,
        });
    }
    const k = `${req.httpVersion} ${tlsVersion}`;
    let cf = shared.get(k);
    if (!cf) {
      cf = Object.freeze(requestCf({ pop, rttMs: 0, httpVersion: req.httpVersion, tlsVersion }));
      shared.set(k, cf);
    }
    return cf as Record<string, unknown>;
  };
}
