/**
 * Tokens of Analytics Engine's SQL: identifiers (bare, "quoted" or `quoted`), 'strings' (with
 * '' and backslash escapes, as ClickHouse reads them), numbers, operators and punctuation.
 * Comments (-- … and /* … *\/) are skipped. Keywords are identifiers the parser recognises.
 */
import { AnalyticsSqlError } from '../limits.ts';

export type TokenKind = 'ident' | 'qident' | 'str' | 'num' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifiers as written (bare ones compare case-insensitively as keywords). */
  text: string;
  /** Offset in the SQL text (for errors). */
  at: number;
}

const OPS = [
  '<=',
  '>=',
  '<>',
  '!=',
  '==',
  '||',
  '=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '(',
  ')',
  ',',
  '.',
  ';',
];

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f' };

function quoted(sql: string, start: number, quote: string): [string, number] {
  let out = '';
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === '\\' && i + 1 < sql.length) {
      const next = sql[i + 1];
      out += ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        out += quote;
        i += 2;
        continue;
      }
      return [out, i + 1];
    }
    out += ch;
    i++;
  }
  throw new AnalyticsSqlError(
    `unterminated ${quote === "'" ? 'string' : 'quoted name'} starting at offset ${start}`,
  );
}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '-' && sql[i + 1] === '-') {
      const j = sql.indexOf('\n', i);
      i = j < 0 ? sql.length : j + 1;
      continue;
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const j = sql.indexOf('*/', i + 2);
      if (j < 0) throw new AnalyticsSqlError(`unterminated comment starting at offset ${i}`);
      i = j + 2;
      continue;
    }
    if (ch === "'") {
      const [text, end] = quoted(sql, i, "'");
      out.push({ kind: 'str', text, at: i });
      i = end;
      continue;
    }
    if (ch === '"' || ch === '`') {
      const [text, end] = quoted(sql, i, ch);
      out.push({ kind: 'qident', text, at: i });
      i = end;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i, i + 400));
    if (num) {
      out.push({ kind: 'num', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i, i + 400));
    if (word) {
      out.push({ kind: 'ident', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    const op = OPS.find((o) => sql.startsWith(o, i));
    if (op) {
      out.push({ kind: 'op', text: op, at: i });
      i += op.length;
      continue;
    }
    throw new AnalyticsSqlError(`unexpected character ${JSON.stringify(ch)} at offset ${i}`);
  }
  out.push({ kind: 'eof', text: '', at: sql.length });
  return out;
}
