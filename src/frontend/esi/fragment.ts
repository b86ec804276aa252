// One esi:include carried out (ESI 1.0 §3.1): fetch src; if that fails, fetch alt; if that fails
// too, onerror="continue" leaves the include out, and otherwise the include fails (its try's
// except branch, or the page's onIncludeError). A fetch fails when:
//   - its URL does not resolve (relative URLs resolve against the document holding the include:
//     the page, or the fragment for a nested include) or is not http(s);
//   - it would nest deeper than maxDepth, or its URL is already on the include chain (a loop);
//   - the page has made maxIncludes fetches (src and alt each count) or read maxFragmentBytes;
//   - the fetcher throws, answers a status outside 2xx, or the body does not arrive in full
//     within timeoutMs of the fetch starting (the timer stops once the body has arrived;
//     fragments nested inside have timers of their own);
//   - the fragment is processed as ESI and that fails (an include in it fails with
//     onIncludeError 'fail').
// A fragment is collected whole before it is sent, so the page never holds half a fragment:
// what fails after some bytes have come is still replaced by alt or left out cleanly.

import { Cancel, guarded, readAll, release } from './abort.ts';
import { headerLookup } from './headers.ts';
import { wantsEsi } from './surrogate.ts';
import { asEsiError, type Outcome } from './tree.ts';
import { EsiError, type FragmentResponse, type ResolvedOptions } from './types.ts';

/** Where an include sits: the document holding it. */
export interface DocContext {
  /** Relative include URLs resolve against it. */
  base: URL;
  /** 0 for the page, 1 for a fragment of it, … */
  depth: number;
  /** URLs of the page and of each fragment down to this document. */
  chain: readonly string[];
}

/** What every document of one page shares. */
export interface PageState {
  opts: ResolvedOptions;
  fetches: number;
  bytes: number;
  /** Processes a fragment's body as ESI (process.ts). */
  process(body: AsyncIterable<Uint8Array>, doc: DocContext, cancel: Cancel): AsyncIterable<Uint8Array>;
}

export interface IncludeSpec {
  src: string;
  alt: string | null;
  continueOnError: boolean;
}

export async function runInclude(
  spec: IncludeSpec,
  doc: DocContext,
  page: PageState,
  cancel: Cancel,
): Promise<Outcome> {
  let first = await fetchFragment(spec.src, doc, page, cancel);
  if (!first.ok && spec.alt !== null && !cancel.aborted) {
    const second = await fetchFragment(spec.alt, doc, page, cancel);
    if (second.ok) return second;
    first = {
      ok: false,
      error: new EsiError(
        second.error.code,
        `${first.error.message}; alt: ${second.error.message}`,
        first.error.url,
      ),
    };
  }
  if (!first.ok && spec.continueOnError && !cancel.aborted) return { ok: true, chunks: [] };
  return first;
}

async function fetchFragment(src: string, doc: DocContext, page: PageState, outer: Cancel): Promise<Outcome> {
  const { opts } = page;
  if (outer.aborted) return { ok: false, error: asEsiError(outer.reason, src) };
  let url: URL;
  try {
    url = new URL(src, doc.base);
  } catch {
    return fail('bad-url', `include URL ${JSON.stringify(src)} does not resolve`, src);
  }
  const href = url.href;
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return fail('bad-url', `include of ${href}: not http(s)`, href);
  const depth = doc.depth + 1;
  if (depth > opts.maxDepth)
    return fail('too-deep', `include of ${href} nested deeper than ${opts.maxDepth}`, href);
  if (doc.chain.includes(href))
    return fail('loop', `include loop: ${[...doc.chain, href].join(' -> ')}`, href);
  if (++page.fetches > opts.maxIncludes) {
    return fail(
      'too-many-includes',
      `include of ${href}: more than ${opts.maxIncludes} fetches for one page`,
      href,
    );
  }

  const cancel = new Cancel(outer);
  const timer = setTimeout(
    () =>
      cancel.abort(new EsiError('timeout', `include of ${href} timed out after ${opts.timeoutMs} ms`, href)),
    opts.timeoutMs,
  );
  try {
    let pending: Promise<FragmentResponse>;
    try {
      // The AbortSignal is made only if the fetcher reads it (abort.ts).
      const init = {
        depth,
        get signal() {
          return cancel.signal;
        },
      };
      pending = Promise.resolve(opts.fetch(href, init));
    } catch (e) {
      pending = Promise.reject(e);
    }
    let res: FragmentResponse;
    try {
      res = await cancel.race(pending);
    } catch (e) {
      // A response that comes after the abort is let go unread.
      pending.then(
        (r) => release(r?.body?.[Symbol.asyncIterator]()),
        () => {},
      );
      throw e;
    }
    if (!(res.status >= 200 && res.status <= 299)) {
      release(res.body?.[Symbol.asyncIterator]());
      return fail('status', `include of ${href} answered ${res.status}`, href);
    }
    const onChunk = (chunk: Uint8Array) => {
      page.bytes += chunk.byteLength;
      if (page.bytes > opts.maxFragmentBytes) {
        throw new EsiError(
          'too-many-bytes',
          `fragments of the page exceed ${opts.maxFragmentBytes} bytes`,
          href,
        );
      }
    };
    const esi =
      opts.processFragments === 'always' ||
      wantsEsi(headerLookup(res.headers)('surrogate-control'), opts.deviceToken);
    let chunks: Uint8Array[] = [];
    if (!esi) {
      if (res.body) chunks = await readAll(res.body, cancel, onChunk);
    } else {
      // The timer stops when the fragment's own body has arrived, before its includes have.
      const body = guarded(res.body ?? emptyBody(), cancel, onChunk, () => clearTimeout(timer));
      const nested = { base: url, depth, chain: [...doc.chain, href] };
      for await (const c of page.process(body, nested, cancel)) chunks.push(c);
    }
    return { ok: true, chunks };
  } catch (e) {
    cancel.abort(e);
    return { ok: false, error: asEsiError(e, href) };
  } finally {
    clearTimeout(timer);
    cancel.detach();
  }
}

function fail(code: EsiError['code'], message: string, url: string): Outcome {
  return { ok: false, error: new EsiError(code, message, url) };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}
