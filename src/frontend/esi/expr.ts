// ESI expressions (ESI 1.0 §5), the `test` of esi:when: a small recursive-descent parser and
// evaluator, no eval. Operands: variables `$(…)` (vars.ts), string literals in single quotes
// (a backslash escapes the next character), numbers. Operators, loosest first:
//   |  ||     or            &  &&     and (ESI 1.0 spells them & and |; && and || are accepted)
//   == != < > <= >=        comparison (one per operand pair: `a < b < c` is an error)
//   !                      not
//   ( … )                  grouping
// Semantics (§5.1): if both operands of a comparison are numeric (a number literal, or a
// variable whose value reads as a number) they compare as numbers, otherwise as strings (by UTF-16
// code unit order). A comparison with an empty or undefined operand is false ("if an operand is
// empty or undefined, the expression will always evaluate to false"), so `!$(HTTP_COOKIE{id})`,
// not `$(HTTP_COOKIE{id}) == ''`, tests for a missing cookie. An operand on its own is true when
// it is a true boolean, a non-zero number or a non-empty string.

import { readVarRef, type Variables, type VarRef } from './vars.ts';

export class ExprError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExprError';
  }
}

export type Expr =
  | { op: 'lit'; value: string | number }
  | { op: 'var'; ref: VarRef }
  | { op: '!'; arg: Expr }
  | { op: '&' | '|'; left: Expr; right: Expr }
  | { op: Cmp; left: Expr; right: Expr };

type Cmp = '==' | '!=' | '<' | '>' | '<=' | '>=';
type Tok = { t: 'lit'; value: string | number } | { t: 'var'; ref: VarRef } | { t: 'op'; op: string };

const MAX_NESTING = 64;

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      let j = i + 1;
      for (; j < src.length && src[j] !== "'"; j++)
        s += src[j] === '\\' && j + 1 < src.length ? src[++j] : src[j];
      if (j >= src.length) throw new ExprError(`unterminated string at ${i}`);
      out.push({ t: 'lit', value: s });
      i = j + 1;
    } else if (c === '$') {
      const r = readVarRef(src, i);
      if (!r) throw new ExprError(`unreadable variable at ${i}`);
      out.push({ t: 'var', ref: r.ref });
      i += r.length;
    } else if (/[0-9.]/.test(c) || (c === '-' && /[0-9.]/.test(src[i + 1] ?? ''))) {
      const m = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)/.exec(src.slice(i));
      if (!m) throw new ExprError(`unreadable number at ${i}`);
      out.push({ t: 'lit', value: Number(m[0]) });
      i += m[0].length;
    } else {
      const op = /^(?:==|!=|<=|>=|&&|\|\||[<>!&|()])/.exec(src.slice(i));
      if (!op) throw new ExprError(`unexpected "${c}" at ${i}`);
      out.push({ t: 'op', op: op[0] === '&&' ? '&' : op[0] === '||' ? '|' : op[0] });
      i += op[0].length;
    }
  }
  return out;
}

/** Parses a test expression; throws ExprError when it is not one. */
export function parseExpr(src: string): Expr {
  const toks = lex(src);
  let p = 0;
  let depth = 0;
  const peek = (): string | undefined => {
    const t = toks[p];
    return t?.t === 'op' ? t.op : undefined;
  };
  const nest = () => {
    if (++depth > MAX_NESTING) throw new ExprError('expression nested too deeply');
  };
  const or = (): Expr => {
    let left = and();
    while (peek() === '|') {
      p++;
      left = { op: '|', left, right: and() };
    }
    return left;
  };
  const and = (): Expr => {
    let left = not();
    while (peek() === '&') {
      p++;
      left = { op: '&', left, right: not() };
    }
    return left;
  };
  const not = (): Expr => {
    if (peek() === '!') {
      p++;
      nest();
      const arg = not();
      depth--;
      return { op: '!', arg };
    }
    return cmp();
  };
  const cmp = (): Expr => {
    const left = primary();
    const op = peek();
    if (op === '==' || op === '!=' || op === '<' || op === '>' || op === '<=' || op === '>=') {
      p++;
      const right = primary();
      const next = peek();
      if (next === '==' || next === '!=' || next === '<' || next === '>' || next === '<=' || next === '>=') {
        throw new ExprError('comparisons do not chain; use parentheses and & or |');
      }
      return { op, left, right };
    }
    return left;
  };
  const primary = (): Expr => {
    const t = toks[p];
    if (!t) throw new ExprError('expression ends early');
    if (t.t === 'op') {
      if (t.op !== '(') throw new ExprError(`unexpected "${t.op}"`);
      p++;
      nest();
      const e = or();
      depth--;
      if (peek() !== ')') throw new ExprError('missing ")"');
      p++;
      return e;
    }
    p++;
    return t.t === 'var' ? { op: 'var', ref: t.ref } : { op: 'lit', value: t.value };
  };
  if (toks.length === 0) throw new ExprError('empty expression');
  const e = or();
  if (p < toks.length) throw new ExprError('unexpected text after the expression');
  return e;
}

type Val = string | number | boolean;

function operand(e: Expr, vars: Variables): Val {
  if (e.op === 'lit') return e.value;
  if (e.op === 'var') return vars.value(e.ref);
  return evaluate(e, vars);
}

function truthy(v: Val): boolean {
  return typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 && !Number.isNaN(v) : v !== '';
}

/** Reads as a number: a number literal, or a variable's text that is one. */
function numeric(v: Val, e: Expr): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && e.op === 'var' && /^\s*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*$/.test(v))
    return Number(v);
  return null;
}

export function evaluate(e: Expr, vars: Variables): boolean {
  switch (e.op) {
    case 'lit':
    case 'var':
      return truthy(operand(e, vars));
    case '!':
      return !truthy(operand(e.arg, vars));
    case '&':
      return truthy(operand(e.left, vars)) && truthy(operand(e.right, vars));
    case '|':
      return truthy(operand(e.left, vars)) || truthy(operand(e.right, vars));
    default: {
      const a = operand(e.left, vars);
      const b = operand(e.right, vars);
      if (a === '' || b === '') return false;
      const na = numeric(a, e.left);
      const nb = numeric(b, e.right);
      const [x, y]: [Val, Val] = na !== null && nb !== null ? [na, nb] : [String(a), String(b)];
      switch (e.op) {
        case '==':
          return x === y;
        case '!=':
          return x !== y;
        case '<':
          return x < y;
        case '>':
          return x > y;
        case '<=':
          return x <= y;
        case '>=':
          return x >= y;
      }
    }
  }
}

/** Parses and evaluates `src` against the request's variables; throws ExprError if malformed. */
export function evaluateTest(src: string, vars: Variables): boolean {
  return evaluate(parseExpr(src), vars);
}
