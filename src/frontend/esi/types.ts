// The public types of the ESI processor and its option defaults.

import type { HeaderSource } from './headers.ts';

export type { HeaderSource } from './headers.ts';

/** The request the page answers: where variables come from. */
export interface EsiContext {
  /** The page URL: relative include URLs resolve against it; QUERY_STRING reads it. */
  url: URL;
  /** The request's header fields (Cookie, Host, Accept-Language, User-Agent, Referer). */
  headers: HeaderSource;
  /** The client's location for $(GEO{…}): country_code, region_code, city, … */
  geo?: Record<string, string | undefined>;
}

/** What a fragment fetch answers. */
export interface FragmentResponse {
  status: number;
  headers: HeaderSource;
  body: AsyncIterable<Uint8Array> | null;
}

/**
 * Fetches one fragment (GET). The caller routes it through the PoP's cache. `signal` aborts when
 * the fragment times out, its page no longer needs it or the consumer stops reading; it is made
 * when first read (a getter), so a fetcher that has no use for it should not read it: an
 * AbortSignal costs more than the rest of an include. `depth` is the fragment's nesting level (1
 * for an include in the page itself).
 */
export type FragmentFetcher = (
  url: string,
  init: { signal: AbortSignal; depth: number },
) => Promise<FragmentResponse>;

export interface EsiOptions {
  fetch: FragmentFetcher;
  context: EsiContext;
  /** Deepest fragment nesting; an include deeper than this fails. Default 5. */
  maxDepth?: number;
  /** Per fragment fetch, until its body has arrived. Default 5000 ms. */
  timeoutMs?: number;
  /** Fragment fetches (src and alt each count) per page, nested fragments included. Default 256. */
  maxIncludes?: number;
  /** Bytes of fragment bodies per page, nested fragments included. Default 16 MiB. */
  maxFragmentBytes?: number;
  /** Longest single ESI tag; a longer one is malformed. Default 64 KiB. */
  maxTagBytes?: number;
  /**
   * How far the page may be read ahead of what has been sent (the reading that starts later
   * includes' fetches early) and the most an esi:attempt may hold while it is undecided (a larger
   * one fails, so its esi:except is used). Default 1 MiB.
   */
  maxBufferBytes?: number;
  /** Malformed ESI markup is sent on as it was; 'report' also tells onWarning. Default 'pass'. */
  onMalformed?: 'pass' | 'report';
  /**
   * An include that fails outside any esi:try, without onerror="continue": 'fail' (ESI 1.0 §3.1:
   * the page is an error — the output stream throws EsiError) or 'empty' (it is left out and
   * onWarning told). Default 'fail'.
   */
  onIncludeError?: 'empty' | 'fail';
  onWarning?: (message: string) => void;
  /**
   * Whether ESI markup in fragments is processed: 'when-asked' (the fragment's response carries
   * Surrogate-Control content="ESI/1.0", the same rule as for a page) or 'always'. Default
   * 'when-asked'.
   */
  processFragments?: 'when-asked' | 'always';
  /**
   * This surrogate's device token: Surrogate-Control directives of fragments targeted at it
   * (`content="ESI/1.0";outpost`) count, those targeted at others do not. Default 'outpost'.
   */
  deviceToken?: string;
}

export const DEFAULTS = {
  maxDepth: 5,
  timeoutMs: 5000,
  maxIncludes: 256,
  maxFragmentBytes: 16 * 1024 * 1024,
  maxTagBytes: 64 * 1024,
  maxBufferBytes: 1024 * 1024,
  onMalformed: 'pass',
  onIncludeError: 'fail',
  processFragments: 'when-asked',
  deviceToken: 'outpost',
} as const;

export type ResolvedOptions = Required<Omit<EsiOptions, 'onWarning'>> & {
  onWarning: (message: string) => void;
};

export type EsiErrorCode =
  | 'include-failed'
  | 'timeout'
  | 'status'
  | 'too-deep'
  | 'loop'
  | 'too-many-includes'
  | 'too-many-bytes'
  | 'bad-url'
  | 'attempt-too-large'
  | 'cancelled'
  | 'bad-option';

/** An ESI failure; `code` is stable. */
export class EsiError extends Error {
  constructor(
    readonly code: EsiErrorCode,
    message: string,
    readonly url?: string,
  ) {
    super(message);
    this.name = 'EsiError';
  }
}
