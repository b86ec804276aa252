export {
  acceptHanded,
  processSlot,
  READY_MESSAGE,
  reachesSlot,
  type Slot,
  shareByHost,
  slotOf,
} from './affinity.ts';
export { type CfInput, httpProtocol, localCf, nodeCf, requestCf } from './cf.ts';
export {
  answer,
  type GeoDnsOptions,
  type GeoDnsServer,
  type Locator,
  maxmindLocator,
  startGeoDns,
  tableLocator,
} from './geodns.ts';
export { DEFAULT_LATENCY, distanceKm, type LatencyModel, oneWayMs, rttMs } from './latency.ts';
export { type ClientLocation, HINT_PLACES, LocationError, parseLocation, popById } from './location.ts';
export { type Member, Membership, type MembershipOptions, popNodes } from './membership.ts';
export { objectPeers, PEER_OBJECT_PATH, servePeerObject } from './object-peer.ts';
export { httpOrigin } from './origin.ts';
export { Router } from './router.ts';
export { type RouterServer, type RouterServerOptions, startRouterServer } from './router-server.ts';
export {
  type CompiledRoute,
  compileRoutes,
  type RouteInput,
  type RouteMatch,
  type RouteMatcher,
  type RouteUrl,
} from './routes.ts';
export { clientLocation, routeRequest } from './select.ts';
export { MIN_SECRET_LENGTH, type ShieldTierOptions, shieldTier } from './shield.ts';
export { type ShieldServer, type ShieldServerOptions, startShieldServer } from './shield-server.ts';
export { CacheTiers } from './tiers.ts';
export { BUILTIN_TOPOLOGIES, builtinTopology } from './topology/builtin.ts';
export { loadTopology, validateTopology } from './topology/load.ts';
export type { Origin, Place, Pop, Shield, Topology } from './topology/types.ts';
export { originUrl, requestHref, requestUrl } from './urls.ts';
export { clientAddress, newRay, PLATFORM_REQUEST_HEADERS, type Visitor, visitorHeaders } from './visitor.ts';
