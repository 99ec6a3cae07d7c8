// Reader: bounds-checked cursor over one packet payload (or a window of it).
// Every read calls #need() first and throws ProtocolError('short packet', {at, need, have}),
// so parsers fed garbage fail with ProtocolError, never RangeError. Byte results are
// subarray views: callers that keep them past the current packet must copy (Buffer.from).

import { ProtocolError } from './errors.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class Reader {
  pos: number;
  readonly buf: Buffer;
  readonly end: number;

  constructor(buf: Buffer, off = 0, end = buf.length) {
    if (off < 0 || end > buf.length || off > end) {
      throw new ProtocolError('reader window out of range', { off, end, length: buf.length });
    }
    this.buf = buf;
    this.pos = off;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (this.end - this.pos < n) {
      throw new ProtocolError('short packet', { at: this.pos, need: n, have: this.end - this.pos });
    }
  }

  /** Next byte without consuming it (throws when none left). */
  peek(): number {
    this.#need(1);
    return this.buf[this.pos] as number;
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++] as number;
  }
  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.#need(3);
    const b = this.buf;
    const p = this.pos;
    this.pos += 3;
    return (b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16);
  }
  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  /** u64 as a number when ≤ 2^53-1, else bigint. */
  u64Number(): number | bigint {
    const v = this.u64();
    return v <= MAX_SAFE ? Number(v) : v;
  }
  i8(): number {
    this.#need(1);
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }
  i16(): number {
    this.#need(2);
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.#need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): bigint {
    this.#need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  f32(): number {
    this.#need(4);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Length-encoded integer; 0xfb → null (NULL marker); values > 2^53-1 as bigint; 0xff is invalid. */
  lenencInt(): number | bigint | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    switch (first) {
      case 0xfb:
        return null;
      case 0xfc:
        return this.u16();
      case 0xfd:
        return this.u24();
      case 0xfe:
        return this.u64Number();
      default:
        throw new ProtocolError('invalid length-encoded integer', { at: this.pos - 1, first });
    }
  }

  /** Length-encoded integer that must be a non-NULL safe number (lengths, counts). */
  lenencNumber(): number {
    const at = this.pos;
    const v = this.lenencInt();
    if (typeof v !== 'number') {
      throw new ProtocolError(v === null ? 'unexpected NULL length' : 'length too large', { at, value: v });
    }
    return v;
  }

  bytes(n: number): Buffer {
    this.#need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  lenencBytes(): Buffer | null {
    const at = this.pos;
    const n = this.lenencInt();
    if (n === null) return null;
    if (typeof n !== 'number') throw new ProtocolError('length too large', { at, value: n });
    return this.bytes(n);
  }

  /** Bytes up to (excluding) the next NUL; consumes the NUL. */
  nulBytes(): Buffer {
    const i = this.buf.indexOf(0, this.pos);
    if (i < 0 || i >= this.end) {
      throw new ProtocolError('missing NUL terminator', { at: this.pos, have: this.end - this.pos });
    }
    const b = this.buf.subarray(this.pos, i);
    this.pos = i + 1;
    return b;
  }

  nulStr(): string {
    return this.nulBytes().toString('utf8');
  }

  str(n: number): string {
    this.#need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  lenencStr(): string | null {
    const b = this.lenencBytes();
    return b === null ? null : b.toString('utf8');
  }

  rest(): Buffer {
    const b = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return b;
  }

  restStr(): string {
    const s = this.buf.toString('utf8', this.pos, this.end);
    this.pos = this.end;
    return s;
  }

  skip(n: number): void {
    this.#need(n);
    this.pos += n;
  }

  /** Throws unless the whole window was consumed (strict parsers). */
  expectEnd(what: string): void {
    if (this.pos !== this.end) {
      throw new ProtocolError(`trailing bytes after ${what}`, { at: this.pos, extra: this.end - this.pos });
    }
  }
}
