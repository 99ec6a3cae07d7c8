// Writer: growable little-endian payload builder. It reserves 4 bytes in front so finish(seq)
// can backfill the packet header without a copy. payload()/finish() hand out a view and then
// DROP the internal buffer (the view may still be queued in a socket), so one Writer can be
// reused as a scratch encoder: the next write starts a fresh allocation.

import { ProtocolError } from './errors.ts';
import { MAX_PAYLOAD } from './constants.ts';
import { encodePacket } from './packet.ts';

const HEADER = 4;
const EMPTY = Buffer.alloc(0);

export class Writer {
  #buf: Buffer;
  #pos = HEADER;
  readonly #initial: number;

  constructor(initial = 256) {
    this.#initial = Math.max(16, initial);
    this.#buf = Buffer.allocUnsafe(this.#initial + HEADER);
  }

  /** Payload bytes written so far. */
  get length(): number {
    return this.#pos - HEADER;
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    if (this.#buf.length === 0) {
      this.#buf = Buffer.allocUnsafe(Math.max(this.#initial + HEADER, need));
      return;
    }
    const next = Buffer.allocUnsafe(Math.max(need, Math.floor(this.#buf.length * 1.5)));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.#ensure(2);
    this.#pos = this.#buf.writeUInt16LE(v, this.#pos);
    return this;
  }
  u24(v: number): this {
    this.#ensure(3);
    this.#pos = this.#buf.writeUIntLE(v, this.#pos, 3);
    return this;
  }
  u32(v: number): this {
    this.#ensure(4);
    this.#pos = this.#buf.writeUInt32LE(v >>> 0, this.#pos); // >>> 0: caps built with 1 << 31 are negative
    return this;
  }
  u64(v: bigint | number): this {
    this.#ensure(8);
    this.#pos = this.#buf.writeBigUInt64LE(BigInt(v), this.#pos);
    return this;
  }
  i8(v: number): this {
    this.#ensure(1);
    this.#pos = this.#buf.writeInt8(v, this.#pos);
    return this;
  }
  i16(v: number): this {
    this.#ensure(2);
    this.#pos = this.#buf.writeInt16LE(v, this.#pos);
    return this;
  }
  i32(v: number): this {
    this.#ensure(4);
    this.#pos = this.#buf.writeInt32LE(v, this.#pos);
    return this;
  }
  i64(v: bigint | number): this {
    this.#ensure(8);
    this.#pos = this.#buf.writeBigInt64LE(BigInt(v), this.#pos);
    return this;
  }
  f32(v: number): this {
    this.#ensure(4);
    this.#pos = this.#buf.writeFloatLE(v, this.#pos);
    return this;
  }
  f64(v: number): this {
    this.#ensure(8);
    this.#pos = this.#buf.writeDoubleLE(v, this.#pos);
    return this;
  }

  /** Canonical length-encoded integer (<0xfb: 1 byte, ≤0xffff: 0xfc, ≤0xffffff: 0xfd, else 0xfe + 8). */
  lenencInt(n: number | bigint): this {
    if (typeof n === 'bigint') {
      if (n < 0n || n > 0xffffffffffffffffn) throw new ProtocolError('lenenc out of range', { value: n });
      if (n <= 0xffffffn) return this.lenencInt(Number(n));
      this.u8(0xfe);
      return this.u64(n);
    }
    if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) {
      throw new ProtocolError('lenenc out of range', { value: n });
    }
    if (n < 0xfb) return this.u8(n);
    if (n <= 0xffff) return this.u8(0xfc).u16(n);
    if (n <= 0xffffff) return this.u8(0xfd).u24(n);
    return this.u8(0xfe).u64(n);
  }

  /** The NULL marker 0xfb (text rows). Kept apart from lenencInt on purpose. */
  writeNull(): this {
    return this.u8(0xfb);
  }

  bytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  lenencBytes(b: Uint8Array): this {
    return this.lenencInt(b.length).bytes(b);
  }

  lenencStr(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.lenencInt(n);
    this.#ensure(n);
    this.#pos += this.#buf.write(s, this.#pos, n, 'utf8');
    return this;
  }

  /** String + NUL terminator. The string must not contain NUL (it would end the field early). */
  nulStr(s: string): this {
    if (s.includes('\0')) throw new ProtocolError('NUL inside NUL-terminated string');
    return this.str(s).u8(0);
  }

  str(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.#ensure(n);
    this.#pos += this.#buf.write(s, this.#pos, n, 'utf8');
    return this;
  }

  zeros(n: number): this {
    this.#ensure(n);
    this.#buf.fill(0, this.#pos, this.#pos + n);
    this.#pos += n;
    return this;
  }

  /** The payload written; the Writer then forgets its buffer (the view stays valid for the caller). */
  payload(): Buffer {
    const out = this.#buf.subarray(HEADER, this.#pos);
    this.#reset();
    return out;
  }

  /** Payload framed as packet(s) with sequence id `seq`; header backfilled in place when it fits one packet. */
  finish(seq: number): Buffer {
    const len = this.#pos - HEADER;
    if (len >= MAX_PAYLOAD) return encodePacket(this.payload(), seq);
    const b = this.#buf;
    b[0] = len & 0xff;
    b[1] = (len >> 8) & 0xff;
    b[2] = (len >> 16) & 0xff;
    b[3] = seq & 0xff;
    const out = b.subarray(0, this.#pos);
    this.#reset();
    return out;
  }

  #reset(): void {
    // Drop, don't rewind: the returned view may still be queued in a socket.
    this.#buf = EMPTY;
    this.#pos = HEADER;
  }
}
