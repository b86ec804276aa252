/**
 * HTTP helpers every part that speaks HTTP shares (the runtime's subrequests, the network's
 * shields and routers, the PoP's front): undici loaded on first use, and the one rule for
 * hop-by-hop fields. Imports no other part.
 */
export { connectionListed, HOP_BY_HOP, withoutHopByHop } from './hop-by-hop.ts';
export { undici } from './undici.ts';
