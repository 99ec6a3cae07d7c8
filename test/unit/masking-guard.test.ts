import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassError, checkStatement, UNPARSEABLE } from '../../src/masking/guard.ts';
import { compilePolicy } from '../../src/masking/policy.ts';
import { AnalysisCache } from '../../src/sql/cache.ts';
import { cfg } from './masking-helpers.ts';

const rs = compilePolicy(cfg([{ name: 'phone', columns: ['crm.users.phone'], mask: { type: 'partial', keep_first: 3, keep_last: 4, char: '*' } }]), { key: Buffer.from('k') }).forRoute(undefined);
const none = new Set<string>();
const opts = (onBypass: 'reject' | 'mask_expression', cache = new AnalysisCache()) => ({ defaultSchema: 'crm', onBypass, cache, exemptRules: none });

const BYPASSES: Array<[string, number[] | null]> = [
  ["SELECT id, CONCAT(phone, '') FROM users", [1]],
  ['SELECT SUBSTR(phone, 1, 11) FROM crm.users', [0]],
  ['SELECT HEX(phone) FROM users', [0]],
  ['SELECT CAST(phone AS CHAR) FROM users', [0]],
  ['SELECT phone + 0 FROM users', [0]],
  ['SELECT phone FROM users UNION SELECT name FROM crm.other', [0]],
  ['SELECT d.p FROM (SELECT phone AS p FROM users) d', [0]],
  ['WITH c AS (SELECT phone FROM users) SELECT phone FROM c', [0]],
  ['SELECT (SELECT phone FROM users LIMIT 1) AS x', [0]],
  ["SELECT phone INTO OUTFILE '/tmp/x' FROM users", null],
  ["SELECT phone INTO DUMPFILE '/tmp/x' FROM users", null],
  ['SELECT phone INTO @v FROM users', null],
  ['CREATE TABLE t2 AS SELECT phone FROM users', null],
  ['INSERT INTO t2 SELECT phone FROM users', null],
];

test('every bypass form is rejected naming the column (on_bypass: reject)', () => {
  for (const [sql] of BYPASSES) {
    const r = checkStatement(sql, rs, opts('reject'));
    assert.equal(r.action, 'reject', sql);
    if (r.action === 'reject') assert.match(r.column, /^crm\.users\.phone$/, sql);
  }
});

test('under mask_expression: outputs masked, INTO/CTAS/INSERT…SELECT still rejected', () => {
  for (const [sql, positions] of BYPASSES) {
    const r = checkStatement(sql, rs, opts('mask_expression'));
    if (positions === null) assert.equal(r.action, 'reject', sql);
    else assert.deepEqual(r, { action: 'mask_outputs', outputs: positions }, sql);
  }
});

test('direct references pass (the column rules catch them by origin)', () => {
  for (const sql of ['SELECT phone FROM users', 'SELECT phone AS p FROM users u', 'SELECT * FROM crm.users', 'SELECT COUNT(phone) FROM users', 'SELECT id FROM users WHERE phone LIKE ?']) {
    assert.deepEqual(checkStatement(sql, rs, opts('reject')), { action: 'pass' }, sql);
  }
  assert.deepEqual(checkStatement("SELECT CONCAT(phone,'') FROM users", rs, { ...opts('reject'), exemptRules: new Set(['phone']) }), { action: 'pass' });
});

test('unparseable statement that references a masked table: reject (fail closed)', () => {
  const r = checkStatement('SELEC phone FROM users', rs, opts('reject'));
  assert.deepEqual(r, { action: 'reject', column: 'crm.users.phone', reason: UNPARSEABLE });
});

test('statements without masked tables never call the parser (no cache misses)', () => {
  const cache = new AnalysisCache();
  for (const sql of ['SELECT CONCAT(a, b) FROM orders', 'SELEC garbage FROM nowhere', 'INSERT INTO log SELECT * FROM orders', 'SET NAMES utf8mb4']) {
    assert.deepEqual(checkStatement(sql, rs, opts('reject', cache)), { action: 'pass' }, sql);
  }
  assert.equal(cache.stats().misses, 0);
  checkStatement("SELECT CONCAT(phone,'') FROM users WHERE id = 1", rs, opts('reject', cache));
  checkStatement("SELECT CONCAT(phone,'') FROM users WHERE id = 2", rs, opts('reject', cache));
  assert.deepEqual(cache.stats().misses, 1, 'one parse per digest');
});

test('bypassError shape (DESIGN §5.6)', () => {
  const e = bypassError('crm.users.phone');
  assert.equal(e.code, 1142);
  assert.equal(e.sqlState, '42000');
  assert.match(e.message, /^SELECT command denied to user.*\(sluice: masked column crm\.users\.phone/);
});
