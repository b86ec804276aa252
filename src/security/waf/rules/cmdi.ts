/**
 * Command injection (932xxx): a shell separator (`;`, `|`, `&`, `&&`, `||`, a newline, a
 * backtick, `$(`) followed by a command an attacker runs first (`id`, `whoami`, `cat /etc/…`,
 * `wget http://…`, `nc -e`), command substitution, `${IFS}` and brace expansion, reverse
 * shells, Shellshock, and code evaluated by the server's interpreter (PHP `system($_GET…)`,
 * template engines, Log4Shell lookups, OGNL).
 *
 * A command word alone, or after prose punctuation ("cats; dogs", "Tom & Jerry"), is not
 * enough: the command must be followed by what running it needs (flags, a path, a host, the
 * end of the value). Markdown code spans (`` `ls -la` `` after a space) are a warning only.
 */
import { CHAR, type Rule, rule } from './types.ts';

const SEP = String.raw`(?:[;|&\n]|\$\()`;
const BIN = String.raw`(?:(?:\/usr(?:\/local)?)?\/s?bin\/)?`;
const RECON =
  'id|whoami|uname|pwd|ifconfig|ipconfig|hostname|ls|ps|env|printenv|netstat|systeminfo|getent|groups|ver|dir|lsb_release|nproc|lsof|history|ulimit';
const READERS =
  'cd|cat|tac|more|less|head|tail|nl|od|xxd|strings|base64|grep|egrep|awk|sed|sort|uniq|cp|mv|rm|touch|chmod|chown|find|type|file|stat|wc|diff|tee|dd|tar|unzip|openssl';
const TOOLS =
  'wget|curl|nc|ncat|netcat|telnet|nslookup|dig|ping|tftp|ftp|ssh|scp|socat|bash|sh|zsh|ksh|csh|dash|python[23]?|perl|ruby|php|node|lua|powershell|pwsh|cmd(?:\\.exe)?|certutil|bitsadmin|mshta|rundll32|regsvr32|wscript|cscript|nohup|busybox|xterm|sudo|kill|killall|pkill|reboot|shutdown|crontab|useradd|chpasswd|echo|printf|sleep';
const ANY = `${RECON}|${READERS}|${TOOLS}`;

export const CMDI_RULES: Rule[] = [
  rule({
    id: '932100',
    needs: CHAR.shell,
    category: 'cmdi',
    description: 'Shell separator followed by a reconnaissance command (; id, | whoami, && uname -a)',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`${SEP}\s*${BIN}(?:${RECON})(?:\s+-{1,2}[a-z]+)*(?:\s+[/.][\w./~*-]{0,100}|\s+~\/[\w./*-]{0,100}|\s+[a-z]:[\\/][\w.\\/ *-]{0,100})?(?:\s*(?:$|[;&\n\`)#'"<>])|\|)`,
    ),
  }),
  rule({
    id: '932110',
    needs: CHAR.shell,
    category: 'cmdi',
    description: 'Shell separator followed by a command on a file path (; cat /etc/passwd)',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`${SEP}\s*${BIN}(?:${READERS}|sh|bash)\s+(?:-[-\w]{1,20}\s+){0,4}['"]?(?:\/|~\/|\.{1,2}\/|\$[a-z{(]|[a-z]:[\\/]|%[a-z]+%)`,
    ),
  }),
  rule({
    id: '932111',
    needs: CHAR.shell,
    category: 'cmdi',
    description: 'Shell separator followed by output redirected to a file (; echo x > /tmp/y)',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`${SEP}\s*(?:echo|printf|cat|curl|wget)\b[^;|&\n]{0,100}?>{1,2}\s*(?:\/|~\/|\.{1,2}\/|[a-z]:[\\/])`,
    ),
  }),
  rule({
    id: '932120',
    needs: CHAR.shell,
    category: 'cmdi',
    description: 'Shell separator followed by a network tool or interpreter (| nc -e, ; wget http://)',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`${SEP}\s*${BIN}(?:${TOOLS})(?:\s+(?:-{1,2}[a-z][\w-]{0,20}|\/[a-z]\b|https?:|\/\/|[a-z0-9-]{1,63}\.[a-z0-9-]{1,63}\.[a-z0-9.-]{2,}|[a-z0-9-]{1,63}\.(?:com|net|org|io|ru|cn|xyz|top|tk|sh|me|info)\b|\d{1,3}(?:\.\d{1,3}){3}|\$|\`|\(|\{|\d+\s*(?:$|[;&|\n\`)#]))|\s*(?:$|[;&\n\`)#]))`,
    ),
  }),
  rule({
    id: '932130',
    needs: CHAR.shell | CHAR.backtick,
    category: 'cmdi',
    description: 'Command substitution ($(id), `whoami`)',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`\$(?:\(\s*\`?|\{\s*\`)\s*${BIN}(?:${ANY})\b|[;|&='"]\`\s*${BIN}(?:${ANY})\b[^\`]{0,100}\`|^\`\s*${BIN}(?:${ANY})(?:\s[^\`]{0,100})?\`$`,
    ),
  }),
  rule({
    id: '932131',
    needs: CHAR.backtick,
    category: 'cmdi',
    description: 'Command in backticks after a space (a Markdown code span or a substitution)',
    paranoia: 1,
    severity: 'notice',
    pattern: new RegExp(String.raw`\s\`\s*${BIN}(?:${RECON}|${TOOLS})\b[^\`]{0,100}\``),
  }),
  rule({
    id: '932140',
    needs: CHAR.shell | CHAR.brace,
    category: 'cmdi',
    description: 'Shell word splitting tricks ($IFS, {cat,/etc/passwd})',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`\$\{?ifs\b|\$ifs\$\d|\{${BIN}(?:cat|ls|nc|ncat|wget|curl|bash|sh|whoami|uname|ping|echo|head|tail|base64|python[23]?|perl|sleep),[^}\s]{1,100}\}`,
    ),
  }),
  rule({
    id: '932150',
    plain: true,
    category: 'cmdi',
    description: 'Reverse shell or remote code download (/dev/tcp, nc -e, bash -i, powershell -enc)',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /\/dev\/(?:tcp|udp)\/|\b(?:nc|ncat|netcat)\b[^\n|;&]{0,60}\s-[a-z]*[ec]\b|\b(?:ba|z|k|da)?sh\s+-i\b|\bmkfifo\b|\bcmd(?:\.exe)?\s+\/[ck]\b|\bpowershell(?:\.exe)?\s+(?:-[a-z]+\s+){0,4}(?:-e(?:nc(?:odedcommand)?)?\b|-c(?:ommand)?\b|iex\b|invoke-)|\biex\s*\(|\binvoke-(?:expression|webrequest|mimikatz)\b|\bdownloadstring\s*\(|\bexec\s+\d+<>\/dev\/tcp/,
  }),
  rule({
    id: '932151',
    needs: CHAR.slash,
    category: 'cmdi',
    description: 'Shell or interpreter path (/bin/sh, /usr/bin/env)',
    paranoia: 1,
    severity: 'error',
    pattern:
      /\/bin\/(?:ba|z|k|c|da|tc)?sh\b|\/usr\/bin\/(?:env|perl|python\d?|ruby|php|nc|wget|curl)\b|\bchmod\s+(?:\+x|[0-7]{3,4})\s+\/tmp\//,
  }),
  rule({
    id: '932160',
    needs: CHAR.paren,
    category: 'cmdi',
    description: 'Shellshock function definition (() { :; };)',
    paranoia: 1,
    severity: 'critical',
    pattern: /\(\s*\)\s*\{\s*[:_a-z]{0,10}\s*;\s*\}\s*[;>]/,
  }),
  rule({
    id: '932170',
    plain: true,
    category: 'cmdi',
    description: 'Shell separator followed by a Windows command (& net user, | tasklist)',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`\bnet\s+(?:user|localgroup)\s+\S+\s+\S*\s*\/(?:add|delete)\b|\bnetsh\s+(?:firewall|advfirewall|interface\s+portproxy)\b|${SEP}\s*(?:net\s+(?:user|localgroup|view|share|use)|reg\s+(?:query|add|delete)|tasklist|taskkill|wmic|sc\s+(?:query|create|config)|schtasks|whoami\s*\/\w+|type\s+[a-z]:|copy\s+[a-z]:|del\s+\/[a-z])\b`,
    ),
  }),
  rule({
    id: '932180',
    plain: true,
    category: 'cmdi',
    description: 'Netcat to an address and port',
    paranoia: 1,
    severity: 'critical',
    pattern: /\b(?:nc|ncat|netcat)\s+(?:-[a-z]+\s+){0,4}\d{1,3}(?:\.\d{1,3}){3}\s+\d{1,5}/,
  }),
  rule({
    id: '932190',
    needs: CHAR.paren,
    category: 'cmdi',
    description: 'PHP code execution function on request input (system($_GET[…]))',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /(?<![\w.$>])(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|assert|eval|create_function)\s*\(\s*(?:\$_(?:get|post|request|cookie|server)\b|['"]\s*(?:id|whoami|uname|ls|cat|wget|curl|nc|bash|sh|pwd|sleep|echo|ping|dir|type|net)\b|base64_decode\s*\()|(?<![\w.$>])(?:system|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(\s*['"$]|\bphpinfo\s*\(\s*\)|\$\{\s*@?(?:print|phpinfo|system|eval|sleep|exec|passthru|shell_exec)\s*\(/,
  }),
  rule({
    id: '932200',
    plain: true,
    category: 'cmdi',
    description: 'Server-side template, expression-language or lookup injection reaching the runtime',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /\{\{\s*\d+\s*[*+/-]\s*\d+\s*\}\}|\$\{\s*\d+\s*[*+]\s*\d+\s*\}|<%=\s*\d+\s*[*+]\s*\d+\s*%>|<!--\s*#\s*(?:exec|include|echo|config|printenv|fsize|flastmod)\b|(?:\{\{|\{%|\$\{|#\{|<%=?)[^\n{}<%]{0,120}?(?:__class__|__mro__|__subclasses__|__globals__|__builtins__|__import__|os\.popen|subprocess|runtime\.getruntime|getruntime\(\)|\.getclass\(\)|forname\s*\(|processbuilder)|\$\{[^\n${}]{0,60}?(?:jndi:|\$\{(?:lower|upper|::-|env|sys|date|base64|main):)|#_memberaccess|@java\.lang\.runtime@|\bclass\.module\.classloader\b/,
  }),
  rule({
    id: '932141',
    needs: CHAR.slash,
    category: 'cmdi',
    description: 'Path spelled with shell wildcards (/???/??t /???/p??s??)',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /(?:^|[\s;|&`(])\/(?:[a-z]{0,3}[?*][a-z?*]{0,4}\/[a-z?*]{0,8}[?*]|[a-z]{0,3}\[[^\]/]{1,8}\][a-z]{0,4}\/[a-z]{0,6}\[[^\]/]{1,8}\])/,
  }),
  // Paranoia 2 and up.
  rule({
    id: '932300',
    needs: CHAR.shell,
    category: 'cmdi',
    description: 'Shell separator followed by a command word',
    paranoia: 2,
    severity: 'error',
    pattern: new RegExp(String.raw`${SEP}\s*${BIN}(?:${ANY})\b`),
  }),
  rule({
    id: '932310',
    needs: CHAR.shell | CHAR.backtick,
    category: 'cmdi',
    description: 'Shell metacharacter sequence ($(, ||, &&, backtick)',
    paranoia: 3,
    severity: 'notice',
    pattern: /\$\(|`|\|\||&&/,
  }),
].map((r) => ({ ...r, view: r.view === 'text' ? 'shell' : r.view }));
