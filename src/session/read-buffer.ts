// One socket read buffer for a leg (net.Socket's `onread` option): the kernel copies into the same 64 KiB
// again and again instead of Node allocating (malloc + realloc) a fresh buffer per read, whose garbage
// also drives RSS up on a streaming result. A chunk is a view of the buffer, valid until the next read:
// a consumer that may still hold it afterwards (a socket write that did not flush at once, a framer that
// keeps partial packets, code unaware of all this) leaves the chunk kept, and the next read gets a fresh
// buffer. Only the relay's zero-copy path releases a chunk, after its write went out in full.
import type { Socket } from 'node:net';

const SIZE = 64 * 1024;

export class ReadBuffer {
  #buf = Buffer.allocUnsafe(SIZE);
  #released = false;

  /** `onread.buffer`: the buffer the next read lands in. */
  readonly next = (): Buffer => {
    if (!this.#released) this.#buf = Buffer.allocUnsafe(SIZE);
    this.#released = false;
    return this.#buf;
  };

  /** The consumer of the current chunk holds no reference to it any more: reuse the buffer. */
  release(): void {
    this.#released = true;
  }

  /** `onread` for `socket`: each chunk is emitted as a 'data' event, so stream code is unchanged. */
  onread(socket: () => Socket): { buffer: () => Buffer; callback: (n: number, buf: Buffer) => boolean } {
    return {
      buffer: this.next,
      callback: (n, buf) => {
        this.#released = false;
        socket().emit('data', buf.subarray(0, n));
        return true; // pausing is socket.pause()'s job, as with 'data'
      },
    };
  }
}
