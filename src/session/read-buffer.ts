// One socket read buffer for a leg (net.Socket's `onread` option): the kernel copies into the same 64 KiB
// again and again instead of Node allocating (malloc + realloc) a fresh buffer per read, whose garbage
// also drives RSS up on a streaming result.
// Chunks are copied out (exact size) unless the consumer opted into `lend`: then a chunk is a view of the
// buffer, valid until the next read. A lent chunk the consumer may still hold afterwards (a socket write
// that did not flush at once) leaves the buffer to it, and the next read gets a fresh one; the relay's
// zero-copy path calls release() after its write went out in full. Copying by default matters: a kept
// view pins the whole 64 KiB and counts as 64 KiB of external memory for V8, which then collects far
// too often (measured: masking sessions, which keep column-definition views, at twice the CPU per query).
import type { Socket } from 'node:net';

const SIZE = 64 * 1024;

export class ReadBuffer {
  #buf = Buffer.allocUnsafe(SIZE);
  #lent = false;
  /** Hand out views of the buffer (the consumer calls release() when done) instead of copies. */
  lend = false;

  /** `onread.buffer`: the buffer the next read lands in. */
  readonly next = (): Buffer => {
    if (this.#lent) this.#buf = Buffer.allocUnsafe(SIZE);
    this.#lent = false;
    return this.#buf;
  };

  /** The consumer of the current lent chunk holds no reference to it any more: reuse the buffer. */
  release(): void {
    this.#lent = false;
  }

  /** `onread` for `socket`: each chunk is emitted as a 'data' event, so stream code is unchanged. */
  onread(socket: () => Socket): { buffer: () => Buffer; callback: (n: number, buf: Buffer) => boolean } {
    return {
      buffer: this.next,
      callback: (n, buf) => {
        const view = buf.subarray(0, n);
        this.#lent = this.lend;
        socket().emit('data', this.lend ? view : Buffer.from(view));
        return true; // pausing is socket.pause()'s job, as with 'data'
      },
    };
  }
}
