/**
 * Local file inclusion (930200–930211) and remote file inclusion (931xxx).
 *
 * LFI: PHP stream wrappers (`php://filter`, `expect://`, `phar://`, `data://`), `file://` URLs
 * to system locations and PHP code in a value (what log poisoning and `php://input` carry).
 * Traversal to a file (`../../etc/passwd`) is in traversal.ts.
 *
 * RFI: a remote URL in a parameter whose *name* says it is included (`page`, `file`,
 * `include`, `template`, …). A URL alone is ordinary (`?next=https://…`); in an include-like
 * parameter it scores an error, and critical with the tricks RFI uses: a trailing `?` that
 * turns the appended `.php` into a query string, or a script-looking file (`shell.txt`).
 */
import { CHAR, PARAM_PARTS, rule } from './types.ts';

/** Parameter names applications pass to include/require or a template loader. */
export const INCLUDE_NAMES =
  /^(?:file|filename|page|pg|p|include|inc|incl|require|template|tpl|path|doc|document|module|mod|view|layout|conf|config|lang|language|dir|folder|load|read|show|style|theme|skin|content|cat|main|body|pdf|nav|open|plugin|controller|action|abspath|basepath|base_path|root|rootdir|root_path|mosconfig_absolute_path|phpbb_root_path|include_path|includedir|inc_dir|lib|libdir|script|dir_path|pagina|seite|menu)$/;

const REMOTE = String.raw`(?:https?|ftps?|smb|dav|webdav|gopher|ldap|dict):\/\/`;

/**
 * The include-like names that only ever name code or files to load (no site passes a web page's
 * URL in `template` or `include_path`): a remote URL in one is critical. The other include-like
 * names (`page`, `file`, `url`-ish `p`, …) also carry URLs legitimately (PDF viewers take
 * `?file=https://…`, trackers `?page=https://…`), and score an error there.
 */
export const LOADER_NAMES =
  /^(?:include|inc|incl|require|template|tpl|module|mod|layout|conf|config|lang|language|theme|skin|dir|folder|path|doc|document|plugin|controller|abspath|basepath|base_path|root|rootdir|root_path|mosconfig_absolute_path|phpbb_root_path|include_path|includedir|inc_dir|lib|libdir|script|dir_path)$/;

export const LFI_RULES = [
  rule({
    id: '930200',
    needs: CHAR.colon,
    category: 'lfi',
    description: 'PHP or archive stream wrapper (php://filter, expect://, phar://, zip://)',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /\b(?:php|phar|zip|compress\.zlib|compress\.bzip2|glob|expect|ogg|rar|ssh2\.(?:shell|exec|tunnel|sftp|scp)|zlib|jar|netdoc):\/\/|\bjar:(?:https?|file|ftp):/,
  }),
  rule({
    id: '930201',
    needs: CHAR.colon,
    category: 'lfi',
    description: 'data:// wrapper or base64 data: URI holding PHP',
    paranoia: 1,
    severity: 'critical',
    pattern: /\bdata:\/\/|\bdata:[\w/+.-]{0,40};base64,\s*pd9w/,
  }),
  rule({
    id: '930202',
    needs: CHAR.colon,
    category: 'lfi',
    description: 'file:// URL to a system location',
    paranoia: 1,
    severity: 'critical',
    view: 'slash',
    pattern:
      /\bfile:\/\/(?:localhost)?\/*(?:etc|proc|root|windows|winnt|boot|var|dev|sys|usr|tmp|home|[a-z]:\/+(?:windows|winnt|boot|inetpub|users))\b/,
  }),
  rule({
    id: '930203',
    needs: CHAR.colon,
    category: 'lfi',
    description: 'file:// URL',
    paranoia: 1,
    severity: 'error',
    pattern: /\bfile:\/\//,
  }),
  rule({
    id: '930210',
    needs: CHAR.lt,
    category: 'lfi',
    description: 'PHP open tag (<?php, <?=)',
    paranoia: 1,
    severity: 'critical',
    pattern: /<\?(?:php\b|=)/,
  }),
  rule({
    id: '930211',
    needs: CHAR.shell,
    category: 'lfi',
    description: 'PHP superglobal ($_GET[…], $_SERVER[…])',
    paranoia: 1,
    severity: 'error',
    pattern: /\$_(?:get|post|request|cookie|server|files|env|session)\s*\[/,
  }),
  rule({
    id: '931100',
    needs: CHAR.colon,
    category: 'rfi',
    description: 'Remote URL ending in "?" in an include-like parameter (page=http://x/shell.txt?)',
    paranoia: 1,
    severity: 'critical',
    parts: PARAM_PARTS,
    keys: false,
    names: INCLUDE_NAMES,
    pattern: new RegExp(String.raw`^\s*${REMOTE}[^\s?]{1,300}\?+\s*$`),
  }),
  rule({
    id: '931101',
    needs: CHAR.colon,
    category: 'rfi',
    description: 'Remote URL ending in "?"',
    paranoia: 1,
    severity: 'warning',
    parts: PARAM_PARTS,
    keys: false,
    pattern: new RegExp(String.raw`^\s*${REMOTE}[^\s?]{1,300}\?+\s*$`),
  }),
  rule({
    id: '931110',
    needs: CHAR.colon | CHAR.slash,
    category: 'rfi',
    description: 'Remote script-like file in an include-like parameter (file=http://x/shell.php)',
    paranoia: 1,
    severity: 'critical',
    parts: PARAM_PARTS,
    keys: false,
    names: INCLUDE_NAMES,
    pattern: new RegExp(
      String.raw`^\s*(?:${REMOTE}|\/\/[\w.-]+\/|\\\\[\w.-]+\\)[^?#\s]{0,300}?\.(?:txt|php\d?|phtml|inc|sh|pl|cgi|py|jsp|asp|aspx|gif|jpg|png)(?:$|[?#])`,
    ),
  }),
  rule({
    id: '931111',
    category: 'rfi',
    description: 'Remote URL in a parameter naming code to load (template=http://…, include_path=ftp://…)',
    paranoia: 1,
    severity: 'critical',
    needs: CHAR.colon | CHAR.slash,
    parts: PARAM_PARTS,
    keys: false,
    names: LOADER_NAMES,
    pattern: new RegExp(String.raw`^\s*(?:${REMOTE}|\\\\[\w.-]+\\|\/\/[\w.-]+\.[a-z]{2,}(?:\/|$))`),
  }),
  rule({
    id: '931120',
    needs: CHAR.colon | CHAR.slash,
    category: 'rfi',
    description: 'Remote URL or UNC share in an include-like parameter',
    paranoia: 1,
    severity: 'error',
    parts: PARAM_PARTS,
    keys: false,
    names: INCLUDE_NAMES,
    pattern: new RegExp(String.raw`^\s*(?:${REMOTE}|\\\\[\w.-]+\\|\/\/[\w.-]+\.[a-z]{2,}\/)`),
  }),
  rule({
    id: '931130',
    needs: CHAR.colon,
    category: 'rfi',
    description: 'Remote URL to a bare IP address in a parameter',
    paranoia: 1,
    severity: 'warning',
    parts: PARAM_PARTS,
    keys: false,
    pattern: /^\s*(?:https?|ftps?):\/\/(?:[^/@\s]{1,100}@)?\d{1,3}(?:\.\d{1,3}){3}\b/,
  }),
  rule({
    id: '931200',
    needs: CHAR.colon,
    category: 'rfi',
    description: 'Remote URL in an include-like parameter (any)',
    paranoia: 2,
    severity: 'warning',
    parts: PARAM_PARTS,
    keys: false,
    pattern: new RegExp(String.raw`^\s*${REMOTE}`),
  }),
];
