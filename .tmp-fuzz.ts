import { requestHref, requestUrl } from './src/network/urls.ts';
const hostChars = 'abx0123456789.-:fen'.split('');
const tgtChars = "/a.%?'\"!$&()*+,;=:@~_-#\\ |^`{}<>[]2eE\t".split('');
function r(n: number) { return Math.floor(Math.random() * n); }
function gen(chars: string[], max: number) { let s=''; const n=r(max)+1; for (let i=0;i<n;i++) s+=chars[r(chars.length)]; return s; }
const special = ['1.2.3.4','255.255.255.255','256.1.1.1','1.2.3.4.5','0.0.0.0','01.2.3.4','1e3','a.0x','0x','a.0x1','a.1','1.a','a.09','a:80','a:0','a:65536','a:65535','a:1','xn--a','a.b-','-','0','00','0.0','127.1','a.b.c.d.e','a'.repeat(64),'a'.repeat(300)+'.b', ('a'.repeat(63)+'.').repeat(5)+'a', '1.2.3.4:80','1.2.3.4:8080', 'a-.b', 'a--b', 'ab--c', 'x-n--a','1.2.3.0x'];
let bad = 0, fast = 0;
function check(t: string, h: string) {
  let slow: string; try { slow = requestUrl(t, h).href; } catch { slow = 'THROW'; }
  let got: string; try { got = requestHref(t, h); } catch { got = 'THROW'; }
  if (got !== slow) { bad++; if (bad < 20) console.log(JSON.stringify({t,h,got,slow})); }
  else if (got === `http://${h}${t}`) fast++;
}
for (const h of special) for (const t of ['/', '/a', "/a'?b", '/?%zz', '/a?x=/.', "/x?'"]) check(t, h);
for (let i = 0; i < 300000; i++) {
  const h = Math.random() < 0.3 ? special[r(special.length)] : gen(hostChars, 12);
  const t = '/' + (Math.random()<0.5 ? gen(tgtChars, 10) : '');
  check(t, h);
}
console.log({ bad, fast });
