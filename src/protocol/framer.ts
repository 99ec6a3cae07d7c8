// Framer: turns an arbitrary chunking of a byte stream into logical packets (Frames).
// push() does the work eagerly: a packet inside one chunk becomes a zero-copy view; a packet that
// straddles chunks gets one exact-size buffer that is filled as chunks arrive (each byte copied
// once, no chunk retained); 0xFFFFFF-byte packets are collected as continuation parts. maxPacket is
// checked on each header before any payload is buffered. push() never throws: an error is kept and
// thrown by next() once the frames before it have been handed out (sticky; later input is dropped).

import { ProtocolError } from './errors.ts';
import { MAX_PAYLOAD } from './constants.ts';

export interface Frame {
  /** Sequence id of the first physical packet. */
  seq: number;
  /** Physical packets (>1 only for payloads ≥ 0xFFFFFF). Next expected seq = (seq + nPackets) & 0xff. */
  nPackets: number;
  /** Total payload bytes. */
  length: number;
  /** Payload pieces, one per physical packet, headers excluded (views into the input when possible). */
  parts: Buffer[];
  /** Contiguous payload: concatenated once and cached; zero-copy when there is one part. */
  payload(): Buffer;
}

class FrameImpl implements Frame {
  #whole: Buffer | null = null;
  constructor(
    readonly seq: number,
    readonly nPackets: number,
    readonly length: number,
    readonly parts: Buffer[],
  ) {}
  payload(): Buffer {
    if (this.#whole === null) {
      this.#whole = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.length);
    }
    return this.#whole;
  }
}

export function makeFrame(seq: number, parts: Buffer[]): Frame {
  let length = 0;
  for (const p of parts) length += p.length;
  return new FrameImpl(seq, parts.length, length, parts);
}

export interface FramerOptions {
  /** Largest logical payload accepted (default 1 GiB, MariaDB's max_allowed_packet ceiling). */
  maxPacket?: number;
}

const DEFAULT_MAX = 1024 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export class Framer {
  readonly #max: number;
  // ready frames, consumed from #readyHead
  #ready: Frame[] = [];
  #readyHead = 0;
  // partial header (< 4 bytes seen)
  readonly #hdr = Buffer.alloc(4);
  #hdrLen = 0;
  // physical packet payload being filled across chunks
  #partial: Buffer | null = null;
  #partialFilled = 0;
  #partialSeq = 0;
  // continuation in progress (after a 0xFFFFFF-byte packet)
  #contParts: Buffer[] | null = null;
  #contSeq0 = 0;
  #contLastSeq = 0;
  #contLength = 0;
  #error: ProtocolError | null = null;
  #pushed = 0;
  #returned = 0;

  constructor(opts?: FramerOptions) {
    this.#max = opts?.maxPacket ?? DEFAULT_MAX;
  }

  /** Raw bytes pushed but not yet returned inside a frame (headers included). */
  pending(): number {
    return this.#pushed - this.#returned;
  }

  /** Next complete logical packet, or null when more bytes are needed. Throws the sticky error after the good frames. */
  next(): Frame | null {
    if (this.#readyHead < this.#ready.length) {
      const f = this.#ready[this.#readyHead++] as Frame;
      if (this.#readyHead === this.#ready.length) {
        this.#ready = [];
        this.#readyHead = 0;
      }
      this.#returned += f.length + 4 * f.nPackets;
      return f;
    }
    if (this.#error !== null) throw this.#error;
    return null;
  }

  // hot path
  push(chunk: Buffer): void {
    if (this.#error !== null) return;
    this.#pushed += chunk.length;
    let off = 0;
    const end = chunk.length;
    while (off < end) {
      if (this.#partial !== null) {
        const p = this.#partial;
        const n = Math.min(p.length - this.#partialFilled, end - off);
        chunk.copy(p, this.#partialFilled, off, off + n);
        this.#partialFilled += n;
        off += n;
        if (this.#partialFilled < p.length) return;
        this.#partial = null;
        this.#physical(p, this.#partialSeq);
        continue;
      }
      let length: number;
      let seq: number;
      if (this.#hdrLen > 0 || end - off < 4) {
        const n = Math.min(4 - this.#hdrLen, end - off);
        chunk.copy(this.#hdr, this.#hdrLen, off, off + n);
        this.#hdrLen += n;
        off += n;
        if (this.#hdrLen < 4) return;
        this.#hdrLen = 0;
        const h = this.#hdr;
        length = (h[0] as number) | ((h[1] as number) << 8) | ((h[2] as number) << 16);
        seq = h[3] as number;
      } else {
        length = (chunk[off] as number) | ((chunk[off + 1] as number) << 8) | ((chunk[off + 2] as number) << 16);
        seq = chunk[off + 3] as number;
        off += 4;
      }
      if (!this.#checkHeader(length, seq)) return;
      if (end - off >= length) {
        // zero-copy: the whole physical packet is inside this chunk
        this.#physical(length === 0 ? EMPTY : chunk.subarray(off, off + length), seq);
        off += length;
      } else {
        this.#partial = Buffer.allocUnsafe(length);
        this.#partialFilled = 0;
        this.#partialSeq = seq;
      }
    }
  }

  #checkHeader(length: number, seq: number): boolean {
    if (this.#contParts !== null) {
      const expected = (this.#contLastSeq + 1) & 0xff;
      if (seq !== expected) {
        this.#fail(new ProtocolError('packet out of order', { expected, got: seq }));
        return false;
      }
      if (this.#contLength + length > this.#max) {
        this.#fail(new ProtocolError('packet too large', { length: this.#contLength + length, max: this.#max }));
        return false;
      }
    } else if (length > this.#max) {
      this.#fail(new ProtocolError('packet too large', { length, max: this.#max }));
      return false;
    }
    return true;
  }

  #fail(e: ProtocolError): void {
    this.#error = e;
    this.#partial = null;
    this.#contParts = null;
  }

  #physical(payload: Buffer, seq: number): void {
    if (this.#contParts === null) {
      if (payload.length < MAX_PAYLOAD) {
        this.#ready.push(new FrameImpl(seq, 1, payload.length, [payload]));
        return;
      }
      this.#contParts = [payload];
      this.#contSeq0 = seq;
      this.#contLastSeq = seq;
      this.#contLength = payload.length;
      return;
    }
    this.#contParts.push(payload);
    this.#contLastSeq = seq;
    this.#contLength += payload.length;
    if (payload.length < MAX_PAYLOAD) {
      const parts = this.#contParts;
      this.#contParts = null;
      this.#ready.push(new FrameImpl(this.#contSeq0, parts.length, this.#contLength, parts));
    }
  }
}
