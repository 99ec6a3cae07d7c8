// Micro-benchmark of src/sql: tokenizer and digest on short and long statements, and analyzeCached on a
// cache hit (digest only) versus a miss (full parse). Prints ops/s and µs/op; never asserted by tests.
// Run: node --import tsx bench/micro/digest.bench.ts
import { Bench } from 'tinybench';
import { tokenize } from '../../src/sql/tokenizer.ts';
import { digest } from '../../src/sql/digest.ts';
import { analyze } from '../../src/sql/analyze.ts';
import { AnalysisCache } from '../../src/sql/cache.ts';

const SHORT = 'SELECT id, name, phone FROM customers WHERE id = 42';
const LONG =
  "SELECT c.id, c.name, CONCAT(c.first_name, ' ', c.last_name) AS full_name, o.total, o.created_at, " +
  '(SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id) AS items ' +
  'FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id LEFT JOIN shop.addresses a ON a.customer_id = c.id ' +
  "WHERE o.status IN ('paid', 'shipped', 'delivered', 'returned') AND o.created_at >= '2024-01-01 00:00:00' " +
  "AND c.country = 'CN' AND o.total > 100.50 AND a.city IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10) " +
  'GROUP BY c.id, o.id HAVING SUM(o.total) > 1000 ORDER BY o.created_at DESC LIMIT 50 OFFSET 100';
const INSERT = `INSERT INTO events (a, b, c) VALUES ${Array.from({ length: 100 }, (_, i) => `(${i}, 'v${i}', NOW())`).join(', ')}`;

const cache = new AnalysisCache();
cache.analyzeCached(SHORT);
cache.analyzeCached(LONG);
let n = 0;

const bench = new Bench({ time: 500 });
bench
  .add('tokenize short', () => void tokenize(SHORT))
  .add('digest short', () => void digest(SHORT))
  .add('tokenize long', () => void tokenize(LONG))
  .add('digest long', () => void digest(LONG))
  .add('digest insert 100 rows', () => void digest(INSERT))
  .add('analyzeCached hit short', () => void cache.analyzeCached(SHORT.replace('42', String(n++ & 1023))))
  .add('analyzeCached hit long', () => void cache.analyzeCached(LONG))
  .add('analyze (uncached) short', () => void analyze(SHORT))
  .add('analyze (uncached) long', () => void analyze(LONG))
  .add('analyzeCached miss short', () => void new AnalysisCache({ maxEntries: 1 }).analyzeCached(SHORT));

await bench.run();
for (const t of bench.tasks) {
  const r = t.result;
  if (r === undefined || !('throughput' in r)) continue;
  const hz = r.throughput.mean;
  console.log(`${t.name.padEnd(28)} ${Math.round(hz).toLocaleString('en').padStart(12)} ops/s  ${(1e6 / hz).toFixed(2).padStart(9)} µs/op`);
}
