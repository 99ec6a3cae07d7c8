// PacketWalker: finds packet boundaries in a byte stream by offsets, without copying or slicing, so the relay
// can forward each socket chunk unchanged (DESIGN §4 fast path). For every physical packet it hands the
// sink the packet's header fields and its first `headLimit` payload bytes, contiguous: in place when they
// sit inside one chunk (the common case, zero-copy and zero-allocation), else gathered once into a scratch
// buffer that is reused, so a sink must not keep `buf` past the call. Sans-I/O; hot path.
import { ProtocolError } from './errors.ts';

const MAX_PAYLOAD = 0xffffff;

export interface PacketSink {
  /**
   * One physical packet. `buf[off, off + headLen)` are its first payload bytes (headLen = min(length, headLimit)).
   * `continuation` is true when the previous packet was 0xFFFFFF bytes long, i.e. this one continues a
   * logical packet of 16 MiB or more (its content is not the start of a message).
   */
  onPacket(seq: number, length: number, buf: Buffer, off: number, headLen: number, continuation: boolean): boolean | void;
}

export class PacketWalker {
  readonly #sink: PacketSink;
  readonly #headLimit: number;
  readonly #maxPacket: number;
  readonly #hdr = Buffer.alloc(4);
  #hdrHave = 0;
  #bodyLeft = 0;
  readonly #scratch: Buffer;
  #headHave = 0;
  #headWant = 0;
  #seq = 0;
  #length = 0;
  #continuation = false;
  #prevWasMax = false;
  #logicalTotal = 0;
  #stopPending = false;

  constructor(sink: PacketSink, opts: { headLimit: number; maxPacket: number }) {
    this.#sink = sink;
    this.#headLimit = opts.headLimit;
    this.#maxPacket = opts.maxPacket;
    this.#scratch = Buffer.allocUnsafe(opts.headLimit);
  }

  /** Sequence id of the last packet header seen (for an ERR the gateway must number as the peer expects). */
  get lastSeq(): number {
    return this.#seq;
  }

  /**
   * True when the stream sits exactly between two logical packets: nothing of a packet half-read, and the
   * last packet was not 0xFFFFFF bytes long. After a 0xFFFFFF packet the next one is its continuation
   * (16 MiB and more), whose first payload byte is data, not a command or a response header: a chunk that
   * starts there must not be taken for a new command (e.g. 0x11 COM_CHANGE_USER, which the session
   * rewrites), and an ERR of our own written there would be read by the peer as the continuation.
   */
  atBoundary(): boolean {
    return this.#hdrHave === 0 && this.#bodyLeft === 0 && this.#headWant === 0 && !this.#prevWasMax;
  }

  /**
   * Walks a chunk. A sink returning `true` asks to stop right after that packet (the caller switches to
   * decoding the rest); walk then returns the offset in this chunk where the packet ended — possibly in a
   * later chunk, so the return is -1 (no stop) or the stop offset (≤ chunk.length).
   */
  // hot path
  walk(chunk: Buffer): number {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.#stopPending && this.#bodyLeft === 0 && this.#headWant === 0) {
        this.#stopPending = false;
        return pos;
      }
      if (this.#headWant > 0) {
        const n = Math.min(this.#headWant - this.#headHave, end - pos);
        chunk.copy(this.#scratch, this.#headHave, pos, pos + n);
        this.#headHave += n;
        this.#bodyLeft -= n;
        pos += n;
        if (this.#headHave === this.#headWant) {
          const want = this.#headWant;
          this.#headWant = 0;
          this.#headHave = 0;
          if (this.#sink.onPacket(this.#seq, this.#length, this.#scratch, 0, want, this.#continuation) === true) this.#stopPending = true;
        }
        continue;
      }
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, end - pos);
        this.#bodyLeft -= n;
        pos += n;
        continue;
      }
      // header
      let length: number;
      let seq: number;
      if (this.#hdrHave === 0 && end - pos >= 4) {
        length = chunk[pos]! | (chunk[pos + 1]! << 8) | (chunk[pos + 2]! << 16);
        seq = chunk[pos + 3]!;
        pos += 4;
      } else {
        const n = Math.min(4 - this.#hdrHave, end - pos);
        chunk.copy(this.#hdr, this.#hdrHave, pos, pos + n);
        this.#hdrHave += n;
        pos += n;
        if (this.#hdrHave < 4) return -1;
        this.#hdrHave = 0;
        length = this.#hdr[0]! | (this.#hdr[1]! << 8) | (this.#hdr[2]! << 16);
        seq = this.#hdr[3]!;
      }
      this.#startPacket(length, seq);
      const want = length < this.#headLimit ? length : this.#headLimit;
      if (end - pos >= want) {
        this.#bodyLeft = length - want;
        pos += want;
        if (this.#sink.onPacket(seq, length, chunk, pos - want, want, this.#continuation) === true) this.#stopPending = true;
      } else {
        this.#bodyLeft = length;
        this.#headWant = want;
      }
    }
    if (this.#stopPending && this.#bodyLeft === 0 && this.#headWant === 0) {
      this.#stopPending = false;
      return end;
    }
    return -1;
  }

  #startPacket(length: number, seq: number): void {
    this.#continuation = this.#prevWasMax;
    this.#logicalTotal = this.#continuation ? this.#logicalTotal + length : length;
    // checked on the header, before anything is buffered (a lying length cannot make us allocate)
    if (this.#logicalTotal > this.#maxPacket) {
      throw new ProtocolError('packet too large', { length: this.#logicalTotal, max: this.#maxPacket });
    }
    this.#prevWasMax = length === MAX_PAYLOAD;
    this.#length = length;
    this.#seq = seq;
  }
}
