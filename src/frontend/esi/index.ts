// Edge Side Includes at the PoP: the public surface. See process.ts for the design.

export { type Expr, ExprError, evaluateTest, parseExpr } from './expr.ts';
export { headerLookup } from './headers.ts';
export { processEsi } from './process.ts';
export { ESI_CAPABILITY, stripEsiContent, surrogateCapability, wantsEsi } from './surrogate.ts';
export {
  DEFAULTS as ESI_DEFAULTS,
  type EsiContext,
  EsiError,
  type EsiErrorCode,
  type EsiOptions,
  type FragmentFetcher,
  type FragmentResponse,
  type HeaderSource,
} from './types.ts';
