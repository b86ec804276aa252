/**
 * Which PoP a request goes to, in a network of PoPs in one process (src/pop/network.ts) and
 * through the router in front of node processes (router-server.ts): the one `Outpost-Pop` names,
 * else the nearest healthy one to the client's location.
 */
import type { IncomingMessage } from 'node:http';
import { OutpostError } from '../runtime/index.ts';
import { type ClientLocation, LocationError, parseLocation, popById } from './location.ts';
import type { Router } from './router.ts';
import type { Pop, Topology } from './topology/types.ts';

/** Where the client is: `Outpost-Client-Location`, then `CF-IPCountry`, then `from`. */
export function clientLocation(
  req: IncomingMessage,
  topology: Topology,
  from: ClientLocation,
): ClientLocation | OutpostError {
  try {
    const loc = req.headers['outpost-client-location'];
    const cc = req.headers['cf-ipcountry'];
    if (typeof loc === 'string') return parseLocation(loc, topology, 'Outpost-Client-Location');
    if (typeof cc === 'string') return parseLocation(cc, topology, 'CF-IPCountry');
    return from;
  } catch (err) {
    if (err instanceof LocationError) return new OutpostError('BAD_LOCATION', err.message);
    throw err;
  }
}

/**
 * Which PoP serves a request: the one `Outpost-Pop` names, else the nearest healthy one to the
 * client (`Outpost-Client-Location`, then `CF-IPCountry`, then `from`).
 */
export function routeRequest(
  req: IncomingMessage,
  topology: Topology,
  router: Router,
  from: ClientLocation,
): { pop: Pop; client: ClientLocation } | OutpostError {
  const client = clientLocation(req, topology, from);
  if (client instanceof OutpostError) return client;
  const direct = req.headers['outpost-pop'];
  if (typeof direct === 'string') {
    const pop = popById(topology, direct);
    return pop
      ? { pop, client }
      : new OutpostError('NO_SUCH_POP', `No PoP "${direct}" in topology ${topology.name}`);
  }
  const pop = router.route(client);
  return pop ? { pop, client } : new OutpostError('NO_SUCH_POP', 'Every PoP is down');
}
