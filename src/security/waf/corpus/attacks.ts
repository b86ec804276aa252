/**
 * The attack corpus: every payload with its category and where it goes in a request. The
 * corpus test (../corpus.test.ts) runs it through the WAF at the default config and prints the
 * detection rate per category.
 */
import {
  CMDI_ATTACKS,
  LFI_ATTACKS,
  RFI_ATTACKS,
  SCANNER_ATTACKS,
  TRAVERSAL_ATTACKS,
} from './attacks-misc.ts';
import { SQLI_ATTACKS } from './attacks-sqli.ts';
import { XSS_ATTACKS } from './attacks-xss.ts';
import type { Attack } from './build.ts';

export type { Attack, AttackCategory, Placement } from './build.ts';
export { attackRequest } from './build.ts';

export const ATTACKS: Attack[] = [
  ...SQLI_ATTACKS,
  ...XSS_ATTACKS,
  ...TRAVERSAL_ATTACKS,
  ...CMDI_ATTACKS,
  ...LFI_ATTACKS,
  ...RFI_ATTACKS,
  ...SCANNER_ATTACKS,
];
