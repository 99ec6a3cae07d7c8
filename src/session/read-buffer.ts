// Socket read buffers for the backend leg (net.Socket's `onread` option): the kernel copies into memory
// that is used again and again instead of Node allocating (malloc + realloc) a fresh buffer per read,
// whose garbage also drives RSS up on a streaming result.
// Chunks are copied out (exact size) unless the consumer opted into `lend`. Copied reads all land in one
// process-wide buffer (a read and its callback run back to back on the one JS thread, so no two reads
// ever share it), which keeps an idle connection free of a 64 KiB buffer of its own. In lend mode a
// connection gets its own buffer at its first read, and from then on a chunk is a view of it, valid
// until the next read: a lent chunk the consumer may still hold afterwards (a socket write that did not
// flush at once) leaves that buffer to it and the next read gets a fresh one; the relay's zero-copy path
// calls release() once its write went out in full. Copying by default matters: a kept view pins the
// whole 64 KiB and counts as 64 KiB of external memory for V8, which then collects far too often
// (measured: masking sessions, when they kept column-definition views, at twice the CPU per query).
import type { Socket } from 'node:net';

const SIZE = 64 * 1024;

/** Where every copied-out read lands. */
const SHARED = Buffer.allocUnsafe(SIZE);

export class ReadBuffer {
  #own: Buffer | null = null;
  #lent = false;
  /** Hand out views of a buffer of this connection's own (the consumer calls release()) instead of copies. */
  lend = false;

  /** `onread.buffer`: the buffer the next read lands in. */
  readonly next = (): Buffer => {
    if (!this.lend || this.#own === null) return SHARED;
    if (this.#lent) this.#own = Buffer.allocUnsafe(SIZE);
    this.#lent = false;
    return this.#own;
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
        // only our own buffer is ever lent (a read into SHARED just before lend mode began is copied);
        // once lent it stays lent until release(), even across copied reads while lending is off
        const lent = this.lend && buf === this.#own;
        if (lent) this.#lent = true;
        if (this.lend) this.#own ??= Buffer.allocUnsafe(SIZE);
        socket().emit('data', lent ? view : copy(view));
        return true; // pausing is socket.pause()'s job, as with 'data'
      },
    };
  }
}

/** An exact-size copy outside Node's 8 KiB allocation pool: a consumer may keep a small piece of a
 * handshake for the life of the connection, which must not pin a pool slab shared with others. */
function copy(view: Buffer): Buffer {
  const b = Buffer.allocUnsafeSlow(view.length);
  view.copy(b);
  return b;
}
