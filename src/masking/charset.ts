// Character handling per MySQL/MariaDB charset id, for maskers that count CHARACTERS, not bytes.
// Contract: `charsetOf(id)` never throws (unknown ids ≥ 192 are treated as UTF-8, the rest as
// single-byte); `charStarts` returns the byte offset of each character plus the end; `encodeText`
// turns mask output (ASCII in practice) into the column's bytes. Pure functions, no I/O.

export type CharsetKind = 'utf8' | 'single' | 'binary' | 'ucs2' | 'utf16' | 'utf16le' | 'utf32' | 'mb';

export interface Charset {
  readonly kind: CharsetKind;
  /** Bytes per character at most (column lengths are in bytes: chars = columnLength / maxBytes). */
  readonly maxBytes: number;
  /** For `mb`: length of the character whose first byte is `b0` (and `b1` the next byte). */
  readonly mbLen?: (b0: number, b1: number) => number;
}

const UTF8: Charset = { kind: 'utf8', maxBytes: 4 };
const UTF8MB3: Charset = { kind: 'utf8', maxBytes: 3 };
const SINGLE: Charset = { kind: 'single', maxBytes: 1 };
const BINARY: Charset = { kind: 'binary', maxBytes: 1 };
const UCS2: Charset = { kind: 'ucs2', maxBytes: 2 };
const UTF16: Charset = { kind: 'utf16', maxBytes: 4 };
const UTF16LE: Charset = { kind: 'utf16le', maxBytes: 4 };
const UTF32: Charset = { kind: 'utf32', maxBytes: 4 };

const lead2 = (b0: number): number => (b0 >= 0x81 && b0 <= 0xfe ? 2 : 1);
const GBK: Charset = { kind: 'mb', maxBytes: 2, mbLen: lead2 }; // also big5, gb2312, euckr
const SJIS: Charset = { kind: 'mb', maxBytes: 2, mbLen: (b0) => ((b0 >= 0x81 && b0 <= 0x9f) || (b0 >= 0xe0 && b0 <= 0xfc) ? 2 : 1) };
const UJIS: Charset = { kind: 'mb', maxBytes: 3, mbLen: (b0) => (b0 === 0x8f ? 3 : b0 === 0x8e || (b0 >= 0xa1 && b0 <= 0xfe) ? 2 : 1) };
const GB18030: Charset = {
  kind: 'mb',
  maxBytes: 4,
  mbLen: (b0, b1) => (b0 >= 0x81 && b0 <= 0xfe ? (b1 >= 0x30 && b1 <= 0x39 ? 4 : 2) : 1),
};

function inRange(id: number, a: number, b: number): boolean {
  return id >= a && id <= b;
}

/** The charset family of a collation id as sent in ColumnDefinition41. */
export function charsetOf(id: number): Charset {
  if (id === 63) return BINARY;
  if (id === 33 || id === 83 || inRange(id, 192, 215) || id === 223 || id === 76) return UTF8MB3;
  if (id === 45 || id === 46 || inRange(id, 224, 247) || id >= 255) return UTF8;
  if (id === 35 || id === 90 || inRange(id, 128, 151) || id === 159) return UCS2;
  if (id === 54 || id === 55 || inRange(id, 101, 124)) return UTF16;
  if (id === 56 || id === 62) return UTF16LE;
  if (id === 60 || id === 61 || inRange(id, 160, 183)) return UTF32;
  if ([1, 84, 19, 85, 24, 86, 28, 87].includes(id)) return GBK;
  if ([13, 88, 95, 96].includes(id)) return SJIS;
  if ([12, 91, 97, 98].includes(id)) return UJIS;
  if (inRange(id, 248, 250)) return GB18030;
  if (id >= 192) return UTF8;
  return SINGLE;
}

/** Byte offsets of each character start in `buf[start, end)`, then `end`. Malformed tails count bytewise. */
export function charStarts(buf: Buffer, cs: Charset, start = 0, end = buf.length): number[] {
  const out: number[] = [];
  let i = start;
  switch (cs.kind) {
    case 'utf8':
      for (; i < end; i++) if (((buf[i] as number) & 0xc0) !== 0x80 || i === start) out.push(i);
      break;
    case 'ucs2':
    case 'utf32':
      for (const w = cs.kind === 'ucs2' ? 2 : 4; i < end; i += w) out.push(i);
      break;
    case 'utf16':
    case 'utf16le':
      while (i < end) {
        out.push(i);
        const hi = cs.kind === 'utf16' ? (buf[i] as number) : (buf[i + 1] ?? 0);
        i += hi >= 0xd8 && hi <= 0xdb ? 4 : 2;
      }
      break;
    case 'mb': {
      const len = cs.mbLen as (b0: number, b1: number) => number;
      while (i < end) {
        out.push(i);
        i += len(buf[i] as number, buf[i + 1] ?? 0);
      }
      break;
    }
    default:
      for (; i < end; i++) out.push(i);
  }
  out.push(end);
  // a multi-byte step past `end` (truncated value): clamp
  for (let k = out.length - 2; k >= 0 && (out[k] as number) > end; k--) out.splice(k, 1);
  return out;
}

/** Number of characters in `buf`. */
export function charCount(buf: Buffer, cs: Charset): number {
  if (cs.kind === 'single' || cs.kind === 'binary') return buf.length;
  if (cs.kind === 'utf8') {
    let n = 0;
    for (let i = 0; i < buf.length; i++) if (((buf[i] as number) & 0xc0) !== 0x80) n++;
    return n;
  }
  return charStarts(buf, cs).length - 1;
}

/** Encode mask output in the column's charset. Non-ASCII text in a legacy single/multi-byte charset falls back to '?'. */
export function encodeText(s: string, cs: Charset): Buffer {
  switch (cs.kind) {
    case 'utf8':
      return Buffer.from(s, 'utf8');
    case 'utf16le':
      return Buffer.from(s, 'utf16le');
    case 'ucs2':
    case 'utf16':
      return Buffer.from(s, 'utf16le').swap16();
    case 'utf32': {
      const cps = Array.from(s, (c) => c.codePointAt(0) ?? 0x3f);
      const b = Buffer.alloc(cps.length * 4);
      cps.forEach((cp, k) => b.writeUInt32BE(cp, k * 4));
      return b;
    }
    case 'single':
    case 'binary':
      return Buffer.from(Array.from(s, (c) => ((c.codePointAt(0) ?? 0) > 0xff ? '?' : c)).join(''), 'latin1');
    default:
      return Buffer.from(Array.from(s, (c) => ((c.codePointAt(0) ?? 0) > 0x7f ? '?' : c)).join(''), 'latin1');
  }
}

/**
 * A string view of a cell for detectors, with a map from string index to byte offset. UTF-8 cells decode
 * as UTF-8 (custom regexes may match any script); everything else is a latin1 view where one char is one
 * byte (the built-in detectors match ASCII only). Wide charsets (ucs2/utf16/utf32) return null: no detection.
 */
export function textView(buf: Buffer, cs: Charset): { text: string; utf8: boolean } | null {
  if (cs.kind === 'utf8') {
    const text = buf.toString('utf8');
    // malformed UTF-8 decodes to U+FFFD and the offsets drift: fall back to the bytewise view
    if (Buffer.byteLength(text, 'utf8') === buf.length) return { text, utf8: true };
    return { text: buf.toString('latin1'), utf8: false };
  }
  if (cs.kind === 'single' || cs.kind === 'binary' || cs.kind === 'mb') return { text: buf.toString('latin1'), utf8: false };
  return null;
}

/** Byte offsets of ascending UTF-16 indices `idx` of `text` (UTF-8 encoding), in one pass. */
export function utf16ToUtf8Offsets(text: string, idx: readonly number[]): number[] {
  const out: number[] = [];
  let bytes = 0;
  let i = 0;
  for (const target of idx) {
    while (i < target) {
      const c = text.charCodeAt(i);
      if (c < 0x80) bytes += 1;
      else if (c < 0x800) bytes += 2;
      else if (c >= 0xd800 && c <= 0xdbff) {
        bytes += 4;
        i++;
      } else bytes += 3;
      i++;
    }
    out.push(bytes);
  }
  return out;
}
