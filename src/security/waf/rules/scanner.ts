/**
 * Scanners (913xxx): the user agents of attack tools run with their defaults, the headers some
 * of them add, and the paths they probe first. A scanner set to send a browser's user agent is
 * not caught here, only by what its payloads trip.
 */
import { rule } from './types.ts';

export const SCANNER_RULES = [
  rule({
    id: '913100',
    plain: true,
    category: 'scanner',
    description: 'User agent of a security scanner or attack tool',
    paranoia: 1,
    severity: 'critical',
    parts: ['user_agent'],
    pattern:
      /sqlmap|nikto|\bnmap\b|masscan|acunetix|nessus|openvas|wpscan|dirbuster|gobuster|\bdirb\b|zgrab|nuclei|\bw3af|arachni|netsparker|invicti|appscan|webinspect|\bhavij\b|\bfimap\b|\bwfuzz\b|\bffuf\b|fuzz faster u fool|feroxbuster|\bjaeles\b|\bcommix\b|xsstrike|skipfish|\bparos\b|whatweb|joomscan|droopescan|\bcmsmap\b|bsqlbf|morfeus|\bzmeu\b|\bhydra\b|wapiti|sqlninja|nosqlmap|\bxsser\b|uniscan|golismero|metasploit|\bjorgee\b|\bbrutus\b|\bpangolin\b|\bwebshag\b|\bvega\/|\bdotdotpwn\b|\bsublist3r\b|\bamass\b|\bzap\/|owasp[ _-]?zap/,
  }),
  rule({
    id: '913101',
    plain: true,
    category: 'scanner',
    description: 'Header a scanner adds (Acunetix-Aspect, X-Scanner)',
    paranoia: 1,
    severity: 'critical',
    parts: ['headers'],
    names: /^(?:acunetix-[\w-]+|x-scanner|x-wipp|x-ratproxy-loop|x-netsparker-[\w-]+|x-nessus-[\w-]+)$/,
    match: () => 0,
  }),
  rule({
    id: '913110',
    category: 'scanner',
    description: 'Path a scanner probes (/nice ports,/trinity.txt.bak, w00tw00t)',
    paranoia: 1,
    severity: 'critical',
    parts: ['path'],
    pattern: /nice ports,\/trinity\.txt\.bak|w00tw00t|muieblackcat|acunetix[-_]wvs|\/hnap1\/?$|\/sqlmap/,
  }),
  rule({
    id: '913200',
    plain: true,
    category: 'scanner',
    description: 'User agent of a scripting library (curl, wget, python-requests)',
    paranoia: 3,
    severity: 'notice',
    parts: ['user_agent'],
    pattern:
      /^(?:curl|wget|python-requests|python-urllib|go-http-client|libwww-perl|java\/|okhttp|apache-httpclient|aiohttp|node-fetch|axios)/,
  }),
];
