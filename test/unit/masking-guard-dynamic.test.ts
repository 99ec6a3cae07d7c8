// Bypass guard: multi-statement COM_QUERY (each statement judged on its own) and dynamic SQL
// (`PREPARE … FROM` / `EXECUTE IMMEDIATE`): a literal is checked as a statement, anything else is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStatement } from '../../src/masking/guard.ts';
import { compilePolicy } from '../../src/masking/policy.ts';
import { AnalysisCache } from '../../src/sql/cache.ts';

const rs = compilePolicy(
  { default: ['phone'], rules: [{ name: 'phone', columns: ['crm.users.phone'], mask: { type: 'partial', keep_first: 3, keep_last: 4, char: '*' } }], exempt_users: [], on_bypass: 'reject', grants_file: 'unused.json' },
  { key: Buffer.from('k') },
).forRoute(undefined);
const opts = (onBypass: 'reject' | 'mask_expression', exempt: string[] = []) => ({ defaultSchema: 'crm', onBypass, cache: new AnalysisCache(), exemptRules: new Set(exempt) });
const check = (sql: string, onBypass: 'reject' | 'mask_expression' = 'reject', exempt: string[] = []) => checkStatement(sql, rs, opts(onBypass, exempt));

test('multi-statement: direct reads pass, a bypass in any statement rejects the whole', () => {
  assert.equal(check('SELECT label FROM other; SELECT phone FROM users WHERE id = 1;').action, 'pass');
  assert.equal(check('SELECT 1; SELECT phone AS p FROM users').action, 'pass');
  const r = check("SELECT label FROM other; SELECT CONCAT(phone, '') FROM users");
  assert.equal(r.action, 'reject');
  if (r.action === 'reject') assert.equal(r.column, 'crm.users.phone');
  // under mask_expression a forced NULL is per statement, not per result set: refused
  assert.equal(check("SELECT 1; SELECT HEX(phone) FROM users", 'mask_expression').action, 'reject');
  assert.deepEqual(check("SELECT HEX(phone) FROM users;", 'mask_expression'), { action: 'mask_outputs', outputs: [0] });
});

test('dynamic SQL: literals are checked, non-literals refused, exempt users pass', () => {
  assert.equal(check(`PREPARE s FROM 'SELECT phone FROM crm.users WHERE id = 1'`).action, 'pass');
  assert.equal(check(`PREPARE s FROM 'SELECT label FROM other';`).action, 'pass');
  for (const sql of [
    `PREPARE s FROM 'SELECT CONCAT(phone, "") FROM crm.users'`,
    `prepare s from "SELECT HEX(phone) FROM users"`,
    `PREPARE s FROM 'SELECT CONCAT(phone, '''') FROM users'`,
    `EXECUTE IMMEDIATE 'SELECT SUBSTR(phone, 2) FROM users'`,
    `EXECUTE IMMEDIATE _utf8mb4'SELECT phone INTO @x FROM users LIMIT 1'`,
    'PREPARE s FROM @q',
    "EXECUTE IMMEDIATE CONCAT('SELECT HEX(ph', 'one) FROM us', 'ers')",
    `PREPARE s FROM 'SELECT 1; SELECT HEX(phone) FROM users'`,
  ]) {
    const r = check(sql);
    assert.equal(r.action, 'reject', sql);
    if (r.action === 'reject') assert.equal(r.column, 'crm.users.phone', sql);
  }
  // the outputs of a server-side statement appear under EXECUTE: not maskable by position, refused
  assert.equal(check(`PREPARE s FROM 'SELECT HEX(phone) FROM users'`, 'mask_expression').action, 'reject');
  // EXECUTE of a name and DEALLOCATE are not dynamic SQL
  assert.equal(check('EXECUTE s').action, 'pass');
  assert.equal(check('DEALLOCATE PREPARE s').action, 'pass');
  assert.equal(check('PREPARE s FROM @q', 'reject', ['phone']).action, 'pass');
});
