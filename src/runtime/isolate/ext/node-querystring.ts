/** node:querystring (nodejs_compat): Node's querystring (the querystring-es3 package). */
import qs from 'querystring-es3';

export default qs;
export const { decode, encode, parse, stringify } = qs;
const qsEscape = (s: string) => encodeURIComponent(s);
const qsUnescape = (s: string) => decodeURIComponent(s);
export { qsEscape as escape, qsUnescape as unescape };
