/**
 * Parses a Cloudflare cron expression into the sets and day rules a schedule runs on, accepting
 * exactly what Cloudflare's parser accepts (saffron, github.com/cloudflare/saffron
 * saffron/src/parse.rs; the syntax facts and sources are in syntax.ts, the day semantics in
 * days.ts; docs: https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions).
 *
 * Grammar, per field (a list is items joined by `,`, no spaces):
 *   field := `*` | `*\/s` [`,` item]… | special | item [`,` item]…
 *   item  := v | v`/`s (v to the field's max) | v`-`v | v`-`v`/`s
 * where v is a number or (months, weekdays) a three-letter name, and s a step 1..max-min. In
 * items after the first, a lone `*` stands for the field's minimum (so `5,*` is {0, 5}: saffron
 * reads it so, and Cloudflare runs it so), and `*` alone cannot start a list (`*,5` fails).
 * A range whose start is past its end wraps (`22-2` = 22,23,0,1,2; `FRI-MON`; `NOV-FEB/2` =
 * NOV,JAN), counting steps through the wrap as Quartz does.
 * Specials stand alone (never in a list): day-of-month `L`, `LW`, `L-n`, `L-nW`, `nW`;
 * day-of-week `L` (= Saturday, Quartz), `xL`, `x#k`.
 *
 * Deliberate difference: saffron's bit masks put one extra value before a wrapped range's start
 * (`59-0` also matches minute 58; `FRI-SUN` also Thursday), and a wrapped step in months, days
 * or weekdays never selects the field's first value (`NOV-FEB/2` is November only: its 0-based
 * values meet 1-based bounds). Wrapped ranges here are what saffron's comments and Quartz intend.
 */
import type { DomRule, DowRule } from './days.ts';
import {
  CRON_FIELD_COUNT,
  CronError,
  DAY_OF_MONTH,
  DAY_OF_WEEK,
  type Field,
  HOUR,
  MAX_LAST_OFFSET,
  MAX_NTH,
  MINUTE,
  MONTH,
  maxStep,
} from './syntax.ts';

/** A parsed expression: each set indexed by the UTC value (`months` 0 = January). */
export interface CronSpec {
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  readonly months: readonly boolean[];
  readonly dom: DomRule;
  readonly dow: DowRule;
}

type Fail = (message: string) => CronError;

const ANY = { kind: 'any' } as const;
/** One item: start, optional `-end`, optional `/step`; anything else is malformed. */
const ITEM = /^([^-/]*)(?:-([^-/]*))?(?:\/([^-/]*))?$/;
const VALUE = '(\\d+|[A-Za-z]{3})';

export function parseSpec(expression: string): CronSpec {
  if (typeof expression !== 'string') {
    throw new CronError(`cron expression must be a string, received ${typeof expression}`);
  }
  const fail: Fail = (message) => new CronError(`cron ${JSON.stringify(expression)}: ${message}`);
  if (expression.startsWith('@')) {
    throw fail(
      'macros such as "@daily" are not supported by Cloudflare Cron Triggers; write the five fields',
    );
  }
  if (/^\s|\s$/.test(expression)) throw fail('leading or trailing whitespace is not allowed');
  const fields = expression === '' ? [] : expression.split(/[ \t]+/);
  if (fields.length !== CRON_FIELD_COUNT) {
    throw fail(
      `expected ${CRON_FIELD_COUNT} fields (minute hour day-of-month month day-of-week), received ${fields.length}`,
    );
  }
  const question = fields.findIndex((f) => f.includes('?'));
  if (question >= 0) {
    const name = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK][question].name;
    throw fail(
      `${name} "?" is not supported by Cloudflare Cron Triggers (use "*"), received "${fields[question]}"`,
    );
  }
  const [minute, hour, dom, month, dow] = fields;
  return {
    minutes: parseSet(MINUTE, minute, fail),
    hours: parseSet(HOUR, hour, fail),
    dom: parseDom(dom, fail),
    months: parseSet(MONTH, month, fail).slice(1),
    dow: parseDow(dow, fail),
  };
}

/** A plain field (`*` or a list) as a set indexed by value. */
function parseSet(field: Field, text: string, fail: Fail): boolean[] {
  const set: boolean[] = new Array(field.max + 1).fill(false);
  if (text === '*') {
    set.fill(true, field.min);
    return set;
  }
  const items = text.split(',');
  if (items.includes('')) throw fail(`${field.name} list has an empty item, received "${text}"`);
  items.forEach((item, i) => {
    addItem(field, item, i === 0, set, fail, text);
  });
  return set;
}

function addItem(field: Field, item: string, first: boolean, set: boolean[], fail: Fail, text: string): void {
  const m = ITEM.exec(item);
  if (!m) throw fail(`${field.name} item is not a value, range or step, received "${item}"`);
  const [, startText, endText, stepText] = m;
  let start: number;
  if (startText === '*') {
    if (first && endText !== undefined)
      throw fail(`${field.name} "*" takes only a step ("*/2"), received "${item}"`);
    if (first && stepText === undefined) {
      throw fail(`${field.name} "*" cannot be combined with other values in a list, received "${text}"`);
    }
    start = field.min;
  } else {
    start = value(field, startText, fail);
  }
  const end =
    endText === undefined ? (stepText === undefined ? start : field.max) : value(field, endText, fail);
  const step = stepText === undefined ? 1 : stepOf(field, stepText, fail);
  // Cyclic over min..max: a start past the end wraps through max back to min.
  const size = field.max - field.min + 1;
  const span = (end - start + size) % size;
  for (let k = 0; k <= span; k += step) set[field.min + ((start - field.min + k) % size)] = true;
}

function value(field: Field, token: string, fail: Fail): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n >= field.min && n <= field.max) return n;
  } else if (field.names) {
    const i = field.names.indexOf(token.toUpperCase());
    if (i >= 0) return field.min + i;
    if (/^[A-Za-z]+$/.test(token)) {
      const names = `${field.names[0]}-${field.names[field.names.length - 1]}`;
      throw fail(`${field.name} name must be a three-letter abbreviation ${names}, received "${token}"`);
    }
  }
  throw fail(`${field.name} value must be ${field.expected}, received "${token}"`);
}

function stepOf(field: Field, token: string, fail: Fail): number {
  const n = /^\d+$/.test(token) ? Number(token) : Number.NaN;
  if (n >= 1 && n <= maxStep(field)) return n;
  throw fail(`${field.name} step must be 1-${maxStep(field)}, received "${token}"`);
}

/** Day-of-month specials (`L`, `LW`, `L-n`, `L-nW`, `nW`) must stand alone and be upper case. */
const DOM_SPECIAL = /^(?:L(?:-(\d+))?(W?)|(\d+)W)$/;

function parseDom(text: string, fail: Fail): DomRule {
  if (text === '*') return ANY;
  const special = DOM_SPECIAL.exec(text);
  if (special) {
    const [, offsetText, lastW, dayText] = special;
    if (dayText !== undefined) {
      const day = Number(dayText);
      if (day < DAY_OF_MONTH.min || day > DAY_OF_MONTH.max) {
        throw fail(`day-of-month value before "W" must be 1-31, received "${dayText}"`);
      }
      return { kind: 'nearestWeekday', day };
    }
    const offset = offsetText === undefined ? 0 : Number(offsetText);
    if (offsetText !== undefined && (offset < 1 || offset > MAX_LAST_OFFSET)) {
      throw fail(`day-of-month offset after "L-" must be 1-${MAX_LAST_OFFSET}, received "${offsetText}"`);
    }
    return { kind: lastW ? 'lastWeekday' : 'last', offset };
  }
  rejectMisplacedSpecial(DAY_OF_MONTH, text, (item) => DOM_SPECIAL.test(item), fail);
  return { kind: 'days', days: parseSet(DAY_OF_MONTH, text, fail) };
}

/** Day-of-week specials (`L`, `xL`, `x#k`). */
const DOW_LAST = new RegExp(`^${VALUE}L$`);
const DOW_NTH = new RegExp(`^${VALUE}#([^,]*)$`);

function parseDow(text: string, fail: Fail): DowRule {
  if (text === '*') return ANY;
  if (text === 'L') return { kind: 'days', days: [false, false, false, false, false, false, true] };
  const last = DOW_LAST.exec(text);
  if (last) return { kind: 'last', weekday: value(DAY_OF_WEEK, last[1], fail) - 1 };
  const nth = DOW_NTH.exec(text);
  if (nth) {
    const weekday = value(DAY_OF_WEEK, nth[1], fail) - 1;
    const n = /^\d+$/.test(nth[2]) ? Number(nth[2]) : Number.NaN;
    if (!(n >= 1 && n <= MAX_NTH)) {
      throw fail(`day-of-week occurrence after "#" must be 1-${MAX_NTH}, received "${nth[2]}"`);
    }
    return { kind: 'nth', weekday, nth: n };
  }
  rejectMisplacedSpecial(
    DAY_OF_WEEK,
    text,
    (item) => item === 'L' || DOW_LAST.test(item) || DOW_NTH.test(item),
    fail,
  );
  return { kind: 'days', days: parseSet(DAY_OF_WEEK, text, fail).slice(1) };
}

/** A special inside a list, or one written in lower case: name it rather than fail on a value. */
function rejectMisplacedSpecial(
  field: Field,
  text: string,
  isSpecial: (item: string) => boolean,
  fail: Fail,
): void {
  const items = text.split(',');
  const inList = items.length > 1 ? items.find((item) => isSpecial(item.toUpperCase())) : undefined;
  if (inList !== undefined) {
    throw fail(
      `${field.name} "${inList}" cannot be combined with other values in a list, received "${text}"`,
    );
  }
  if (items.length === 1 && isSpecial(text.toUpperCase())) {
    throw fail(`${field.name} "L" and "W" must be upper case, received "${text}"`);
  }
}
