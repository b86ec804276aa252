/** The shipped rule sets, in the order they run. */
import { CMDI_RULES } from './cmdi.ts';
import { LFI_RULES } from './lfi.ts';
import { SCANNER_RULES } from './scanner.ts';
import { SQLI_RULES } from './sqli.ts';
import { TRAVERSAL_RULES } from './traversal.ts';
import type { Rule } from './types.ts';
import { XSS_RULES } from './xss.ts';

export { INCLUDE_NAMES } from './lfi.ts';
export {
  CATEGORIES,
  type Category,
  CHAR,
  charClasses,
  type Rule,
  SEVERITY_SCORE,
  type Severity,
  type Value,
  type View,
} from './types.ts';

export const BUILTIN_RULES: readonly Rule[] = [
  ...SCANNER_RULES,
  ...TRAVERSAL_RULES,
  ...LFI_RULES,
  ...CMDI_RULES,
  ...XSS_RULES,
  ...SQLI_RULES,
];
