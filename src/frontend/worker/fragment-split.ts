/**
 * Chunks cut just before each placeholder's start tag, for the assembling pass of
 * outpost/fragments (fragments.ts).
 *
 * Why: workerd's HTMLRewriter (Cloudflare's) passes on the output of one written chunk only
 * when that chunk's write has finished, and an async element handler holds the write until it
 * settles. A page that arrives as one chunk would then reach the client only after its first
 * slow fragment: nothing streams. Measured on workerd 1.2026 (miniflare): a one-chunk shell sent
 * nothing before its pending fragment; the same shell in two chunks cut before the placeholder
 * sent the first at once. (html-rewriter-wasm, Outpost's, passes output on as it is produced;
 * the cut costs it nothing.) So each chunk is cut before the `<` that opens a tag containing
 * `data-fragment`: everything before a placeholder is in a chunk whose write ends before the
 * placeholder's handler starts waiting.
 *
 * A byte search, no parsing: `data-fragment` in text, a comment or a script only adds a cut.
 * When the tag started in an earlier chunk, that chunk already ended before the handler runs.
 */

const NEEDLE = new TextEncoder().encode('data-fragment');
const LT = 0x3c;

/** Index of NEEDLE in `b` at or after `from`, ASCII case-insensitively (attribute names are). */
function find(b: Uint8Array, from: number): number {
  const last = b.length - NEEDLE.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < NEEDLE.length; j++) if ((b[i + j] | 0x20) !== NEEDLE[j]) continue outer;
    return i;
  }
  return -1;
}

/** A stream that passes bytes on unchanged, cut before every placeholder's `<`. */
export function cutBeforePlaceholders(): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const b = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBufferLike);
      let start = 0;
      for (let at = find(b, 0); at !== -1; at = find(b, at + NEEDLE.length)) {
        const lt = b.lastIndexOf(LT, at);
        if (lt > start) {
          controller.enqueue(b.subarray(start, lt));
          start = lt;
        }
      }
      if (start < b.length) controller.enqueue(start === 0 ? b : b.subarray(start));
    },
  });
}
