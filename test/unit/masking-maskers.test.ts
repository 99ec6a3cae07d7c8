import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMasker, maskingKey, parseFixed } from '../../src/masking/maskers.ts';
import { charsetOf } from '../../src/masking/charset.ts';
import { ColumnFlag, ColumnType } from '../../src/protocol/index.ts';

const utf8 = { cs: charsetOf(45), maxChars: 255 };
const key = Buffer.from('k');
const s = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

test('partial counts characters (utf8mb4 CJK and emoji), not bytes', () => {
  const m = compileMasker({ type: 'partial', keep_first: 1, keep_last: 1, char: '*' }, key);
  assert.equal(s(m.maskString(Buffer.from('张三丰'), utf8, false)), '张*丰');
  assert.equal(s(m.maskString(Buffer.from('😀ab😀'), utf8, false)), '😀**😀');
  const phone = compileMasker({ type: 'partial', keep_first: 3, keep_last: 4, char: '*' }, key);
  assert.equal(s(phone.maskString(Buffer.from('13812345678'), utf8, false)), '138****5678');
  // too short to keep 3+4 and hide one: all hidden
  assert.equal(s(phone.maskString(Buffer.from('1234567'), utf8, false)), '*******');
  // latin1 column: one byte per char
  assert.equal(phone.maskString(Buffer.from('13812345678', 'latin1'), { cs: charsetOf(8), maxChars: 20 }, false)?.toString('latin1'), '138****5678');
  // gbk: two bytes per CJK char
  const gbk = { cs: charsetOf(28), maxChars: 20 };
  const v = Buffer.from([0xd5, 0xc5, 0xc8, 0xfd, 0xb7, 0xe1]); // 张三丰 in GBK
  assert.deepEqual(m.maskString(v, gbk, false), Buffer.from([0xd5, 0xc5, 0x2a, 0xb7, 0xe1]));
});

test('full keeps the length in characters; fixed; null', () => {
  const f = compileMasker({ type: 'full', char: '#' }, key);
  assert.equal(s(f.maskString(Buffer.from('张三😀'), utf8, false)), '###');
  assert.equal(s(compileMasker({ type: 'fixed', value: 'REDACTED' }, key).maskString(Buffer.from('x'), utf8, false)), 'REDACTED');
  assert.equal(compileMasker({ type: 'null' }, key).maskString(Buffer.from('x'), utf8, false), null);
});

test('hash: keyed, stable, truncated to the column length', () => {
  const h = compileMasker({ type: 'hash' }, key);
  const a = s(h.maskString(Buffer.from('13812345678'), utf8, false));
  assert.equal(a, s(h.maskString(Buffer.from('13812345678'), utf8, false)));
  assert.match(a ?? '', /^[0-9a-f]{64}$/);
  assert.notEqual(a, s(compileMasker({ type: 'hash' }, Buffer.from('other')).maskString(Buffer.from('13812345678'), utf8, false)));
  assert.equal(s(h.maskString(Buffer.from('13812345678'), { cs: utf8.cs, maxChars: 11 }, false))?.length, 11);
  assert.equal(maskingKey({ SLUICE_MASKING_KEY: 'abc' }).toString(), 'abc');
  assert.ok(maskingKey({}).equals(maskingKey({})), 'per-process key is stable within the process');
});

test('typed columns: fixed parsed into the type, else NULL; bad fixed is an error', () => {
  const big = { type: ColumnType.LONGLONG, flags: 0, decimals: 0 };
  assert.equal(parseFixed('0', big)?.text.toString(), '0');
  assert.deepEqual(parseFixed('-1', big)?.binary, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  assert.throws(() => parseFixed('x', big), /not a valid integer/);
  assert.throws(() => parseFixed('-1', { ...big, flags: ColumnFlag.UNSIGNED }), /range/);
  assert.throws(() => parseFixed('300', { type: ColumnType.TINY, flags: 0, decimals: 0 }), /range/);
  const date = { type: ColumnType.DATE, flags: 0, decimals: 0 };
  assert.equal(parseFixed('1970-01-01', date)?.text.toString(), '1970-01-01');
  assert.deepEqual(parseFixed('1970-01-01', date)?.binary, Buffer.from([4, 0xb2, 0x07, 1, 1]));
  assert.throws(() => parseFixed('***', date), /date/);
  assert.equal(parseFixed('2000-01-02 03:04:05.5', { type: ColumnType.DATETIME, flags: 0, decimals: 3 })?.text.toString(), '2000-01-02 03:04:05.500');
  assert.equal(parseFixed('-01:02:03', { type: ColumnType.TIME, flags: 0, decimals: 0 })?.text.toString(), '-01:02:03');
  assert.equal(parseFixed('1.50', { type: ColumnType.NEWDECIMAL, flags: 0, decimals: 2 })?.text.toString(), '1.50');
  // partial on a number: NULL, never a string in a numeric slot
  assert.equal(compileMasker({ type: 'partial', keep_first: 3, keep_last: 4, char: '*' }, key).typedValue(big), null);
  assert.equal(compileMasker({ type: 'fixed', value: '0' }, key).typedValue(big)?.text.toString(), '0');
});
