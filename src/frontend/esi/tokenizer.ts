// A streaming ESI tokenizer over binary strings (bytes.ts). It recognises only what ESI needs —
// `<esi:…>`, `</esi:…>`, `<!--esi` and, inside such a block, `-->` — and hands everything else on
// as text the moment it is known not to start one of those, so the page is never buffered: what
// it holds back between chunks is at most the few bytes that could still become `<!--esi` or
// `-->`, or one unfinished tag. A tag longer than `maxTagBytes` (or one interrupted by a `<`
// outside quotes, or unfinished at the end) is malformed and handed on as its raw text.
//
// `<esi:remove>` content is dropped here (ESI 1.0 §3.6: it is never processed or sent), a few
// bytes at a time, up to `</esi:remove>`: nothing inside it is read as markup.

import { parseTag, type Token } from './tag.ts';

export type { Token } from './tag.ts';

const OPEN = '<esi:';
const CLOSE = '</esi:';
const COMMENT = '<!--esi';
const COMMENT_END = '-->';
const REMOVE_END = '</esi:remove';

export const DEFAULT_MAX_TAG_BYTES = 64 * 1024;

export class Tokenizer {
  private buf = '';
  private inComment = false;
  private removing = false;
  /** When `buf` starts with an unfinished tag: how far it was scanned, and the open quote there. */
  private scanned = 0;
  private quote = '';

  constructor(private readonly maxTagBytes = DEFAULT_MAX_TAG_BYTES) {}

  /** Tokens complete once `chunk` is added. */
  push(chunk: string): Token[] {
    this.buf = this.buf.length === 0 ? chunk : this.buf + chunk;
    return this.run(false);
  }

  /** The rest, at the end of the input. */
  end(): Token[] {
    return this.run(true);
  }

  private run(final: boolean): Token[] {
    const out: Token[] = [];
    const buf = this.buf;
    let pos = 0; // next byte to look at
    let text = 0; // start of text not yet handed on
    const flush = (to: number) => {
      if (to > text) out.push({ type: 'text', text: buf.slice(text, to) });
      text = to;
    };
    while (pos < buf.length) {
      if (this.removing) {
        const r = this.skipRemoved(buf, pos, final, out);
        pos = text = r;
        if (this.removing) break;
        continue;
      }
      const lt = buf.indexOf('<', pos);
      const dash = this.inComment ? buf.indexOf(COMMENT_END, pos) : -1;
      if (dash >= 0 && (lt < 0 || dash < lt)) {
        flush(dash);
        out.push({ type: 'comment-close', raw: COMMENT_END });
        this.inComment = false;
        pos = text = dash + COMMENT_END.length;
        continue;
      }
      if (lt < 0) {
        // Hold back a trailing '-' or '--' that may be the start of '-->'.
        let keep = 0;
        if (this.inComment && !final) keep = buf.endsWith('--') ? 2 : buf.endsWith('-') ? 1 : 0;
        pos = buf.length - keep;
        flush(pos);
        break;
      }
      const kind = classify(buf, lt, final);
      if (kind === 'undecided') {
        flush(lt);
        pos = lt;
        break;
      }
      if (kind === 'none' || (kind === 'comment' && this.inComment)) {
        pos = lt + 1;
        continue;
      }
      flush(lt);
      if (kind === 'comment') {
        out.push({ type: 'comment-open', raw: COMMENT });
        this.inComment = true;
        pos = text = lt + COMMENT.length;
        continue;
      }
      // An ESI start or end tag: find its '>' outside quotes, resuming an earlier scan.
      let j =
        lt + (lt === 0 && this.scanned > 0 ? this.scanned : kind === 'open' ? OPEN.length : CLOSE.length);
      let q = lt === 0 ? this.quote : '';
      this.scanned = 0;
      this.quote = '';
      let stop = -1; // index of the '>' ending the tag
      let broken = -1; // index of a '<' that ends it unfinished
      for (; j < buf.length; j++) {
        const c = buf.charCodeAt(j);
        if (q !== '') {
          if (c === q.charCodeAt(0)) q = '';
        } else if (c === 0x22 || c === 0x27) q = c === 0x22 ? '"' : "'";
        else if (c === 0x3e) {
          stop = j;
          break;
        } else if (c === 0x3c) {
          broken = j;
          break;
        }
        if (j - lt >= this.maxTagBytes) break;
      }
      if (stop >= 0) {
        const tok = parseTag(buf.slice(lt, stop + 1));
        out.push(tok);
        if (tok.type === 'open' && tok.name === 'remove' && !tok.selfClosing) this.removing = true;
        pos = text = stop + 1;
        continue;
      }
      if (broken >= 0 || j - lt >= this.maxTagBytes || final) {
        const to = broken >= 0 ? broken : final ? buf.length : j;
        const reason =
          broken >= 0
            ? 'tag interrupted by "<"'
            : final
              ? 'tag unfinished at the end of the body'
              : `tag longer than ${this.maxTagBytes} bytes`;
        out.push({ type: 'malformed', raw: buf.slice(lt, to), reason });
        pos = text = to;
        continue;
      }
      // Unfinished: keep the tag, remember how far it was scanned.
      this.scanned = j - lt;
      this.quote = q;
      pos = lt;
      break;
    }
    this.buf = buf.slice(text);
    if (final) {
      this.buf = '';
      if (this.removing) {
        out.push({
          type: 'malformed',
          raw: '',
          reason: 'esi:remove not closed; its content to the end was dropped',
        });
        this.removing = false;
      }
    }
    return out;
  }

  /** Drops removed content from `pos`; returns where to go on (and clears `removing` at the end tag). */
  private skipRemoved(buf: string, pos: number, final: boolean, out: Token[]): number {
    for (;;) {
      const i = buf.indexOf(REMOVE_END, pos);
      if (i < 0) {
        // Keep only what could be the start of the end tag.
        return final ? buf.length : Math.max(pos, buf.length - (REMOVE_END.length - 1));
      }
      let k = i + REMOVE_END.length;
      while (k < buf.length && k - i < 256 && /\s/.test(buf[k])) k++;
      if (k >= buf.length && !final) return i; // not yet known whether this ends the element
      if (buf[k] === '>') {
        out.push({ type: 'close', name: 'remove', raw: buf.slice(i, k + 1) });
        this.removing = false;
        return k + 1;
      }
      pos = i + 1; // `</esi:removed…` or similar: not the end tag
    }
  }
}

type Kind = 'open' | 'close' | 'comment' | 'none' | 'undecided';

/** What the `<` at `i` starts, or 'undecided' if too few bytes have come to tell. */
function classify(buf: string, i: number, final: boolean): Kind {
  const avail = buf.length - i;
  if (buf.startsWith(OPEN, i)) return 'open';
  if (buf.startsWith(CLOSE, i)) return 'close';
  if (buf.startsWith(COMMENT, i)) return 'comment';
  if (!final && avail < COMMENT.length) {
    const rest = buf.slice(i);
    if (OPEN.startsWith(rest) || CLOSE.startsWith(rest) || COMMENT.startsWith(rest)) return 'undecided';
  }
  return 'none';
}
