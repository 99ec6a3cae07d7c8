// Binary-protocol result row (COM_STMT_EXECUTE / FETCH): 0x00 header, NULL bitmap with a 2-bit
// offset ((n + 9) >> 3 bytes), then each non-NULL value in the column type's binary form.
// Integers honour ColumnFlag.UNSIGNED; 64-bit values outside ±(2^53-1) come back as bigint.
// Dates/times use the 0/4/7/11 and 0/8/12 length forms; encoding picks the shortest canonical form
// (what MariaDB itself sends), so encode(parse(row)) is byte-identical for server rows.

import { ColumnFlag, ColumnType } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface BinaryDate {
  kind: 'date';
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
}

export interface BinaryTime {
  kind: 'time';
  negative: boolean;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  microseconds: number;
}

export type BinaryValue = null | number | bigint | string | Buffer | BinaryDate | BinaryTime;

export interface BinaryColumn {
  type: number;
  flags: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** NULL-bitmap length for `n` columns in a result row (offset 2). */
export function binaryRowBitmapLength(n: number): number {
  return (n + 7 + 2) >> 3;
}

function toSafe(v: bigint): number | bigint {
  return v <= MAX_SAFE && v >= MIN_SAFE ? Number(v) : v;
}

function readDate(r: Reader): BinaryDate {
  const len = r.u8();
  const d: BinaryDate = { kind: 'date', year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, microsecond: 0 };
  if (len !== 0 && len !== 4 && len !== 7 && len !== 11) throw new ProtocolError('bad DATETIME length', { length: len });
  if (len >= 4) {
    d.year = r.u16();
    d.month = r.u8();
    d.day = r.u8();
  }
  if (len >= 7) {
    d.hour = r.u8();
    d.minute = r.u8();
    d.second = r.u8();
  }
  if (len === 11) d.microsecond = r.u32();
  return d;
}

function readTime(r: Reader): BinaryTime {
  const len = r.u8();
  const t: BinaryTime = { kind: 'time', negative: false, days: 0, hours: 0, minutes: 0, seconds: 0, microseconds: 0 };
  if (len !== 0 && len !== 8 && len !== 12) throw new ProtocolError('bad TIME length', { length: len });
  if (len >= 8) {
    const neg = r.u8();
    if (neg > 1) throw new ProtocolError('bad TIME sign byte', { value: neg });
    t.negative = neg === 1;
    t.days = r.u32();
    t.hours = r.u8();
    t.minutes = r.u8();
    t.seconds = r.u8();
  }
  if (len === 12) t.microseconds = r.u32();
  return t;
}

// hot path
function readValue(r: Reader, col: BinaryColumn): BinaryValue {
  const unsigned = (col.flags & ColumnFlag.UNSIGNED) !== 0;
  switch (col.type) {
    case ColumnType.NULL:
      return null;
    case ColumnType.TINY:
      return unsigned ? r.u8() : r.i8();
    case ColumnType.SHORT:
      return unsigned ? r.u16() : r.i16();
    case ColumnType.YEAR:
      return r.u16();
    case ColumnType.INT24:
    case ColumnType.LONG:
      return unsigned ? r.u32() : r.i32();
    case ColumnType.LONGLONG:
      return toSafe(unsigned ? r.u64() : r.i64());
    case ColumnType.FLOAT:
      return r.f32();
    case ColumnType.DOUBLE:
      return r.f64();
    case ColumnType.DECIMAL:
    case ColumnType.NEWDECIMAL: {
      const b = r.lenencBytes();
      if (b === null) throw new ProtocolError('NULL marker inside binary row', { at: r.pos });
      return b.toString('latin1');
    }
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
    case ColumnType.DATETIME:
    case ColumnType.TIMESTAMP:
    case ColumnType.DATETIME2:
    case ColumnType.TIMESTAMP2:
      return readDate(r);
    case ColumnType.TIME:
    case ColumnType.TIME2:
      return readTime(r);
    default: {
      // strings, blobs, ENUM, SET, JSON, GEOMETRY, BIT, VARCHAR …
      const b = r.lenencBytes();
      if (b === null) throw new ProtocolError('NULL marker inside binary row', { at: r.pos });
      return b;
    }
  }
}

export function parseBinaryRow(payload: Buffer, columns: ReadonlyArray<BinaryColumn>): BinaryValue[] {
  const r = new Reader(payload);
  const h = r.u8();
  if (h !== 0x00) throw new ProtocolError('not a binary row', { header: h });
  const n = columns.length;
  const bitmap = r.bytes(binaryRowBitmapLength(n));
  const out: BinaryValue[] = [];
  for (let i = 0; i < n; i++) {
    const bit = i + 2;
    if (((bitmap[bit >> 3] as number) >> (bit & 7)) & 1) out.push(null);
    else out.push(readValue(r, columns[i] as BinaryColumn));
  }
  r.expectEnd('binary row');
  return out;
}

function bad(col: BinaryColumn, v: BinaryValue): never {
  throw new ProtocolError('value does not fit column type', { type: col.type, value: typeof v });
}

function intOf(col: BinaryColumn, v: BinaryValue): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v <= MAX_SAFE && v >= MIN_SAFE) return Number(v);
  return bad(col, v);
}

function writeDate(w: Writer, d: BinaryDate): void {
  if (d.microsecond !== 0) {
    w.u8(11).u16(d.year).u8(d.month).u8(d.day).u8(d.hour).u8(d.minute).u8(d.second).u32(d.microsecond);
  } else if (d.hour !== 0 || d.minute !== 0 || d.second !== 0) {
    w.u8(7).u16(d.year).u8(d.month).u8(d.day).u8(d.hour).u8(d.minute).u8(d.second);
  } else if (d.year !== 0 || d.month !== 0 || d.day !== 0) {
    w.u8(4).u16(d.year).u8(d.month).u8(d.day);
  } else {
    w.u8(0);
  }
}

function writeTime(w: Writer, t: BinaryTime): void {
  if (t.microseconds !== 0) {
    w.u8(12).u8(t.negative ? 1 : 0).u32(t.days).u8(t.hours).u8(t.minutes).u8(t.seconds).u32(t.microseconds);
  } else if (t.negative || t.days !== 0 || t.hours !== 0 || t.minutes !== 0 || t.seconds !== 0) {
    w.u8(8).u8(t.negative ? 1 : 0).u32(t.days).u8(t.hours).u8(t.minutes).u8(t.seconds);
  } else {
    w.u8(0);
  }
}

function writeValue(w: Writer, col: BinaryColumn, v: BinaryValue): void {
  const unsigned = (col.flags & ColumnFlag.UNSIGNED) !== 0;
  switch (col.type) {
    case ColumnType.NULL:
      return bad(col, v);
    case ColumnType.TINY:
      if (unsigned) w.u8(intOf(col, v));
      else w.i8(intOf(col, v));
      return;
    case ColumnType.SHORT:
      if (unsigned) w.u16(intOf(col, v));
      else w.i16(intOf(col, v));
      return;
    case ColumnType.YEAR:
      w.u16(intOf(col, v));
      return;
    case ColumnType.INT24:
    case ColumnType.LONG:
      if (unsigned) w.u32(intOf(col, v));
      else w.i32(intOf(col, v));
      return;
    case ColumnType.LONGLONG: {
      if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isInteger(v))) return bad(col, v);
      if (unsigned) w.u64(v);
      else w.i64(v);
      return;
    }
    case ColumnType.FLOAT:
      if (typeof v !== 'number') return bad(col, v);
      w.f32(v);
      return;
    case ColumnType.DOUBLE:
      if (typeof v !== 'number') return bad(col, v);
      w.f64(v);
      return;
    case ColumnType.DECIMAL:
    case ColumnType.NEWDECIMAL:
      if (typeof v === 'string') w.lenencBytes(Buffer.from(v, 'latin1'));
      else if (Buffer.isBuffer(v)) w.lenencBytes(v);
      else bad(col, v);
      return;
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
    case ColumnType.DATETIME:
    case ColumnType.TIMESTAMP:
    case ColumnType.DATETIME2:
    case ColumnType.TIMESTAMP2:
      if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v.kind !== 'date') return bad(col, v);
      writeDate(w, v);
      return;
    case ColumnType.TIME:
    case ColumnType.TIME2:
      if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v.kind !== 'time') return bad(col, v);
      writeTime(w, v);
      return;
    default:
      if (typeof v === 'string') w.lenencStr(v);
      else if (Buffer.isBuffer(v)) w.lenencBytes(v);
      else bad(col, v);
      return;
  }
}

export function encodeBinaryRow(values: ReadonlyArray<BinaryValue>, columns: ReadonlyArray<BinaryColumn>): Buffer {
  if (values.length !== columns.length) {
    throw new ProtocolError('value count does not match column count', { values: values.length, columns: columns.length });
  }
  const n = columns.length;
  const w = new Writer(32 + 16 * n);
  const bitmap = Buffer.alloc(binaryRowBitmapLength(n));
  for (let i = 0; i < n; i++) {
    if (values[i] === null) {
      const bit = i + 2;
      bitmap[bit >> 3] = (bitmap[bit >> 3] as number) | (1 << (bit & 7));
    }
  }
  w.u8(0).bytes(bitmap);
  for (let i = 0; i < n; i++) {
    const v = values[i] as BinaryValue;
    if (v !== null) writeValue(w, columns[i] as BinaryColumn, v);
  }
  return w.payload();
}
