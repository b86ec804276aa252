/**
 * The syntax tree of Analytics Engine's SQL dialect (a ClickHouse subset,
 * https://developers.cloudflare.com/analytics/analytics-engine/sql-reference/), as ./parser.ts
 * builds it and ./translate.ts turns it into SQLite SQL.
 */

export type IntervalUnit = 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | 'WEEK' | 'MONTH' | 'QUARTER' | 'YEAR';

export type Expr =
  | { k: 'num'; v: number; int: boolean; text: string }
  | { k: 'str'; v: string }
  | { k: 'bool'; v: boolean }
  | { k: 'null' }
  | { k: 'interval'; n: number; unit: IntervalUnit }
  | { k: 'col'; name: string }
  /** `*` as the argument of count(*). */
  | { k: 'star' }
  /**
   * A function call; `params` holds a parametric function's first list
   * (`quantileExactWeighted(0.5)(double1, _sample_interval)`), null for a plain call.
   */
  | { k: 'call'; name: string; params: Expr[] | null; args: Expr[]; distinct: boolean }
  | { k: 'neg'; e: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'bin'; op: BinOp; l: Expr; r: Expr }
  | { k: 'in'; e: Expr; list: Expr[]; not: boolean }
  | { k: 'between'; e: Expr; lo: Expr; hi: Expr; not: boolean }
  | { k: 'like'; e: Expr; pattern: Expr; not: boolean; ci: boolean }
  | { k: 'isnull'; e: Expr; not: boolean }
  | { k: 'case'; base: Expr | null; whens: [Expr, Expr][]; else: Expr | null };

export type BinOp = '+' | '-' | '*' | '/' | '%' | '=' | '!=' | '<' | '>' | '<=' | '>=' | 'AND' | 'OR' | '||';

export interface SelectItem {
  /** null: `*`. */
  e: Expr | null;
  alias: string | null;
}

/** What FROM reads, with its alias (`FROM weather AS w`), which may qualify columns. */
export type Source =
  | { k: 'dataset'; name: string; alias: string | null }
  | { k: 'sub'; select: Select; alias: string | null };

export type Format = 'JSON' | 'JSONEachRow' | 'TabSeparated';

export interface Select {
  k: 'select';
  distinct: boolean;
  items: SelectItem[];
  from: Source | null;
  where: Expr | null;
  groupBy: Expr[];
  having: Expr | null;
  orderBy: { e: Expr; desc: boolean; nullsFirst: boolean }[];
  /** null: no LIMIT (or LIMIT ALL). */
  limit: number | null;
  offset: number;
}

export type Statement =
  | { k: 'select'; select: Select; format: Format }
  | { k: 'show'; what: 'tables' | 'timezone' | 'timezones'; format: Format };
