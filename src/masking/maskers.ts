// Maskers: turn a cell (or the matched part of a cell) into its masked form. String maskers work on
// bytes in the column's charset and count CHARACTERS (code points), never bytes. Typed columns
// (numeric, temporal, BIT, GEOMETRY) only ever get NULL or a `fixed` value parsed into their type —
// never a string in a numeric slot; any other mask type on them yields NULL.
// Hash key: SLUICE_MASKING_KEY, else a random per-process key (a restart then changes every hash).

import { createHmac, randomBytes } from 'node:crypto';
import { ColumnFlag, ColumnType, encodeBinaryRow, binaryRowBitmapLength } from '../protocol/index.ts';
import type { BinaryValue } from '../protocol/index.ts';
import type { MaskConfig } from '../config/types.ts';
import { charCount, charStarts, encodeText } from './charset.ts';
import type { Charset } from './charset.ts';

let processKey: Buffer | null = null;

/** The HMAC key: `SLUICE_MASKING_KEY` (UTF-8) when set and non-empty, else 32 random bytes for this process. */
export function maskingKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const k = env['SLUICE_MASKING_KEY'];
  if (k !== undefined && k !== '') return Buffer.from(k, 'utf8');
  processKey ??= randomBytes(32);
  return processKey;
}

export interface StringCell {
  readonly cs: Charset;
  /** Maximum characters the column holds (columnLength / bytes per char); 0 when unknown. */
  readonly maxChars: number;
}

export interface Masker {
  readonly type: MaskConfig['type'];
  /** Mask a whole string cell or a matched part of one; `null` means the cell becomes SQL NULL. */
  maskString(value: Buffer, cell: StringCell, part: boolean): Buffer | null;
  /** The fixed value for a typed column, or null (NULL). Throws when `fixed` does not parse for the type. */
  typedValue(col: TypedColumn): TypedConstant;
}

export interface TypedColumn {
  readonly type: number;
  readonly flags: number;
  readonly decimals: number;
}

/** A typed cell's replacement: its text-protocol bytes and its binary-protocol value bytes, or NULL. */
export type TypedConstant = { readonly text: Buffer; readonly binary: Buffer } | null;

const STRING_TYPES: ReadonlySet<number> = new Set([
  ColumnType.VARCHAR, ColumnType.VAR_STRING, ColumnType.STRING, ColumnType.TINY_BLOB, ColumnType.MEDIUM_BLOB,
  ColumnType.LONG_BLOB, ColumnType.BLOB, ColumnType.JSON, ColumnType.ENUM, ColumnType.SET,
]);

/** True for columns whose cells are character/byte strings in both protocols (maskable as text). */
export function isStringType(type: number): boolean {
  return STRING_TYPES.has(type);
}

function repeatChar(cs: Charset, ch: string, n: number): Buffer {
  const one = encodeText(ch, cs);
  const out = Buffer.allocUnsafe(one.length * n);
  for (let k = 0; k < n; k++) one.copy(out, k * one.length);
  return out;
}

function hashHex(key: Buffer, value: Buffer): string {
  return createHmac('sha256', key).update(value).digest('hex');
}

export function compileMasker(cfg: MaskConfig, key: Buffer): Masker {
  const typedValue = (col: TypedColumn): TypedConstant => (cfg.type === 'fixed' ? parseFixed(cfg.value, col) : null);
  switch (cfg.type) {
    case 'partial': {
      const { keep_first: kf, keep_last: kl, char } = cfg;
      return {
        type: 'partial',
        typedValue,
        maskString(value, cell) {
          const starts = charStarts(value, cell.cs);
          const n = starts.length - 1;
          // too short to keep kf + kl and still hide one character: hide all of it
          if (kf + kl >= n) return repeatChar(cell.cs, char, n);
          const a = starts[kf] as number;
          const b = starts[n - kl] as number;
          const mid = repeatChar(cell.cs, char, n - kf - kl);
          return Buffer.concat([value.subarray(0, a), mid, value.subarray(b)]);
        },
      };
    }
    case 'full':
      return {
        type: 'full',
        typedValue,
        maskString: (value, cell) => repeatChar(cell.cs, cfg.char, charCount(value, cell.cs)),
      };
    case 'fixed':
      return { type: 'fixed', typedValue, maskString: (_v, cell) => encodeText(cfg.value, cell.cs) };
    case 'hash':
      return {
        type: 'hash',
        typedValue,
        maskString(value, cell, part) {
          let hex = hashHex(key, value);
          // a matched part keeps (about) its length; a whole cell fits the column
          if (part) hex = hex.slice(0, Math.max(8, charCount(value, cell.cs)));
          if (cell.maxChars > 0 && hex.length > cell.maxChars) hex = hex.slice(0, cell.maxChars);
          return encodeText(hex, cell.cs);
        },
      };
    case 'null':
      return { type: 'null', typedValue, maskString: () => null };
  }
}

// ---------------------------------------------------------------------------------------------------------
// fixed values for typed columns

const INT_RANGE: Readonly<Record<number, readonly [bigint, bigint, bigint, bigint]>> = {
  // signed min, signed max, unsigned max
  [ColumnType.TINY]: [-128n, 127n, 0n, 255n],
  [ColumnType.SHORT]: [-32768n, 32767n, 0n, 65535n],
  [ColumnType.INT24]: [-8388608n, 8388607n, 0n, 16777215n],
  [ColumnType.LONG]: [-2147483648n, 2147483647n, 0n, 4294967295n],
  [ColumnType.LONGLONG]: [-(2n ** 63n), 2n ** 63n - 1n, 0n, 2n ** 64n - 1n],
  [ColumnType.YEAR]: [0n, 2155n, 0n, 2155n],
};

function binaryValueBytes(v: BinaryValue, col: TypedColumn): Buffer {
  // encode a one-column row and strip the 0x00 header and the 1-byte NULL bitmap
  const row = encodeBinaryRow([v], [{ type: col.type, flags: col.flags }]);
  return Buffer.from(row.subarray(1 + binaryRowBitmapLength(1)));
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function fracText(us: number, decimals: number): string {
  const d = decimals > 0 && decimals <= 6 ? decimals : 0;
  return d === 0 ? '' : '.' + pad(us, 6).slice(0, d);
}

function fail(value: string, col: TypedColumn, what: string): never {
  throw new Error(`fixed mask value ${JSON.stringify(value)} is not a valid ${what} (column type 0x${col.type.toString(16)})`);
}

/** Parse a `fixed` mask value into a typed column's value. Throws an Error when it does not parse. */
export function parseFixed(value: string, col: TypedColumn): TypedConstant {
  const v = value.trim();
  const t = col.type;
  const range = INT_RANGE[t];
  if (range !== undefined) {
    if (!/^[+-]?\d+$/.test(v)) fail(value, col, 'integer');
    const n = BigInt(v);
    const unsigned = (col.flags & ColumnFlag.UNSIGNED) !== 0;
    const [lo, hi] = unsigned ? [range[2], range[3]] : [range[0], range[1]];
    if (n < lo || n > hi) fail(value, col, 'integer in range');
    const bv: BinaryValue = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    return { text: Buffer.from(n.toString(), 'latin1'), binary: binaryValueBytes(bv, col) };
  }
  switch (t) {
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE: {
      const f = Number(v);
      if (v === '' || !Number.isFinite(f)) fail(value, col, 'number');
      return { text: Buffer.from(String(f), 'latin1'), binary: binaryValueBytes(f, col) };
    }
    case ColumnType.DECIMAL:
    case ColumnType.NEWDECIMAL: {
      if (!/^[+-]?\d+(\.\d+)?$/.test(v)) fail(value, col, 'decimal');
      const s = v.startsWith('+') ? v.slice(1) : v;
      return { text: Buffer.from(s, 'latin1'), binary: binaryValueBytes(s, col) };
    }
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
    case ColumnType.DATETIME:
    case ColumnType.TIMESTAMP:
    case ColumnType.DATETIME2:
    case ColumnType.TIMESTAMP2: {
      const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(v);
      if (m === null) fail(value, col, 'date/datetime (YYYY-MM-DD[ HH:MM:SS[.ffffff]])');
      const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((k) => Number(m[k] ?? 0)) as [number, number, number, number, number, number];
      const microsecond = Number((m[7] ?? '').padEnd(6, '0'));
      if (month > 12 || day > 31 || hour > 23 || minute > 59 || second > 59) fail(value, col, 'date/datetime');
      const isDate = t === ColumnType.DATE || t === ColumnType.NEWDATE;
      const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}` +
        (isDate ? '' : ` ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fracText(microsecond, col.decimals)}`);
      const bv: BinaryValue = isDate
        ? { kind: 'date', year, month, day, hour: 0, minute: 0, second: 0, microsecond: 0 }
        : { kind: 'date', year, month, day, hour, minute, second, microsecond };
      return { text: Buffer.from(text, 'latin1'), binary: binaryValueBytes(bv, col) };
    }
    case ColumnType.TIME:
    case ColumnType.TIME2: {
      const m = /^(-)?(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(v);
      if (m === null) fail(value, col, 'time ([-]HH:MM:SS[.ffffff])');
      const h = Number(m[2]);
      const minutes = Number(m[3]);
      const seconds = Number(m[4]);
      const us = Number((m[5] ?? '').padEnd(6, '0'));
      if (h > 838 || minutes > 59 || seconds > 59) fail(value, col, 'time');
      const negative = m[1] === '-';
      const text = `${negative ? '-' : ''}${pad(h, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}${fracText(us, col.decimals)}`;
      const bv: BinaryValue = { kind: 'time', negative, days: Math.floor(h / 24), hours: h % 24, minutes, seconds, microseconds: us };
      return { text: Buffer.from(text, 'latin1'), binary: binaryValueBytes(bv, col) };
    }
    default:
      // BIT, GEOMETRY, NULL-typed and unknown: no value can be written safely
      return fail(value, col, 'value for this column type (only NULL is)');
  }
}
