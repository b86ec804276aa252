/**
 * Path traversal (930100–930130) and evasion signals (920xxx).
 *
 * Matched on the `slash` view (backslashes as slashes) after percent-decoding, so `..%2f`,
 * `%2e%2e/`, `..%252f`, `..\`, `%c0%ae%c0%ae/` (overlong UTF-8) and `....//` all read as dot-dot
 * sequences. In the path itself any `..` segment is critical: clients resolve dot segments
 * before sending (RFC 3986 §5.2.4), so a request that still carries one was written by hand.
 * In a parameter one `../` is only a notice (relative links are ordinary text); two or more,
 * or one reaching a well-known system file, are critical.
 */
import { INCLUDE_NAMES } from './lfi.ts';
import { CHAR, INPUT_PARTS, PARAM_PARTS, rule } from './types.ts';

export const TRAVERSAL_RULES = [
  rule({
    id: '930100',
    needs: CHAR.slash,
    category: 'traversal',
    description: 'Consecutive dot-dot segments (../../)',
    paranoia: 1,
    severity: 'critical',
    parts: INPUT_PARTS,
    view: 'slash',
    pattern: /(?:^|[/=\s'"(,;:]|\.)\.{2,};?\/+\.{2,}(?:;?\/|$)/,
  }),
  rule({
    id: '930101',
    needs: CHAR.slash,
    category: 'traversal',
    description: 'Dot-dot-slash sequence (../)',
    paranoia: 1,
    severity: 'notice',
    parts: INPUT_PARTS,
    view: 'slash',
    pattern: /(?:^|[/=\s'"(,;:])\.{2,};?\//,
  }),
  rule({
    id: '930102',
    needs: CHAR.slash,
    category: 'traversal',
    description: 'Dot-dot segment in the request path',
    paranoia: 1,
    severity: 'critical',
    parts: ['path'],
    view: 'slash',
    pattern: /(?:^|\/)\.{2,}(?:;?\/|;|$)/,
  }),
  rule({
    id: '930110',
    plain: true,
    category: 'traversal',
    description: 'Well-known system file (/etc/passwd, boot.ini, win.ini, /proc/self/environ)',
    paranoia: 1,
    severity: 'critical',
    parts: INPUT_PARTS,
    view: 'slash',
    pattern:
      /(?:^|[/\s'"=:(,;|<>@]|\.\.)(?:etc\/+(?:passwd|shadow|group|gshadow|sudoers|master\.passwd|security\/+passwd|crontab)\b|proc\/+(?:self|\d+)\/+(?:environ|cmdline|maps|fd|status|mem|cwd|exe|root)\b|(?<=\/)(?:boot|win|system)\.ini\b|(?<=\/)(?:windows\/+(?:system32|repair|panther|win\.ini|system\.ini)\b|winnt\/+)|\.htpasswd\b|\.ssh\/+(?:id_\w+|authorized_keys|known_hosts)|id_(?:rsa|dsa|ecdsa|ed25519)\b(?!\.pub)|\.bash_history\b|\.aws\/+credentials\b|var\/+log\/+(?:apache2?|httpd|nginx|auth\.log|syslog|messages|secure)\b|wp-config\.php\b|(?<=\/)(?:inetpub\/+|system32\/+(?:config|drivers)\b)|\.kube\/+config\b|\.docker\/+config\.json\b)/,
  }),
  rule({
    id: '930112',
    needs: CHAR.slash,
    category: 'traversal',
    description: 'Absolute path into a system directory in an include-like parameter (file=/etc/fstab)',
    paranoia: 1,
    severity: 'critical',
    parts: PARAM_PARTS,
    keys: false,
    names: INCLUDE_NAMES,
    view: 'slash',
    pattern:
      /^\s*(?:[a-z]:)?\/+(?:etc|proc|root|sys|dev|boot|windows|winnt|inetpub|var\/+(?:log|adm|lib|spool|mail|run)|usr\/+(?:local\/+)?(?:etc|apache\d?|lib|sbin))(?:\/|$)/,
  }),
  rule({
    id: '930111',
    needs: CHAR.slash | CHAR.percent,
    category: 'traversal',
    description: 'Windows system location (c:\\windows, %systemroot%)',
    paranoia: 1,
    severity: 'warning',
    parts: INPUT_PARTS,
    view: 'slash',
    pattern: /\b[a-z]:\/+(?:windows|winnt|inetpub|boot\.ini)\b|%(?:systemroot|windir|comspec)%/,
  }),
  rule({
    id: '930120',
    needs: CHAR.slash,
    category: 'traversal',
    description: 'Version-control or secrets file in the path (/.git/, /.env, /.htaccess)',
    paranoia: 1,
    severity: 'critical',
    parts: ['path'],
    view: 'slash',
    pattern:
      /(?:^|\/)\.(?:git|svn|hg|bzr|env|htaccess|htpasswd|ds_store|aws|ssh|docker|npmrc|bash_history|kube)(?:[/.]|$)|(?:^|\/)(?:wp-config\.php|web\.config|config\.php\.bak|id_rsa)$/,
  }),
  rule({
    id: '930130',
    needs: CHAR.slash,
    category: 'traversal',
    description: 'Backup or editor file in the path (.bak, .old, .swp, ~)',
    paranoia: 1,
    severity: 'warning',
    parts: ['path'],
    view: 'slash',
    pattern: /\.(?:bak|old|orig|save|swp|swo|backup|dump|sql|sqlite)$|\.(?:php|asp|aspx|jsp|config)~$/,
  }),
  // Evasion: ways of hiding a payload that no ordinary client uses.
  rule({
    id: '920270',
    plain: true,
    category: 'evasion',
    description: 'Null byte in a value',
    paranoia: 1,
    severity: 'warning',
    match: (v) => (v.hadNull ? 0 : -1),
  }),
  rule({
    id: '920260',
    plain: true,
    category: 'evasion',
    description: 'Value still encoded after every decoding round (deeply nested encoding)',
    paranoia: 1,
    severity: 'critical',
    match: (v) => (v.overEncoded ? 0 : -1),
  }),
];
