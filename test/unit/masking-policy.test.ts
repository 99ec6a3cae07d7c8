import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../../src/masking/policy.ts';
import { encodeBinaryRow, encodeTextRow, parseBinaryRow, parseTextRow } from '../../src/protocol/index.ts';
import { col, cfg, ColumnType, ColumnFlag } from './masking-helpers.ts';

const key = Buffer.from('k');
const none = new Set<string>();
const policy = compilePolicy(
  cfg([
    { name: 'phone', columns: ['crm.users.phone', 'crm.users.mobile_n'], mask: { type: 'partial', keep_first: 3, keep_last: 4, char: '*' } },
    { name: 'birthday', columns: ['crm.users.birthday'], mask: { type: 'fixed', value: '1970-01-01' } },
    { name: 'free', detect: ['cn_mobile', 'email'], mask: { type: 'full', char: '*' } },
  ]),
  { key },
);
const rs = policy.forRoute(undefined);

test('no masked column and no string column: no plan (rows are not decoded)', () => {
  assert.equal(rs.planColumns([col('crm', 'users', 'id', ColumnType.LONG)], { exemptRules: none }), null);
  assert.equal(rs.planColumns([col('crm', 'users', 'phone')], { exemptRules: new Set(['*']) }), null);
  const onlyCols = compilePolicy(cfg([{ name: 'p', columns: ['crm.users.phone'], mask: { type: 'null' } }]), { key }).forRoute(undefined);
  assert.equal(onlyCols.planColumns([col('crm', 'users', 'name')], { exemptRules: none }), null);
  assert.deepEqual([...rs.maskedTables()].sort(), ['crm.users']);
});

test('text rows: whole cell by origin (alias does not escape), detectors on free text, typed fixed', () => {
  const cols = [
    col('crm', 'u', 'p', ColumnType.VAR_STRING, { orgTable: 'users', orgName: 'phone' }), // SELECT phone AS p FROM users u
    col('crm', 'users', 'notes', ColumnType.BLOB),
    col('crm', 'users', 'birthday', ColumnType.DATE),
    col('crm', 'users', 'mobile_n', ColumnType.LONGLONG),
    col('crm', 'users', 'id', ColumnType.LONG),
  ];
  const plan = rs.planColumns(cols, { exemptRules: none });
  assert.ok(plan !== null);
  assert.deepEqual(plan.maskedColumns, ['p', 'birthday', 'mobile_n']);
  const row = encodeTextRow(['13812345678', '请拨 13900001111 或 a@b.com 谢谢', '1990-05-06', '13812345678', '7']);
  const out = plan.maskTextRow(row);
  assert.notEqual(out, row);
  assert.deepEqual(parseTextRow(out, 5).map((b) => b?.toString('utf8') ?? null), [
    '138****5678', '请拨 *********** 或 ******* 谢谢', '1970-01-01', null, '7',
  ]);
  // NULL cells stay NULL; a row where nothing changes is the SAME buffer
  const clean = encodeTextRow([null, 'no secrets here', null, null, '8']);
  assert.equal(plan.maskTextRow(clean), clean);
  // exempt from phone only: the detector rule still applies
  const p2 = rs.planColumns(cols, { exemptRules: new Set(['phone', 'birthday']) });
  assert.deepEqual(parseTextRow(p2?.maskTextRow(row) as Buffer, 5).map((b) => b?.toString('utf8') ?? null), [
    '***********', '请拨 *********** 或 ******* 谢谢', '1990-05-06', '13812345678', '7',
  ]);
});

test('binary rows: re-decodable, NULL bitmap set for NULL masks and intact elsewhere', () => {
  const cols = [
    col('crm', 'users', 'id', ColumnType.LONG),
    col('crm', 'users', 'phone'),
    col('crm', 'users', 'mobile_n', ColumnType.LONGLONG, { flags: ColumnFlag.UNSIGNED }),
    col('crm', 'users', 'birthday', ColumnType.DATE),
    col('crm', 'users', 'email'),
    col('crm', 'users', 'score', ColumnType.DOUBLE),
  ];
  const plan = rs.planColumns(cols, { exemptRules: none });
  assert.ok(plan !== null);
  const values = [7, '13812345678', 13812345678, { kind: 'date', year: 1990, month: 5, day: 6, hour: 0, minute: 0, second: 0, microsecond: 0 } as const, 'x@y.org', 1.5];
  const row = encodeBinaryRow(values, cols);
  const out = plan.maskBinaryRow(row);
  const back = parseBinaryRow(out, cols);
  assert.equal(back[0], 7);
  assert.equal((back[1] as Buffer).toString(), '138****5678');
  assert.equal(back[2], null);
  assert.deepEqual(back[3], { kind: 'date', year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, microsecond: 0 });
  assert.equal((back[4] as Buffer).toString(), '*******');
  assert.equal(back[5], 1.5);
  const withNulls = encodeBinaryRow([null, null, null, null, 'plain', null], cols);
  assert.equal(plan.maskBinaryRow(withNulls), withNulls);
});

test('SELECT * is covered by origin; columns+detect masks only matched parts in those columns', () => {
  const p = compilePolicy(cfg([{ name: 'n', columns: ['*.users.notes'], detect: ['cn_mobile'], mask: { type: 'partial', keep_first: 3, keep_last: 4, char: '*' } }]), { key }).forRoute(undefined);
  const cols = [col('crm', 'users', 'notes'), col('crm', 'users', 'other')];
  const plan = p.planColumns(cols, { exemptRules: none });
  const row = encodeTextRow(['call 13812345678 now', 'call 13812345678 now']);
  assert.deepEqual(parseTextRow(plan?.maskTextRow(row) as Buffer, 2).map((b) => b?.toString()), ['call 138****5678 now', 'call 13812345678 now']);
});

test('a fixed value that does not fit the type becomes NULL with a warning; bad regex is a compile error', () => {
  const p = compilePolicy(cfg([{ name: 'x', columns: ['*.*.n'], mask: { type: 'fixed', value: 'XXX' } }]), { key }).forRoute(undefined);
  const plan = p.planColumns([col('s', 't', 'n', ColumnType.LONG)], { exemptRules: none });
  assert.match(plan?.warnings[0] ?? '', /not a valid integer/);
  assert.deepEqual(parseTextRow(plan?.maskTextRow(encodeTextRow(['5'])) as Buffer, 1), [null]);
  assert.throws(() => compilePolicy(cfg([{ name: 'r', detect: [{ regex: '(' }], mask: { type: 'null' } }])), /masking rule "r": invalid regex/);
  assert.throws(() => compilePolicy(cfg([], { default: ['nope'] })), /unknown masking rule "nope"/);
});
