/**
 * The placeholder convention of outpost/fragments (docs/fragments.md) and the numbering both of
 * its HTMLRewriter passes share.
 *
 * A placeholder is an element with a `data-fragment` attribute naming the fragment's key; its
 * own content is the fallback, shown when the fragment cannot be had:
 *
 *     <nav data-fragment="nav" data-ttl="3600" data-timeout="500"><a href="/">Home</a></nav>
 *
 * - `data-ttl`: seconds the fragment is cached at the edge (cf.cacheTtl); the `ttl` option when
 *   absent or not a whole number.
 * - `data-timeout`: milliseconds to wait for it; the `timeout` option when absent or not a
 *   positive whole number.
 * - The element stays, with its attributes; only its content is replaced. It needs an end tag:
 *   void elements (`<img>`, `<br>`…) are never placeholders. Its content is what lol-html counts
 *   as inside it, up to its end tag: a `<p>` holding another `<p>` ends only with its parent.
 *   Elements never closed implicitly (div, section, nav, aside…) are the safe choice.
 * - A placeholder inside another one is part of that one's fallback, not a placeholder.
 *
 * Both passes see the same bytes and number placeholders with the same rules, so the n-th
 * placeholder of the scanning pass is the n-th of the assembling pass.
 */

export const ATTRIBUTE = 'data-fragment';
export const SELECTOR = `[${ATTRIBUTE}]`;
/** Every element inside a placeholder (lol-html's descendant combinator). */
export const INSIDE_SELECTOR = `${SELECTOR} *`;

/** What one placeholder asks for; unset numbers take the options' defaults. */
export interface SlotSpec {
  key: string;
  ttl?: number;
  timeoutMs?: number;
}

/** One numbered placeholder of a pass. */
export interface Slot {
  index: number;
  spec: SlotSpec;
  /** Set by the assembling pass: whether the placeholder has content (an element, or text). */
  hasContent?: boolean;
  /** Set by the assembling pass: called at the placeholder's end tag. */
  atEnd?: (end: EndTag) => void;
}

// https://html.spec.whatwg.org/multipage/syntax.html#void-elements
const VOID = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

function wholeNumber(value: string | null, min: number): number | undefined {
  if (value === null || !/^\s*\d{1,10}\s*$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min ? n : undefined;
}

/** The spec an element asks for, or undefined when it is not a placeholder. */
export function readSlot(el: Element): SlotSpec | undefined {
  const key = el.getAttribute(ATTRIBUTE)?.trim();
  if (!key || VOID.has(el.tagName.toLowerCase())) return undefined;
  return {
    key,
    ttl: wholeNumber(el.getAttribute('data-ttl'), 0),
    timeoutMs: wholeNumber(el.getAttribute('data-timeout'), 1),
  };
}

/** Numbers one pass's placeholders in document order. */
export class SlotCounter {
  #inside = false;
  #next = 0;
  /** The placeholder whose content is being read, if any. */
  current: Slot | undefined;

  /** For an element matching SELECTOR: its slot, or undefined when it is not a placeholder. */
  enter(el: Element): Slot | undefined {
    if (this.#inside) return undefined;
    const spec = readSlot(el);
    if (!spec) return undefined;
    const slot: Slot = { index: this.#next, spec };
    try {
      // One handler per element: Workers' Element.onEndTag (HTMLRewriter page, "Methods").
      el.onEndTag((end) => {
        this.#inside = false;
        this.current = undefined;
        slot.atEnd?.(end);
      });
    } catch {
      return undefined; // no end tag to wait for
    }
    this.#next++;
    this.#inside = true;
    this.current = slot;
    return slot;
  }
}
