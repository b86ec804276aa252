// From tokens to the page's items (tree.ts), one token at a time, with a stack of open elements.
// Elements (ESI 1.0 §3):
//   include  §3.1  src (required), alt, onerror="continue"; variables in src and alt. An empty
//                  element, written `/>` or not; a stray </esi:include> is ignored.
//   choose   §3.3  decided while parsing (variables come from the request): the first esi:when
//                  whose test is true, else esi:otherwise, is kept; the other branches are skipped
//                  unread and their includes never fetched. A test that does not parse is false.
//   try      §3.4  attempt / except: see tree.ts.
//   comment  §3.5  removed.           remove  §3.6  removed with its content (tokenizer.ts).
//   vars     §3.7  variables substituted in its text, and in everything nested in it.
//   <!--esi …-->  §3.8  the wrapper is removed and the content processed.
// Not supported: esi:inline (§3.2; the fragment cache it needs is the caller's) and any other
// esi: element — malformed, sent on as written.
//
// Malformed markup never stops the page. What can be sent on as written is: a tag that cannot be
// read or is unknown or out of place, an end tag without a start. Text directly inside esi:try or
// esi:choose, outside their branches, is dropped (whitespace in a well-formed page). Elements left
// open close where their parent ends or at the end (an unclosed skipped branch thus drops the
// rest). In 'report' mode each of these is also passed to onWarning.

import { binaryToUtf8, utf8ToBinary } from './bytes.ts';
import { ExprError, evaluateTest } from './expr.ts';
import type { Flow } from './flow.ts';
import type { IncludeSpec } from './fragment.ts';
import { label, preview, type Token } from './tag.ts';
import { type IncludeItem, type Seq, TryBlock } from './tree.ts';
import { substitute, substitutePart, type Variables } from './vars.ts';

export interface ParserDeps {
  vars: Variables;
  flow: Flow;
  include(spec: IncludeSpec): IncludeItem;
  /** A malformed-markup warning (only called in 'report' mode). */
  malformed?: (message: string) => void;
}

interface Frame {
  /** The element name; '#root', or '#comment' for `<!--esi`. */
  name: string;
  /** Where content goes. */
  seq: Seq;
  /** In a branch that is not taken: everything is dropped. */
  skip: boolean;
  /** Substitute variables in text. */
  vars: boolean;
  /** esi:try or esi:choose: only its branches may appear in it. */
  structural?: boolean;
  block?: TryBlock;
  hadAttempt?: boolean;
  hadExcept?: boolean;
  matched?: boolean;
  warnedText?: boolean;
}

const CONTAINERS = new Set(['try', 'attempt', 'except', 'choose', 'when', 'otherwise', 'vars', 'remove']);

export class EsiParser {
  private readonly stack: Frame[];
  /** Text in a vars block held back because it may end in an unfinished `$(…)`. */
  private held = '';

  constructor(
    root: Seq,
    private readonly deps: ParserDeps,
  ) {
    this.stack = [{ name: '#root', seq: root, skip: false, vars: false }];
  }

  private get top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  token(t: Token): void {
    if (t.type === 'text') {
      this.text(t.text);
      return;
    }
    this.flushHeld();
    switch (t.type) {
      case 'malformed':
        if (!this.top.skip) {
          this.emit(t.raw);
          this.warn(t.raw ? `malformed ESI: ${t.reason}: ${preview(t.raw)}` : `malformed ESI: ${t.reason}`);
        }
        return;
      case 'comment-open':
        this.stack.push({ name: '#comment', seq: this.top.seq, skip: this.top.skip, vars: this.top.vars });
        return;
      case 'comment-close':
        if (!this.closeTo('#comment') && !this.top.skip) this.emit(t.raw);
        return;
      case 'open':
        this.open(t);
        return;
      case 'close':
        if (t.name === 'include' || t.name === 'comment') return;
        if (!this.closeTo(t.name) && !this.top.skip) {
          this.emit(t.raw);
          this.warn(`malformed ESI: </esi:${t.name}> without a start tag`);
        }
        return;
    }
  }

  /** The end of the page: open elements close, the root Seq closes. */
  end(): void {
    this.flushHeld();
    while (this.stack.length > 1) {
      const f = this.stack.pop()!;
      if (!f.skip || !this.top.skip)
        this.warn(`malformed ESI: ${label(f.name)} not closed at the end of the body`);
      this.finish(f);
    }
    this.top.seq.close();
  }

  private text(s: string): void {
    const f = this.top;
    if (f.skip) return;
    if (f.structural) {
      if (!f.warnedText && /\S/.test(s)) {
        f.warnedText = true;
        this.warn(`malformed ESI: text directly inside esi:${f.name} dropped`);
      }
      return;
    }
    if (!f.vars) {
      this.emit(s);
      return;
    }
    const r = substitutePart(this.held + s, this.deps.vars, utf8ToBinary, true);
    this.held = r.rest;
    this.emit(r.out);
  }

  private flushHeld(): void {
    if (this.held) {
      const h = this.held;
      this.held = '';
      this.emit(substitute(h, this.deps.vars, utf8ToBinary));
    }
  }

  private emit(s: string): void {
    if (s) this.top.seq.push({ t: 'text', s });
  }

  private open(t: Extract<Token, { type: 'open' }>): void {
    const f = this.top;
    const { name, attrs, selfClosing } = t;
    if (f.skip) {
      if (!selfClosing && CONTAINERS.has(name))
        this.stack.push({ name, seq: f.seq, skip: true, vars: false });
      return;
    }
    const misplaced = (why: string) => {
      this.emit(t.raw);
      this.warn(`malformed ESI: ${why}: ${preview(t.raw)}`);
    };
    const branchOf = (parent: string) => f.name === parent && f.structural;
    const isBranch =
      name === 'comment' ||
      (f.name === 'try' ? name === 'attempt' || name === 'except' : name === 'when' || name === 'otherwise');
    if (f.structural && !isBranch) {
      misplaced(`esi:${name} directly inside esi:${f.name}`);
      return;
    }
    const attr = (k: string) => {
      const v = attrs.get(k);
      return v === undefined ? null : binaryToUtf8(v);
    };
    switch (name) {
      case 'include': {
        const src = attr('src');
        if (src === null) {
          misplaced('esi:include without src');
          return;
        }
        const alt = attr('alt');
        const spec: IncludeSpec = {
          src: substitute(src, this.deps.vars),
          alt: alt === null ? null : substitute(alt, this.deps.vars),
          continueOnError: attr('onerror') === 'continue',
        };
        f.seq.push({ t: 'include', inc: this.deps.include(spec) });
        return;
      }
      case 'comment':
        return;
      case 'remove':
        if (!selfClosing) this.stack.push({ name, seq: f.seq, skip: true, vars: false });
        return;
      case 'vars':
        if (!selfClosing) this.stack.push({ name, seq: f.seq, skip: false, vars: true });
        return;
      case 'try': {
        if (selfClosing) return;
        const block = new TryBlock(f.seq.scope, this.deps.flow);
        f.seq.push({ t: 'try', block });
        this.stack.push({ name, seq: f.seq, skip: false, vars: f.vars, structural: true, block });
        return;
      }
      case 'attempt':
      case 'except': {
        if (!branchOf('try')) {
          misplaced(`esi:${name} outside esi:try`);
          return;
        }
        const block = f.block!;
        const first = name === 'attempt' ? !f.hadAttempt : !f.hadExcept;
        if (name === 'attempt') f.hadAttempt = true;
        else f.hadExcept = true;
        if (!first) this.warn(`malformed ESI: second esi:${name} in one esi:try ignored`);
        if (name === 'attempt' && f.hadExcept && first)
          this.warn('malformed ESI: esi:attempt after esi:except');
        const seq = name === 'attempt' ? block.attempt : block.except;
        if (selfClosing) {
          if (first) this.finish({ name, seq, skip: false, vars: false, block });
          return;
        }
        this.stack.push({ name, seq, skip: !first, vars: f.vars, block });
        return;
      }
      case 'choose':
        if (!selfClosing)
          this.stack.push({ name, seq: f.seq, skip: false, vars: f.vars, structural: true, matched: false });
        return;
      case 'when':
      case 'otherwise': {
        if (!branchOf('choose')) {
          misplaced(`esi:${name} outside esi:choose`);
          return;
        }
        let take = !f.matched;
        if (take && name === 'when') take = this.test(attr('test'));
        if (take) f.matched = true;
        if (!selfClosing) this.stack.push({ name, seq: f.seq, skip: !take, vars: f.vars });
        return;
      }
      default:
        misplaced(`esi:${name} is not supported`);
        return;
    }
  }

  private test(expr: string | null): boolean {
    if (expr === null) {
      this.warn('malformed ESI: esi:when without test (taken as false)');
      return false;
    }
    try {
      return evaluateTest(expr, this.deps.vars);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      this.warn(`malformed ESI: test ${JSON.stringify(expr)}: ${e.message} (taken as false)`);
      return false;
    }
  }

  /** Closes the innermost open `name`, and what is open inside it; false if none is open. */
  private closeTo(name: string): boolean {
    let k = this.stack.length - 1;
    while (k > 0 && this.stack[k].name !== name) k--;
    if (k === 0) return false;
    while (this.stack.length > k + 1) {
      const inner = this.stack.pop()!;
      if (!inner.skip)
        this.warn(`malformed ESI: ${label(inner.name)} not closed before ${label(name)} ended`);
      this.finish(inner);
    }
    this.finish(this.stack.pop()!);
    return true;
  }

  private finish(f: Frame): void {
    if (f.skip || !f.block) return;
    if (f.name === 'attempt') f.block.closeAttempt();
    else if (f.name === 'except') f.block.except.close();
    else if (f.name === 'try') {
      f.block.closeAttempt();
      f.block.except.close();
    }
  }

  private warn(message: string): void {
    this.deps.malformed?.(message);
  }
}
