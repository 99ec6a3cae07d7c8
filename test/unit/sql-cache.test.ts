// Unit tests of src/sql/cache.ts: digest-keyed LRU of analyses (hits across literal variants, eviction
// order, frozen shared results).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnalysisCache } from '../../src/sql/cache.ts';

test('statements differing in literals hit the same entry', () => {
  const cache = new AnalysisCache();
  const a = cache.analyzeCached("SELECT phone FROM customers WHERE id = 1 AND name = 'x'");
  const b = cache.analyzeCached("select phone from customers where id = 99 and name = 'yy'");
  assert.equal(a.hit, false);
  assert.equal(b.hit, true);
  assert.equal(a.hash, b.hash);
  assert.equal(b.digest, 'SELECT phone FROM customers WHERE id = ? AND name = ?');
  assert.equal(b.analysis, a.analysis);
  assert.deepEqual(b.analysis.tables, [{ schema: null, table: 'customers', op: 'select' }]);
  assert.deepEqual(cache.stats(), { size: 1, hits: 1, misses: 1 });
});

test('cached analyses are frozen', () => {
  const cache = new AnalysisCache();
  const { analysis } = cache.analyzeCached('SELECT a FROM t');
  assert.ok(Object.isFrozen(analysis));
  assert.ok(Object.isFrozen(analysis.tables));
  assert.ok(Object.isFrozen(analysis.outputs?.[0]?.sources));
});

test('least recently used entry is evicted at the bound', () => {
  const cache = new AnalysisCache({ maxEntries: 2 });
  cache.analyzeCached('SELECT * FROM t1');
  cache.analyzeCached('SELECT * FROM t2');
  assert.equal(cache.analyzeCached('SELECT * FROM t1 ').hit, true); // t1 is now most recent
  cache.analyzeCached('SELECT * FROM t3'); // evicts t2
  assert.equal(cache.size, 2);
  assert.equal(cache.analyzeCached('SELECT * FROM t1').hit, true);
  assert.equal(cache.analyzeCached('SELECT * FROM t2').hit, false);
});

test('rejects a nonsensical bound; clear() empties', () => {
  assert.throws(() => new AnalysisCache({ maxEntries: 0 }), RangeError);
  const cache = new AnalysisCache({ maxEntries: 5 });
  cache.analyzeCached('SELECT 1');
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.analyzeCached('SELECT 1').hit, false);
});
