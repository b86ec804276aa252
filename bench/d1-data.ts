// The table the D1 bench reads: 10,000 users, read by primary key, the same rows for the D1
// worker and for the better-sqlite3 baseline.
export const BENCH_ROWS = 10_000;

export const CREATE =
  'CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)';

export function rows(): [number, string, string][] {
  return Array.from({ length: BENCH_ROWS }, (_, i) => [i + 1, `user ${i + 1}`, `user${i + 1}@example.com`]);
}

/** The seed as D1 statements (one batch: one transaction). */
export function seedStatements(): [string, unknown[], 'raw'][] {
  const out: [string, unknown[], 'raw'][] = [[CREATE, [], 'raw']];
  const all = rows();
  for (let i = 0; i < all.length; i += 30)
    out.push([
      `INSERT INTO users VALUES ${all
        .slice(i, i + 30)
        .map(() => '(?, ?, ?)')
        .join(', ')}`,
      all.slice(i, i + 30).flat(),
      'raw',
    ]);
  return out;
}
