import { IdTable } from './src/runtime/id-table.ts';
import { IdSlots } from './src/runtime/isolate/id-slots.ts';
function r(n: number) { return Math.floor(Math.random() * n); }
const pools = [
  () => 1 + r(40),
  () => 2 ** 31 - 5 + r(10), () => 2 ** 32 - 5 + r(10), () => 2**52 + r(50), () => (r(40)+1) * 1024,
  () => (r(40)+1) * 16 + 0.5, () => Infinity, () => 1 + r(3000),
];
let bad = 0;
for (const Cls of [IdTable, IdSlots] as any[]) {
  for (let round = 0; round < 200; round++) {
    const t = new Cls(); const m = new Map<number, number>();
    const pick = pools[r(pools.length)];
    const ops = 2000 + r(5000);
    const growPhase = r(2);
    for (let k = 0; k < ops; k++) {
      const id = pick();
      const op = r(10);
      if (op < (growPhase && k < ops/2 ? 7 : 3)) { const v = r(1e9); t.set(id, v); m.set(id, v); }
      else if (op < 8) { const a = t.delete(id), b = m.delete(id); if (a !== b) { bad++; console.log('del', Cls.name, id); } }
      else { if (t.get(id) !== m.get(id)) { bad++; console.log('get', Cls.name, id); } }
    }
    for (const [k, v] of m) if (t.get(k) !== v) { bad++; console.log('final', Cls.name, k); break; }
    if (t.size !== m.size) { bad++; console.log('size'); }
  }
}
console.log('bad', bad);
const s = new IdSlots<string>();
s.set(2**53 - 1, 'a'); s.set(2**53, 'b'); console.log('2^53-1 ->', s.get(2**53-1), 'size', s.size);
const s2 = new IdSlots<string>(); s2.set(0, 'zero'); console.log('get(1e-17) ->', s2.get(1e-17));
