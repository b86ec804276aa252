// The ESI processor: a page body in, the assembled page out, streamed.
//
// Design. Two loops run for each document (the page, and each fragment processed as ESI):
//   - the *parser* pulls the body, tokenizes it (tokenizer.ts) and builds the page's items
//     (parser.ts → tree.ts). Each include starts fetching the moment it is parsed (when its
//     branch is live), so fragments load in parallel; the parser does not wait for them.
//   - the *writer* (this file) walks the items in document order and yields bytes: text as soon
//     as it is parsed, an include once its fragment has arrived whole, an esi:try once it is
//     decided. So the first bytes leave before any fragment answers, and a slow fragment holds
//     back only what follows it.
// The parser reads ahead of the writer to find later includes, but only maxBufferBytes ahead
// (Flow): past that it waits for the writer, unless the writer is waiting on the parser (for
// more items, or for the end of the esi:attempt it must decide — an attempt that alone exceeds
// the limit fails). Memory is thus bounded by maxBufferBytes of page text, maxFragmentBytes of
// fragments and one tag (maxTagBytes).
//
// Failures. An include that fails (fragment.ts) inside an esi:attempt decides its try for
// esi:except. Outside any attempt, onIncludeError decides: 'fail' (the default, as ESI 1.0 §3.1
// says: "If an ESI Processor can fetch neither the src nor the alt, it returns a HTTP status code
// greater than 400 with an error message, unless the onerror attribute is present") makes the
// output throw an EsiError — at once, even while the writer still waits on an earlier include —
// and the caller answers 5xx if nothing was sent yet, or ends the response unfinished (a
// truncated response is the only error signal left once the status line has gone); 'empty'
// leaves the include out and tells onWarning. For a nested fragment, a failure that would fail the
// page fails that fragment's include instead (its alt, onerror, try then apply).
//
// Cancellation. When the consumer stops reading (return() on the iterator), or the page fails,
// the document's Cancel token (abort.ts) aborts, and with it every token linked below it: every
// include and fetch in flight (the AbortSignal a fetcher was given, if it asked for one), the
// parser's read of the body (the source iterator's return() is called) and every nested document.

import { Cancel, guarded } from './abort.ts';
import { fromBinary, toBinary } from './bytes.ts';
import { deferred, Flow } from './flow.ts';
import { type DocContext, type IncludeSpec, type PageState, runInclude } from './fragment.ts';
import { EsiParser } from './parser.ts';
import { Tokenizer } from './tokenizer.ts';
import { IncludeItem, type Scope, Seq } from './tree.ts';
import { DEFAULTS, EsiError, type EsiOptions, type ResolvedOptions } from './types.ts';
import { Variables } from './vars.ts';

/**
 * Processes the ESI markup of `body` (a page whose response asked for it: wantsEsi). The result
 * is the page to send; stop iterating it to cancel the fragments still loading.
 */
export function processEsi(body: AsyncIterable<Uint8Array>, options: EsiOptions): AsyncIterable<Uint8Array> {
  const opts = resolveOptions(options);
  const vars = new Variables(opts.context);
  const page: PageState = {
    opts,
    fetches: 0,
    bytes: 0,
    process: (b, doc, cancel) => processDocument(b, doc, page, vars, cancel),
  };
  const url = opts.context.url;
  return processDocument(body, { base: url, depth: 0, chain: [url.href] }, page, vars, undefined);
}

async function* processDocument(
  body: AsyncIterable<Uint8Array>,
  doc: DocContext,
  page: PageState,
  vars: Variables,
  outer: Cancel | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { opts } = page;
  const cancel = new Cancel(outer);
  let error: unknown = null;
  let over = false; // torn down: what fails from here on is the teardown itself
  const failed = deferred<never>();
  failed.promise.catch(() => {});
  const failDocument = (e: unknown) => {
    if (error !== null) return;
    error = e ?? new Error('ESI processing failed');
    failed.reject(error);
    cancel.abort(error);
  };
  const rootScope: Scope = {
    add() {},
    done() {},
    fail(err) {
      if (over) return;
      if (opts.onIncludeError === 'fail') failDocument(err);
      else opts.onWarning(`ESI include left out: ${err.message}`);
    },
  };
  const flow = new Flow(opts.maxBufferBytes);
  const root = new Seq(rootScope, flow);
  root.activate();
  const parser = new EsiParser(root, {
    vars,
    flow,
    include: (spec: IncludeSpec) => new IncludeItem((c) => runInclude(spec, doc, page, c), cancel),
    malformed: opts.onMalformed === 'report' ? opts.onWarning : undefined,
  });

  const parse = async () => {
    const tokenizer = new Tokenizer(opts.maxTagBytes);
    for await (const chunk of guarded(body, cancel)) {
      if (chunk.byteLength > 0) for (const t of tokenizer.push(toBinary(chunk))) parser.token(t);
      const room = flow.room();
      if (room) await cancel.race(room);
    }
    for (const t of tokenizer.end()) parser.token(t);
    parser.end();
  };
  parse().catch((e) => {
    if (!over) failDocument(e);
  });
  const waits: Waits = {
    failed: failed.promise,
    check() {
      if (error !== null) throw error;
    },
  };

  let completed = false;
  try {
    yield* write(root, flow, waits);
    waits.check();
    completed = true;
  } finally {
    over = true;
    if (!completed) cancel.abort(error ?? new EsiError('cancelled', 'ESI output no longer read'));
    cancel.detach();
  }
}

interface Waits {
  /** Rejects when the document fails; raced with every wait. */
  failed: Promise<never>;
  /** Throws if the document has failed. */
  check(): void;
}

/** Yields `seq`'s items in order, waiting for each as needed (see the design above). */
async function* write(seq: Seq, flow: Flow, w: Waits): AsyncGenerator<Uint8Array, void, undefined> {
  for (;;) {
    let text = '';
    while (seq.peek() === 'text') text += (seq.take() as { s: string }).s;
    if (text) {
      seq.written(text.length);
      yield fromBinary(text);
      continue;
    }
    const item = seq.take();
    if (item?.t === 'include') {
      const o = item.inc.settled ?? (await Promise.race([item.inc.outcome, w.failed]));
      // A failed include here lies outside any attempt: with onIncludeError 'fail' the document
      // has failed (check throws), with 'empty' it is left out.
      w.check();
      if (o.ok) for (const c of o.chunks) yield c;
      continue;
    }
    if (item?.t === 'try') {
      flow.writerNeeds(item.block);
      const which = await Promise.race([item.block.decision, w.failed]);
      flow.writerNeeds(null);
      yield* write(which === 'attempt' ? item.block.attempt : item.block.except, flow, w);
      continue;
    }
    if (seq.closed) return;
    flow.writerNeeds('items');
    await Promise.race([seq.changed(), w.failed]);
    flow.writerNeeds(null);
    w.check();
  }
}

function resolveOptions(o: EsiOptions): ResolvedOptions {
  if (!o || typeof o.fetch !== 'function')
    throw new EsiError('bad-option', 'ESI options: fetch must be a function');
  if (!o.context || !(o.context.url instanceof URL)) {
    throw new EsiError('bad-option', 'ESI options: context.url must be a URL');
  }
  const count = (name: keyof typeof DEFAULTS, v: number | undefined, min: number): number => {
    if (v === undefined) return DEFAULTS[name] as number;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw new EsiError('bad-option', `ESI options: ${name} must be a number >= ${min} (got ${String(v)})`);
    }
    return v;
  };
  const oneOf = <T extends string>(name: string, v: T | undefined, allowed: readonly T[], dflt: T): T => {
    if (v === undefined) return dflt;
    if (!allowed.includes(v))
      throw new EsiError('bad-option', `ESI options: ${name} must be one of ${allowed.join(', ')}`);
    return v;
  };
  return {
    fetch: o.fetch,
    context: o.context,
    maxDepth: count('maxDepth', o.maxDepth, 0),
    timeoutMs: count('timeoutMs', o.timeoutMs, 1),
    maxIncludes: count('maxIncludes', o.maxIncludes, 0),
    maxFragmentBytes: count('maxFragmentBytes', o.maxFragmentBytes, 0),
    maxTagBytes: count('maxTagBytes', o.maxTagBytes, 16),
    maxBufferBytes: count('maxBufferBytes', o.maxBufferBytes, 0),
    onMalformed: oneOf('onMalformed', o.onMalformed, ['pass', 'report'], DEFAULTS.onMalformed),
    onIncludeError: oneOf('onIncludeError', o.onIncludeError, ['empty', 'fail'], DEFAULTS.onIncludeError),
    processFragments: oneOf(
      'processFragments',
      o.processFragments,
      ['when-asked', 'always'],
      DEFAULTS.processFragments,
    ),
    deviceToken: o.deviceToken ?? DEFAULTS.deviceToken,
    onWarning: o.onWarning ?? (() => {}),
  };
}
