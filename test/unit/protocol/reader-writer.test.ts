import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/protocol/reader.ts';
import { Writer } from '../../../src/protocol/writer.ts';
import { ProtocolError } from '../../../src/protocol/errors.ts';
import { bytes } from './helpers.ts';

function lenenc(n: number | bigint): Buffer {
  return new Writer().lenencInt(n).payload();
}

test('lenenc boundaries encode canonically and decode back', () => {
  const cases: Array<[number | bigint, string]> = [
    [0, '00'],
    [250, 'fa'],
    [251, 'fc fb 00'],
    [0xffff, 'fc ff ff'],
    [0x10000, 'fd 00 00 01'],
    [0xffffff, 'fd ff ff ff'],
    [2 ** 24, 'fe 00 00 00 01 00 00 00 00'],
    [Number.MAX_SAFE_INTEGER, 'fe ff ff ff ff ff ff 1f 00'],
    [2n ** 64n - 1n, 'fe ff ff ff ff ff ff ff ff'],
  ];
  for (const [n, hex] of cases) {
    const enc = lenenc(n);
    assert.deepEqual(enc, bytes(hex), `encode ${n}`);
    const r = new Reader(enc);
    assert.equal(r.lenencInt(), n);
    assert.equal(r.remaining(), 0);
  }
  // small bigints are encoded canonically and read back as numbers
  assert.deepEqual(lenenc(5n), bytes('05'));
  assert.equal(new Reader(lenenc(2n ** 53n)).lenencInt(), 2n ** 53n);
});

test('lenencInt: 0xfb is NULL, 0xff is invalid, lenencNumber refuses both', () => {
  assert.equal(new Reader(bytes('fb')).lenencInt(), null);
  assert.throws(() => new Reader(bytes('ff')).lenencInt(), ProtocolError);
  assert.throws(() => new Reader(bytes('fb')).lenencNumber(), /unexpected NULL/);
  assert.throws(() => new Reader(bytes('fe ff ff ff ff ff ff ff ff')).lenencNumber(), /too large/);
  assert.equal(new Reader(bytes('fc 34 12')).lenencNumber(), 0x1234);
});

test('every read is bounds-checked with a detailed ProtocolError', () => {
  const r = new Reader(bytes('01 02 03'), 1);
  assert.throws(
    () => r.u32(),
    (e: unknown) => e instanceof ProtocolError && e.message === 'short packet' && e.detail?.['need'] === 4 && e.detail?.['have'] === 2 && e.detail?.['at'] === 1,
  );
  assert.equal(r.pos, 1, 'a failed read does not move the cursor');
  const w = new Reader(bytes('01 02 03 04'), 0, 2); // window end respected
  assert.throws(() => w.u24(), ProtocolError);
  assert.throws(() => new Reader(bytes('fc 01')).lenencInt(), ProtocolError);
  assert.throws(() => new Reader(bytes('03 61 62')).lenencBytes(), ProtocolError);
  assert.throws(() => new Reader(bytes('61 62')).nulStr(), /missing NUL/);
  assert.throws(() => new Reader(bytes('61 62 00'), 0, 2).nulStr(), /missing NUL/, 'NUL beyond the window does not count');
  assert.throws(() => new Reader(bytes('00'), 2), ProtocolError);
});

test('reader primitives', () => {
  const r = new Reader(bytes('ff', 'feff', '563412', '78563412', 'efcdab8967452301', '0000c03f', '000000000000f03f', '616200', '03 78 79 7a', '7a7a'));
  assert.equal(r.i8(), -1);
  assert.equal(r.i16(), -2);
  assert.equal(r.u24(), 0x123456);
  assert.equal(r.u32(), 0x12345678);
  assert.equal(r.u64(), 0x0123456789abcdefn);
  assert.equal(r.f32(), 1.5);
  assert.equal(r.f64(), 1);
  assert.equal(r.nulStr(), 'ab');
  assert.equal(r.lenencStr(), 'xyz');
  const rest = r.rest();
  assert.equal(rest.toString(), 'zz');
  assert.equal(r.remaining(), 0);
});

test('bytes() and rest() are views, not copies', () => {
  const buf = bytes('01 02 03 04');
  const v = new Reader(buf).bytes(2);
  buf[0] = 0x99;
  assert.equal(v[0], 0x99);
});

test('writer grows, writes every width, and payload() drops its buffer', () => {
  const w = new Writer(16);
  w.u8(1).u16(0x0302).u24(0x060504).u32(0x0a090807).u64(0x1211100f0e0d0c0bn).i8(-1).i16(-1).i32(-1).i64(-1n);
  w.f32(1.5).f64(1).nulStr('ab').lenencStr('é').writeNull().zeros(2).str('z');
  const big = Buffer.alloc(1000, 7);
  w.lenencBytes(big);
  assert.equal(w.length, 1 + 2 + 3 + 4 + 8 + 1 + 2 + 4 + 8 + 4 + 8 + 3 + 3 + 1 + 2 + 1 + 3 + 1000);
  const p = w.payload();
  const r = new Reader(p);
  assert.equal(r.u8(), 1);
  assert.equal(r.u16(), 0x0302);
  assert.equal(r.u24(), 0x060504);
  assert.equal(r.u32(), 0x0a090807);
  assert.equal(r.u64(), 0x1211100f0e0d0c0bn);
  assert.equal(r.i8(), -1);
  assert.equal(r.i16(), -1);
  assert.equal(r.i32(), -1);
  assert.equal(r.i64(), -1n);
  assert.equal(r.f32(), 1.5);
  assert.equal(r.f64(), 1);
  assert.equal(r.nulStr(), 'ab');
  assert.equal(r.lenencStr(), 'é');
  assert.equal(r.lenencInt(), null);
  r.skip(2);
  assert.equal(r.str(1), 'z');
  assert.deepEqual(r.lenencBytes(), big);
  // after payload() the writer starts afresh and never scribbles over the returned view
  assert.equal(w.length, 0);
  w.u8(0xaa);
  assert.equal(p[0], 1);
  assert.deepEqual(w.payload(), bytes('aa'));
});

test('writer.finish backfills the header, and splits payloads ≥ 0xFFFFFF', () => {
  assert.deepEqual(new Writer().u8(0x0e).finish(0), bytes('01 00 00 00 0e'));
  assert.deepEqual(new Writer().finish(3), bytes('00 00 00 03'));
  const big = new Writer().zeros(0xffffff).finish(7);
  assert.equal(big.length, 0xffffff + 8);
  assert.deepEqual(big.subarray(0, 4), bytes('ff ff ff 07'));
  assert.deepEqual(big.subarray(big.length - 4), bytes('00 00 00 08'));
});

test('writer refuses values it cannot encode', () => {
  assert.throws(() => new Writer().lenencInt(-1), ProtocolError);
  assert.throws(() => new Writer().lenencInt(1.5), ProtocolError);
  assert.throws(() => new Writer().lenencInt(2n ** 64n), ProtocolError);
  assert.throws(() => new Writer().nulStr('a\0b'), ProtocolError);
});
