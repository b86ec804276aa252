import type { CacheRequest, OriginResponse } from '../../cache/index.ts';
import { VARIANT_HEADER } from './assign.ts';

/**
 * An origin whose responses to requests carrying Outpost-Variant vary on it: the cache then
 * keeps one response per bucket under one URL (RFC 9111 §4.1), whatever the origin said.
 */
export function varyOnVariant<A extends unknown[]>(
  origin: (req: CacheRequest, ...rest: A) => Promise<OriginResponse>,
): (req: CacheRequest, ...rest: A) => Promise<OriginResponse> {
  return async (req, ...rest) => {
    const res = await origin(req, ...rest);
    if (!carriesVariant(req.headers)) return res;
    return { ...res, headers: [...res.headers, 'vary', VARIANT_HEADER] };
  };
}

export function carriesVariant(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === VARIANT_HEADER) return true;
  return false;
}
