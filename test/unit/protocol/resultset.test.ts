import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ColumnFlag,
  ColumnType,
  ProtocolError,
  parseColumnDefinition41,
  encodeColumnDefinition41,
  parseTextRow,
  encodeTextRow,
  parseBinaryRow,
  encodeBinaryRow,
  type BinaryValue,
  type ColumnDefinition41,
} from '../../../src/protocol/index.ts';
import { a, bytes, payloadOf } from './helpers.ts';

test('A3.5 column definition with MariaDB extended metadata', () => {
  const p = bytes('03', a('def'), '06', a('testdb'), '01 74 01 74 01 6a 01 6a | 06 01 04', a('json'), '| 0c 2d 00 ff ff ff ff fc 90 00 00 00 00');
  const c = parseColumnDefinition41(p, { extendedMetadata: true });
  assert.deepEqual(c, {
    catalog: 'def',
    schema: 'testdb',
    table: 't',
    orgTable: 't',
    name: 'j',
    orgName: 'j',
    extendedMetadata: [{ type: 1, value: 'json' }],
    charset: 45,
    columnLength: 0xffffffff,
    type: ColumnType.BLOB,
    flags: ColumnFlag.BLOB | ColumnFlag.BINARY,
    decimals: 0,
  });
  assert.deepEqual(encodeColumnDefinition41(c, { extendedMetadata: true }), p);
  // without the option the block is misread: 0x06 is not 0x0c … which is exactly why the option exists
  assert.throws(() => parseColumnDefinition41(p), ProtocolError);
});

test('plain column definition round-trips and rejects a short fixed block', () => {
  const c: ColumnDefinition41 = {
    catalog: 'def', schema: '', table: '', orgTable: '', name: 'a', orgName: '', extendedMetadata: null,
    charset: 63, columnLength: 1, type: ColumnType.LONGLONG, flags: ColumnFlag.NOT_NULL | ColumnFlag.BINARY | ColumnFlag.NUM, decimals: 0,
  };
  const enc = encodeColumnDefinition41(c);
  assert.deepEqual(enc, bytes('03 64 65 66 00 00 00 01 61 00 0c 3f 00 01 00 00 00 08 81 80 00 00 00'));
  assert.deepEqual(parseColumnDefinition41(enc), c);
  assert.throws(() => parseColumnDefinition41(bytes('03 64 65 66 00 00 00 01 61 00 09 3f 00 01 00 00 00 08 81 80')), /too short/);
});

test('A3.2 text row `01 31 01 78`, NULLs and boundaries', () => {
  const p = payloadOf(bytes('04 00 00 05 01 31 01 78'));
  const row = parseTextRow(p, 2);
  assert.deepEqual(row, [a('1'), a('x')]);
  assert.deepEqual(encodeTextRow(['1', 'x']), p);
  assert.deepEqual(parseTextRow(bytes('fb 00'), 2), [null, Buffer.alloc(0)]);
  assert.deepEqual(encodeTextRow([null, Buffer.alloc(0)]), bytes('fb 00'));
  const big = Buffer.alloc(0x10000, 0x62);
  const enc = encodeTextRow([big, null]);
  assert.deepEqual(enc.subarray(0, 4), bytes('fd 00 00 01'));
  assert.deepEqual(parseTextRow(enc, 2), [big, null]);
  assert.throws(() => parseTextRow(p, 1), /trailing/);
  assert.throws(() => parseTextRow(p, 3), ProtocolError);
});

test('A3.7 binary row: LONGLONG 42, NULL, DOUBLE 2.5', () => {
  const p = payloadOf(bytes('12 00 00 06 | 00 | 08 | 2a 00 00 00 00 00 00 00 | 00 00 00 00 00 00 04 40'));
  const cols = [
    { type: ColumnType.LONGLONG, flags: 0 },
    { type: ColumnType.LONGLONG, flags: 0 },
    { type: ColumnType.DOUBLE, flags: 0 },
  ];
  assert.deepEqual(parseBinaryRow(p, cols), [42, null, 2.5]);
  assert.deepEqual(encodeBinaryRow([42, null, 2.5], cols), p);
});

test('binary row: every column type, signed and unsigned, with canonical date/time lengths', () => {
  const U = ColumnFlag.UNSIGNED;
  const date = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, us = 0): BinaryValue => ({
    kind: 'date', year: y, month: mo, day: d, hour: h, minute: mi, second: s, microsecond: us,
  });
  const time = (neg: boolean, d: number, h: number, m: number, s: number, us = 0): BinaryValue => ({
    kind: 'time', negative: neg, days: d, hours: h, minutes: m, seconds: s, microseconds: us,
  });
  const cases: Array<[number, number, BinaryValue, string]> = [
    [ColumnType.TINY, 0, -1, 'ff'],
    [ColumnType.TINY, U, 255, 'ff'],
    [ColumnType.SHORT, 0, -2, 'feff'],
    [ColumnType.SHORT, U, 65535, 'ffff'],
    [ColumnType.YEAR, U, 2024, 'e807'],
    [ColumnType.INT24, 0, -3, 'fdffffff'],
    [ColumnType.LONG, U, 0xffffffff, 'ffffffff'],
    [ColumnType.LONGLONG, 0, -(2 ** 53) + 1, '010000000000e0ff'],
    [ColumnType.LONGLONG, 0, -(2n ** 63n), '0000000000000080'],
    [ColumnType.LONGLONG, U, 2n ** 64n - 1n, 'ffffffffffffffff'],
    [ColumnType.LONGLONG, U, 2 ** 53 - 1, 'ffffffffffff1f00'],
    [ColumnType.FLOAT, 0, 1.5, '0000c03f'],
    [ColumnType.DOUBLE, 0, -0.25, '000000000000d0bf'],
    [ColumnType.NEWDECIMAL, 0, '-12.50', '062d31322e3530'],
    [ColumnType.DECIMAL, 0, '1', '0131'],
    [ColumnType.VAR_STRING, 0, a('héllo'), '0668c3a96c6c6f'],
    [ColumnType.STRING, 0, Buffer.alloc(0), '00'],
    [ColumnType.BLOB, 0, Buffer.alloc(251, 1), 'fcfb00' + '01'.repeat(251)],
    [ColumnType.ENUM, 0, a('b'), '0162'],
    [ColumnType.SET, 0, a('a,b'), '03612c62'],
    [ColumnType.JSON, 0, a('{}'), '027b7d'],
    [ColumnType.GEOMETRY, 0, bytes('00000000 0101000000'), '09000000000101000000'],
    [ColumnType.BIT, U, bytes('05'), '0105'],
    [ColumnType.DATE, 0, date(0, 0, 0), '00'],
    [ColumnType.DATE, 0, date(2024, 2, 29), '04e807021d'],
    [ColumnType.DATETIME, 0, date(2024, 2, 29, 13, 14, 15), '07e807021d0d0e0f'],
    [ColumnType.TIMESTAMP, 0, date(2024, 2, 29, 0, 0, 0, 1), '0be807021d00000001000000'],
    [ColumnType.TIME, 0, time(false, 0, 0, 0, 0), '00'],
    [ColumnType.TIME, 0, time(true, 1, 2, 3, 4), '08 01 01000000 02 03 04'],
    [ColumnType.TIME, 0, time(false, 0, 0, 0, 0, 999999), '0c 00 00000000 000000 3f420f00'],
  ];
  for (const [type, flags, value, hex] of cases) {
    const cols = [{ type, flags }];
    const enc = encodeBinaryRow([value], cols);
    assert.deepEqual(enc, bytes('00 00', hex), `encode type ${type} ${String(value)}`);
    assert.deepEqual(parseBinaryRow(enc, cols), [value], `parse type ${type}`);
  }
  // all in one row, with NULLs spread over two bitmap bytes
  const cols = cases.map(([type, flags]) => ({ type, flags }));
  const values = cases.map(([, , v], i) => (i % 3 === 1 ? null : v));
  const row = encodeBinaryRow(values, cols);
  assert.equal(row.length > 1 + 5, true);
  assert.deepEqual(parseBinaryRow(row, cols), values);
});

test('binary row refuses malformed input and mismatched values', () => {
  const cols = [{ type: ColumnType.LONG, flags: 0 }];
  assert.throws(() => parseBinaryRow(bytes('01 00 00 00 00 00'), cols), /not a binary row/);
  assert.throws(() => parseBinaryRow(bytes('00 00 01 00'), cols), ProtocolError);
  assert.throws(() => parseBinaryRow(bytes('00 00 01 00 00 00 ff'), cols), /trailing/);
  assert.throws(() => parseBinaryRow(bytes('00 00 05 e8 07 02 1d 00'), [{ type: ColumnType.DATE, flags: 0 }]), /bad DATETIME length/);
  assert.throws(() => encodeBinaryRow(['x'], cols), ProtocolError);
  assert.throws(() => encodeBinaryRow([1, 2], cols), ProtocolError);
});
