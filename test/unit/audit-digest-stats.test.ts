// DigestStats: what record() counts, and that a handle (what the audit hooks keep per prepared statement
// and session) counts the same, also after its digest was evicted and came back, and after a re-rank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { DigestStats } from '../../src/audit/digest-stats.ts';

const tables = Object.freeze([Object.freeze({ schema: 'shop', table: 'orders', op: 'select' })]);

async function series(reg: Registry, name: string): Promise<string[]> {
  const text = await reg.getSingleMetricAsString(name);
  return text.split('\n').filter((l) => l.startsWith(name));
}

test('a handle counts what record() counts, in the same digest row and series', async (t) => {
  const registry = new Registry();
  const stats = new DigestStats({ registry });
  t.after(() => stats.close());
  stats.record({ digest: 'SELECT ?', hash: 'h1', user: 'app', tables, durationNs: 2e6, rows: 1, error: false });
  const h = stats.handle('SELECT ?', 'h1', 'app', tables);
  stats.recordWith(h, 4e6, 3, true);
  const [row] = stats.top(1);
  assert.deepEqual(
    { hash: row?.hash, calls: row?.calls, total_ms: row?.total_ms, max_ms: row?.max_ms, rows: row?.rows, errors: row?.errors },
    { hash: 'h1', calls: 2, total_ms: 6, max_ms: 4, rows: 4, errors: 1 },
  );
  assert.deepEqual(await series(registry, 'sluice_digest_statements_total'), ['sluice_digest_statements_total{digest="h1"} 2']);
  assert.deepEqual(await series(registry, 'sluice_user_statements_total'), ['sluice_user_statements_total{user="app"} 2']);
  assert.deepEqual(await series(registry, 'sluice_table_operations_total'), ['sluice_table_operations_total{schema="shop",table="orders",op="select"} 2']);
});

test('a handle whose digest was evicted brings it back instead of counting into the dropped row', (t) => {
  const stats = new DigestStats({ registry: new Registry(), maxDigests: 2 });
  t.after(() => stats.close());
  const h = stats.handle('SELECT a', 'ha', 'app', []);
  stats.recordWith(h, 1e6, 0, false);
  stats.record({ digest: 'SELECT b', hash: 'hb', user: 'app', tables: [], durationNs: 5e6, rows: 0, error: false });
  // a third digest evicts the one with the least total time: ha
  stats.record({ digest: 'SELECT c', hash: 'hc', user: 'app', tables: [], durationNs: 9e6, rows: 0, error: false });
  assert.deepEqual(stats.top(10).map((r) => r.hash).sort(), ['hb', 'hc']);
  stats.recordWith(h, 7e6, 0, false);
  const rows = new Map(stats.top(10).map((r) => [r.hash, r]));
  assert.equal(rows.get('ha')?.calls, 1, 'counted afresh, in a row that is listed');
  assert.equal(rows.get('ha')?.total_ms, 7);
  assert.equal(rows.size, 2, 'still bounded');
});

test('the statement time a handle is given becomes last_seen', (t) => {
  const stats = new DigestStats({ registry: new Registry() });
  t.after(() => stats.close());
  const h = stats.handle('SELECT ?', 'h1', 'app', []);
  const at = Date.now() + 60_000;
  stats.recordWith(h, 1e6, 0, false, at);
  stats.recordWith(h, 1e6, 0, false, at - 30_000); // a batch may hold an older statement after a newer one
  assert.equal(stats.top(1)[0]?.last_seen, new Date(at).toISOString());
});
