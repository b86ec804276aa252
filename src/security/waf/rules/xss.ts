/**
 * Cross-site scripting (941xxx), matched on the normalised text, so entity-, percent- and
 * escape-encoded markup (`&lt;script`, `%3Csvg`, `\u003cimg`) is caught as plain markup.
 *
 * Critical: what runs script in a browser — a `<script>` tag, a tag carrying an event handler,
 * an event handler injected into an attribute and assigned code, a `javascript:` URI followed
 * by code, frames and objects, `data:text/html`, CSS expressions, a string context closed and
 * a sink called. Ordinary rich text (`<p>`, `<a href="https://…">`, `<img src="…">`, "I <3
 * this", "a < b > c") matches nothing at paranoia 1.
 */
import { CHAR, rule } from './types.ts';

const JS_CALL = String.raw`(?:alert|prompt|confirm|eval|settimeout|setinterval|fetch|import|atob|print)\s*[(\`]`;
const JS_OBJECT = String.raw`(?:document|window|top|self|parent|globalthis|this|location)\s*[.[=]`;

export const XSS_RULES = [
  rule({
    id: '941100',
    needs: CHAR.lt,
    category: 'xss',
    description: 'Script tag',
    paranoia: 1,
    severity: 'critical',
    pattern: /<\/?script(?:[\s>/]|$)/,
  }),
  rule({
    id: '941110',
    needs: CHAR.lt,
    category: 'xss',
    description: 'Tag with an event handler attribute (<img src=x onerror=…>, <svg/onload=…>)',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /<[a-z][\w:-]{0,30}[\s/](?:[^<>"']|"[^"]{0,200}"|'[^']{0,200}'){0,300}?(?<![\w-])on[a-z]{3,40}\s*\/?\s*=/,
  }),
  rule({
    id: '941120',
    needs: CHAR.eq,
    category: 'xss',
    description: 'Event handler injected into an attribute and assigned code (" onfocus="alert(1))',
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`(?:^|[\s"'\`/;])on[a-z]{3,40}\s*=\s*['"\`]?\s*(?:[\w$.[\]]{0,40}?(?:${JS_CALL}|${JS_OBJECT})|function\b|javascript:)`,
    ),
  }),
  rule({
    id: '941130',
    needs: CHAR.colon,
    category: 'xss',
    description: 'javascript:/vbscript: URI followed by code, or in a link attribute',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /(?:^|[\s"'`=(<,;:])(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e)\s*s\s*c\s*r\s*i\s*p\s*t\s*:\s*(?:[a-z_$][\w$.]{0,40}(?:\(|`|=|\[)|\/[/*]|['"`([{!~+-]|void\b|%[0-9a-f]{2})|(?:href|src|action|formaction|data|background|poster|lowsrc|dynsrc|xlink:href|ping|cite|codebase)\s*=\s*['"`]?\s*(?:javascript|vbscript|livescript|mocha)\s*:/,
  }),
  rule({
    id: '941140',
    needs: CHAR.lt,
    category: 'xss',
    description: 'Frame, object, embed, applet, base or meta refresh tag',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /<(?:(?:iframe|frame|frameset|object|embed|applet|base|isindex|portal|xss)(?:[\s>/]|$)|meta\b[^<>]{0,200}?http-equiv|link\b[^<>]{0,200}?\brel\s*=\s*['"]?\s*(?:import|stylesheet))/,
  }),
  rule({
    id: '941141',
    needs: CHAR.lt,
    category: 'xss',
    description: 'Tag rich text rarely needs (style, svg, math, form, body, title, textarea)',
    paranoia: 1,
    severity: 'warning',
    pattern:
      /<\/?(?:style|svg|math|form|template|marquee|xml|body|html|head|title|textarea|noscript|plaintext|xmp|listing|animate|set|handler|keygen|isindex)(?:[\s>/]|$)/,
  }),
  rule({
    id: '941150',
    needs: CHAR.colon,
    category: 'xss',
    description: 'data: URI carrying HTML or script',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /\bdata:\s*(?:text\/(?:html|javascript|xml|vbscript|ecmascript)|application\/(?:x-)?(?:javascript|ecmascript|xhtml\+xml))\s*[;,]/,
  }),
  rule({
    id: '941151',
    needs: CHAR.colon,
    category: 'xss',
    description: 'data: URI carrying SVG',
    paranoia: 1,
    severity: 'error',
    pattern: /\bdata:\s*image\/svg[+ ]xml\s*[;,]/,
  }),
  rule({
    id: '941160',
    needs: CHAR.paren | CHAR.colon | CHAR.at,
    category: 'xss',
    description: 'Script in CSS (expression(), -moz-binding, behavior, @import of a URL)',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /(?:[:=]|\bstyle\s*=\s*['"]?)\s*expression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url\s*\(|@import\s*(?:url\s*\()?\s*['"]?\s*(?:https?:|\/\/|javascript:|data:)/,
  }),
  rule({
    id: '941170',
    needs: CHAR.quote | CHAR.paren | CHAR.backtick,
    category: 'xss',
    description: "String context closed and a sink called ('-alert(1)-', \";document.cookie)",
    paranoia: 1,
    severity: 'critical',
    pattern: new RegExp(
      String.raw`^[\s'"\`]*[})\]]+\s*[;,]?\s*${JS_CALL}|['"\`] *(?:[;+\-*/|&^,)] *){1,3}(?:${JS_CALL}|(?:document|window|top|self|parent|globalthis|this)\s*(?:\.|\[)\s*['"\`]?(?:cookie|location|domain|write|open|eval|alert|localstorage))`,
    ),
  }),
  rule({
    id: '941180',
    plain: true,
    category: 'xss',
    description: 'JavaScript sink (alert(), eval(), document.cookie, innerHTML=)',
    paranoia: 1,
    severity: 'error',
    pattern:
      /(?<![\w.$])(?:alert|prompt|confirm)(?:\(|`)|(?<![\w.$])eval\s*\(|\bstring\.fromcharcode\s*\(|\bdocument\s*\.\s*(?:cookie|domain|write(?:ln)?\s*\()|\.(?:inner|outer)html\s*=|\bwindow\s*\.\s*(?:location|open\s*\()|\batob\s*\(|\bsettimeout\s*\(\s*['"`]|\bconstructor\s*\(\s*['"`]|\bimport\s*\(\s*['"`](?:https?:|data:|\/\/)/,
  }),
  rule({
    id: '941190',
    needs: CHAR.brace | CHAR.paren,
    category: 'xss',
    description: 'Client-side template injection ({{constructor.constructor(…)()}})',
    paranoia: 1,
    severity: 'critical',
    pattern:
      /\{\{[^{}]{0,120}?(?:constructor|\$on\b|\$eval|\$emit|__proto__|alert\(|tostring\(\)\.|\bcall\s*\(|\$watch)[^{}]{0,120}?\}\}|\bconstructor\s*\.\s*constructor\s*\(|\[\s*['"]constructor['"]\s*\]\s*\[/,
  }),
  rule({
    id: '941200',
    needs: CHAR.eq,
    category: 'xss',
    description: 'srcdoc or formaction attribute',
    paranoia: 1,
    severity: 'critical',
    pattern: /(?<![\w-])(?:srcdoc|formaction)\s*=/,
  }),
  rule({
    id: '941210',
    needs: CHAR.quote | CHAR.backtick,
    category: 'xss',
    description: 'Attribute closed and a tag opened ("><…)',
    paranoia: 1,
    severity: 'error',
    pattern: /['"`]\s*\/?>\s*<\/?[a-z!]/,
  }),
  // Paranoia 2 and up.
  rule({
    id: '941300',
    needs: CHAR.lt,
    category: 'xss',
    description: 'HTML tag',
    paranoia: 2,
    severity: 'error',
    pattern: /<\/?[a-z][\w:-]{0,30}(?:[\s/>]|$)/,
  }),
  rule({
    id: '941310',
    needs: CHAR.eq,
    category: 'xss',
    description: 'Event handler attribute without a tag',
    paranoia: 2,
    severity: 'error',
    pattern: /(?:^|[\s"'`/;])on[a-z]{3,40}\s*=/,
  }),
  rule({
    id: '941320',
    needs: CHAR.quote | CHAR.backtick,
    category: 'xss',
    description: 'Angle bracket closing an attribute',
    paranoia: 3,
    severity: 'warning',
    pattern: /['"`]\s*\/?>/,
  }),
];
