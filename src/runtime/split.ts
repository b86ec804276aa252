/**
 * The roll that places a client in a gradual deployment's split: a number in [0, 100) from a
 * key (the client's address), the same every time (FNV-1a), spread evenly enough that 10% of
 * keys take a 10% version (src/control/deployment.test.ts measures it).
 */
export function stickyRoll(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % 10_000) / 100;
}
