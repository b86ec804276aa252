/**
 * SQL injection (942xxx). Matched on the `sql` view (comments out of the way) and, where plain
 * comments split words (`un/**\/ion`), on the joined view too.
 *
 * The critical rules describe the *shape* of an injection rather than its words: a string
 * closed and followed by a boolean test (`' or '1'='1`), `union [all] select` followed by a
 * column list, a statement stacked after `;`, a timing function in a boolean, a string closed
 * and the rest commented out at the start of a value (`admin'--`). Words that prose uses
 * ("select", "union", "order by", `--`, an apostrophe) are at most warnings, and only count
 * when something else matched too.
 */
import { CHAR, PARAM_PARTS, rule } from './types.ts';

const Q = `['"]`;
/** A boolean operator after a closed string or number. */
const BOOL = String.raw`(?:or|and|xor|\|\||&&)`;
const TRAILING_COMMENT = /(?:--[\s+-]*|#|\/\*[^\n]{0,100})$/;
const CMP = String.raw`(?:=|<>|!=|<=>|>=?|<=?|\blike\b|\brlike\b|\bregexp\b)`;

export const SQLI_RULES = [
  rule({
    id: '942100',
    needs: CHAR.quote,
    category: 'sqli',
    description: 'SQL tautology or boolean test after a closed string',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern: new RegExp(
      String.raw`${Q}\s*\)*\s*${BOOL}\s*(?:not\s+)?\(*\s*(?:(?:(['"\`])[^'"\`]{0,40}\1|-?\d+(?:\.\d+)?|true|false|null)\s*\)*\s*${CMP}|(?:-?\d+|true|false|null)\s*\)*\s*(?:--|#|\/\*|;|$))`,
    ),
  }),
  rule({
    id: '942101',
    needs: CHAR.quote,
    category: 'sqli',
    description: 'Boolean comparison of a column after a closed string',
    paranoia: 1,
    severity: 'error',
    view: 'sql',
    pattern: new RegExp(
      String.raw`${Q}\s*\)*\s*(?:or|and|xor)\s+\(*\s*(?:not\s+)?[a-z_][\w.$]{0,40}\s*\)*\s*(?:=(?!=)|<>|<=>|>=?|<=?|\blike\b|\bregexp\b|\bis\s+(?:not\s+)?null\b|\bin\s*\(|\bbetween\b)`,
    ),
  }),
  rule({
    id: '942102',
    needs: CHAR.quote,
    category: 'sqli',
    description: "LIKE with a wildcard string after a closed string (' or name like '%)",
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern: /['"]\s*\)*\s*(?:or|and|xor)\s+\(*\s*[a-z_][\w.$]{0,40}\s+(?:not\s+)?like\s+['"]/,
  }),
  rule({
    id: '942110',
    plain: true,
    category: 'sqli',
    description: 'Tautology comparing a literal with itself (or 1=1, and 2>1)',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /(?:^|[\s()'"`])(?:or|and|xor|\|\||&&)\s*\(*\s*(?:(\d+)\s*\)*\s*(?:=|<=>|\blike\b)\s*\(*\s*\1\b(?!\s*[+*/]|\s*-(?!-))|(['"`])(\w{0,20})\2\s*=\s*\2\3(?:\2|$)|\d+\s*>\s*0\b|(?:not\s+)?(?:true|false)\s*(?:--|#|\/\*))/,
  }),
  rule({
    id: '942111',
    plain: true,
    category: 'sqli',
    description: 'Numeric value followed by a boolean or clause (1 and 1=2, 1 order by 3)',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /^\s*(?:\(*-?\d+\s*\)*\s*)?(?:(?:and|or|xor|&&|\|\|)\s+\(*\s*\d+\s*\)*\s*(?:=|<>|!=|<=?|>=?)\s*\(*\s*\d+|order\s+by\s+\d+\s*(?:--|#|\/\*|;|,|$)|group\s+by\s+\d|having\s+\d|procedure\s+analyse)|^\s*(?:(?:as\s+\w+\s+)?where|having|or|and|xor)\s+\(*\s*(?:\d+|[a-z_]\w{0,30}|'[^']{0,20}')\s*(?:=|<>|!=|<|>)\s*\(*\s*(?:\d+|[a-z_]\w{0,30}|'[^']{0,20}')\s*(?:\)|--|#|\/\*|;|$|\s(?:and|or)\b)/,
  }),
  rule({
    id: '942103',
    needs: CHAR.quote,
    category: 'sqli',
    description: "Boolean on an empty string after a closed string (' or ''-')",
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern: /['"]\s*(?:or|and|xor|\|\||&&)\s*(['"])\1(?:\s*[-+*/%^&|=<>\s]|$)/,
  }),
  rule({
    id: '942112',
    needs: CHAR.eq | CHAR.lt | CHAR.gt | CHAR.paren,
    category: 'sqli',
    description: 'Boolean comparing a number with a SQL function or condition (and 1=convert(…), if(1=1))',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /\b(?:and|or|xor)\s+\(*\s*\d+\s*(?:=|<>|!=|<|>)\s*\(*\s*(?:convert|cast|char|ascii|substring|substr|select|sleep|if|case|count|length|db_name|user_name|@@\w+)\b|\bif\s*\(\s*\d+\s*(?:=|<>|!=|<|>)\s*\d+\s*[),]/,
  }),
  rule({
    id: '942120',
    plain: true,
    category: 'sqli',
    description: 'UNION [ALL] SELECT with a column list',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /\bunion\b[\s(]*(?:(?:all|distinct)\b[\s(]*)?select\b\s*(?:\(|null\b|-?\d|@|['"`]|\*|0x|[a-z_][\w.$]{0,60}\s*(?:,|\(|\bfrom\b))/,
  }),
  rule({
    id: '942130',
    needs: CHAR.shell,
    category: 'sqli',
    description: 'Stacked query after a closed string or number',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /(?:^|['"`)\d])\s*;\s*(?:drop\s+(?:table|database|schema|user|view)\b|delete\s+from\b|insert\s+into\b|update\s+[\w.`"[\]]{1,64}\s+set\b|truncate\s+(?:table\s+)?[\w`"]|alter\s+(?:table|user|database|login)\b|create\s+(?:table|user|database|procedure|function|trigger|login)\b|exec(?:ute)?\b|declare\s+@|shutdown\b|grant\s|revoke\s|waitfor\b|set\s+@|rename\s+table\b|load\s+data\b|select\b[^;]{0,80}?(?:\bfrom\b|@@|\bsleep\s*\(|\bversion\s*\(|\buser\s*\(|\bdatabase\s*\(|\bload_file\s*\())/,
  }),
  rule({
    id: '942140',
    plain: true,
    category: 'sqli',
    description: 'Time-based blind injection (sleep, benchmark, pg_sleep, waitfor delay)',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /(?:^|\b(?:and|or|xor|select|if|then|else|when|not|union|where|having)\b|[(,'"`|&=+*/-])\s*sleep\s*\(\s*(?:\d+(?:\.\d+)?\s*\)|['"@(])|\bbenchmark\s*\(\s*\d{3,}\s*,|\bpg_sleep\s*\(|\bwaitfor\s+(?:delay|time)\s*['"\d]|\bdbms_lock\.sleep\b|\bdbms_pipe\.receive_message\b|\brandomblob\s*\(\s*\d{6,}|\bsleep\s*\(\s*\d+\s*\)\s*(?:--|#|\/\*|$)/,
  }),
  rule({
    id: '942150',
    plain: true,
    category: 'sqli',
    description: 'Database catalog or system table (information_schema, sysobjects, sqlite_master)',
    paranoia: 1,
    severity: 'error',
    view: 'sql',
    pattern:
      /\binformation_schema\b|\bmysql\.(?:user|db|tables_priv)\b|\bpg_(?:catalog|shadow|user|database|tables|namespace|stat_activity)\b|\bsys(?:objects|columns|databases|logins|users)\b|\bsys\.(?:tables|columns|objects|databases|schemas|sql_logins|all_objects)\b|\bsqlite_(?:master|schema|temp_master)\b|\b(?:all|user|dba)_(?:tables|tab_columns|users)\b|\bmsysobjects\b|\bmaster\.\.sys|\bv\$(?:version|instance|database)\b/,
  }),
  rule({
    id: '942160',
    needs: CHAR.at | CHAR.paren,
    category: 'sqli',
    description: 'Database metadata function or variable (@@version, user(), database())',
    paranoia: 1,
    severity: 'error',
    view: 'sql',
    pattern:
      /@@(?:version|datadir|hostname|basedir|servername|tmpdir|secure_file_priv|global)|(?<![\w.$])(?:version|database|schema|current_user|system_user|session_user|user|current_database|connection_id|last_insert_id|current_schema)\s*\(\s*\)/,
  }),
  rule({
    id: '942170',
    needs: CHAR.paren,
    category: 'sqli',
    description: 'Function typical of injected SQL (concat, group_concat, substring, char, updatexml)',
    paranoia: 1,
    severity: 'warning',
    view: 'sql',
    pattern:
      /(?<![\w.$])(?:concat(?:_ws)?|group_concat|char|chr|nchar|ascii|unhex|substr(?:ing)?|mid|make_set|elt|extractvalue|updatexml|name_const|json_keys|xmltype|utl_inaddr\.get_host_address|ctxsys\.drithsx\.sn)\s*\(/,
  }),
  rule({
    id: '942180',
    needs: CHAR.paren,
    category: 'sqli',
    description: 'Sub-select inside a boolean or comparison',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /(?:\b(?:and|or|xor|having|where|when|then|else|not|union|by|exists|in|like|rlike|regexp)\b|[=(,<>+*/|&-])\s*\(\s*select\b\s*(?:\(|\d|@|\*|['"`]|null\b|count\b|concat|char|substr|ascii|if\b|case\b|sleep|top\b|[\w.$]{1,64}\s*(?:,|\bfrom\b|\())/,
  }),
  rule({
    id: '942190',
    needs: CHAR.quote,
    category: 'sqli',
    description: "Value closes a string and comments out the rest (admin'--)",
    paranoia: 1,
    severity: 'critical',
    view: 'text',
    pattern: /^[^\s'"`(]{0,64}['"]\s*\)*\s*(?:--|#(?:\s|$)|\/\*)/,
  }),
  rule({
    id: '942200',
    needs: CHAR.star,
    category: 'sqli',
    description: 'SQL keywords joined by inline comments (union/**/select)',
    paranoia: 1,
    severity: 'critical',
    view: 'text',
    pattern:
      /(?:\b(?:select|union|from|where|and|or|xor|order|group|having|limit|into|values|exec|null|all|distinct)|['"`]|\d)\s*\/\*.{0,100}?\*\/\s*(?:select|union|from|where|and|or|xor|order|by|group|having|limit|null|concat|sleep|benchmark|information_schema|all|distinct)\b/,
  }),
  rule({
    id: '942201',
    needs: CHAR.star,
    category: 'sqli',
    description: 'MySQL executable comment around a keyword (/*!50000union*/)',
    paranoia: 1,
    severity: 'critical',
    view: 'text',
    pattern:
      /\/\*!\d{0,6}\s*(?:union|select|and|or|from|where|if|sleep|benchmark|concat|insert|update|delete|drop|having|order|\d)/,
  }),
  rule({
    id: '942202',
    needs: CHAR.star,
    category: 'sqli',
    description: 'Empty comment inside a word (un/**/ion)',
    paranoia: 1,
    severity: 'warning',
    view: 'text',
    pattern: /[a-z]\/\*\*\/[a-z]/,
  }),
  rule({
    id: '942210',
    needs: CHAR.quote,
    category: 'sqli',
    description: 'Closed string followed by a SQL clause',
    paranoia: 1,
    severity: 'error',
    view: 'sql',
    pattern:
      /['"]\s*\)*\s*(?:union\b|select\b|group\s+by\b|having\b|procedure\s+analyse|limit\s+\d|into\s+(?:out|dump)file)/,
  }),
  rule({
    id: '942211',
    needs: CHAR.quote,
    category: 'sqli',
    description: 'Closed string followed by ORDER BY <n> (column counting)',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern: /['"]\s*\)*\s*order\s+by\s+\d+/,
  }),
  rule({
    id: '942220',
    needs: CHAR.quote,
    category: 'sqli',
    description: 'Value with a quote ends in a SQL comment',
    paranoia: 1,
    severity: 'warning',
    view: 'text',
    // A quote at most 400 characters before a trailing comment, on the same line: found from
    // the end, as a pattern scanning forward from every quote would be quadratic.
    match: (v) => {
      const t = v.text;
      const m = TRAILING_COMMENT.exec(t);
      if (!m) return -1;
      const q = Math.max(t.lastIndexOf("'", m.index), t.lastIndexOf('"', m.index));
      return q >= 0 && q >= m.index - 400 && q > t.lastIndexOf('\n', m.index) ? q : -1;
    },
  }),
  rule({
    id: '942230',
    plain: true,
    category: 'sqli',
    description: 'Destructive statement (drop table, delete from, insert into)',
    paranoia: 1,
    severity: 'error',
    view: 'sql',
    pattern:
      /\b(?:drop\s+(?:table|database)|truncate\s+table|delete\s+from|insert\s+into|alter\s+table)\s+[\w`"[.]/,
  }),
  rule({
    id: '942240',
    plain: true,
    category: 'sqli',
    description: 'Stored procedure or feature used to reach the system (xp_cmdshell, openrowset)',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /\bxp_(?:cmdshell|regread|regwrite|dirtree|fileexist|servicecontrol|availablemedia|loginconfig|execresultset)\b|\bsp_(?:oacreate|oamethod|executesql|addlogin|addsrvrolemember|password|makewebtask|configure)\b|\bexec(?:ute)?\s+(?:master\.|xp_|sp_)|(?<![.\w$])exec\s*\(\s*['"@]|\bopenrowset\s*\(|\bopendatasource\s*\(|\bbulk\s+insert\b|\butl_http\.request\b|\bdbms_java\.|\bsys_(?:exec|eval)\s*\(|\bcopy\s+[\w.()]+\s+(?:from|to)\s+program\b|\blo_(?:import|export)\s*\(/,
  }),
  rule({
    id: '942250',
    plain: true,
    category: 'sqli',
    description: 'Reading or writing files from SQL (load_file, into outfile)',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /\binto\s+(?:out|dump)file\b|\bload_file\s*\(|\bload\s+data\s+(?:local\s+)?infile\b|\bpg_read_file\s*\(/,
  }),
  rule({
    id: '942260',
    plain: true,
    category: 'sqli',
    description: 'Hex-encoded string in a comparison or list (= 0x61646d696e)',
    paranoia: 1,
    severity: 'warning',
    view: 'sql',
    pattern: /(?:=|\bselect\b|,|\(|\blike\b|\bwhere\b|\band\b|\bor\b)\s*0x[0-9a-f]{6,}\b/,
  }),
  rule({
    id: '942261',
    needs: CHAR.paren,
    category: 'sqli',
    description: 'String built from character codes (char(97,100,109))',
    paranoia: 1,
    severity: 'error',
    view: 'sql',
    pattern:
      /(?<![\w.$])n?cha?r\s*\(\s*(?:\d{2,3}|0x[0-9a-f]{2})\s*(?:[,)+|]\s*(?:n?cha?r\s*\(\s*)?(?:\d{2,3}|0x[0-9a-f]{2})\s*){2,}/,
  }),
  rule({
    id: '942270',
    needs: CHAR.quote,
    category: 'sqli',
    description: 'Closed string followed by a boolean on a SQL function (blind extraction)',
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern:
      /['"]\s*\)*\s*(?:or|and|xor|\|\||&&)\s*\(*\s*(?:not\s+)?(?:ascii|substr(?:ing)?|mid|if|exists|select|sleep|benchmark|updatexml|extractvalue|elt|instr|unicode|char|hex|length|count|rlike)\s*\(/,
  }),
  rule({
    id: '942280',
    needs: CHAR.quote,
    category: 'sqli',
    description: "Function call concatenated into a string (' || pkg.fn('a') || ')",
    paranoia: 1,
    severity: 'critical',
    view: 'sql',
    pattern: /['"]\s*(?:\|\||\+)\s*[a-z_][\w.$]{0,60}\s*\([^)]{0,200}\)\s*(?:\|\||\+)\s*['"`]/,
  }),
  rule({
    id: '942290',
    needs: CHAR.shell,
    category: 'sqli',
    description: 'MongoDB query operator in a parameter (user[$ne]=, {"$gt": ""})',
    paranoia: 1,
    severity: 'critical',
    parts: PARAM_PARTS,
    view: 'text',
    pattern:
      /(?:^|\[)\$(?:ne|eq|gt|gte|lt|lte|nin|regex|where|exists|expr|function|accumulator|elemmatch)\]?$|[{,]\s*["']?\$(?:ne|gt|gte|lt|lte|nin|regex|where|exists|expr)["']?\s*:/,
  }),
  // Paranoia 2 and up: words and characters benign text also has.
  rule({
    id: '942300',
    plain: true,
    category: 'sqli',
    description: 'SELECT … FROM in a value',
    paranoia: 2,
    severity: 'error',
    view: 'sql',
    pattern: /\bselect\b.{1,100}?\bfrom\b/,
  }),
  rule({
    id: '942310',
    needs: CHAR.quote,
    category: 'sqli',
    description: 'Closed string followed by a boolean operator',
    paranoia: 2,
    severity: 'warning',
    view: 'sql',
    pattern: /['"]\s*\)*\s*(?:or|and|xor|\|\||&&)\b/,
  }),
  rule({
    id: '942320',
    plain: true,
    category: 'sqli',
    description: 'SQL comment sequence at the end of a value',
    paranoia: 2,
    severity: 'warning',
    view: 'text',
    pattern: /(?:--[\s+-]*|#|\/\*.{0,100})$/,
  }),
  rule({
    id: '942330',
    plain: true,
    category: 'sqli',
    description: 'SQL statement keyword',
    paranoia: 3,
    severity: 'notice',
    view: 'sql',
    pattern: /\b(?:union|select|insert|update|delete|drop|exec|declare|truncate|having)\b/,
  }),
  rule({
    id: '942340',
    category: 'sqli',
    description: 'Many SQL metacharacters in one value',
    paranoia: 3,
    severity: 'warning',
    view: 'text',
    match: (v) => {
      const m = v.text.match(/['";()=#*]|--/g);
      return m && m.length >= 6 ? 0 : -1;
    },
  }),
  rule({
    id: '942350',
    category: 'sqli',
    description: 'Quote, backtick or semicolon',
    paranoia: 4,
    severity: 'notice',
    view: 'text',
    pattern: /['"`;]/,
  }),
];
