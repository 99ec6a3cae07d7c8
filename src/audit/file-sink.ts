// JSON Lines file sink. One batch = one Buffer = one write(2) (sonic-boom style). A kill -9 usually stops
// between batches, but Linux may also stop a write(2) to a regular file at a page boundary when SIGKILL
// arrives; that torn tail (like one from power loss or a full disk) has no '\n', so it is no line to a
// JSON Lines reader, and open() cuts it before anything is written after it: every line always parses. Rotation by size and by UTC day
// renames `x.jsonl` → `x.jsonl.1` → … → `x.jsonl.<keep>` (oldest deleted). fsync: every `fsync` ms when
// dirty; `fsync: 0` syncs before each write() resolves. write() calls are sequential (one driver).

import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Batch } from './queue.ts';
import type { AuditSink } from './sink.ts';

export interface FileRotateOptions {
  /** rotate before a write would make the file larger than this many bytes */
  readonly size?: number;
  /** old files kept (`.1` newest … `.<keep>` oldest); default 10; 0 keeps none */
  readonly keep?: number;
  /** rotate when the UTC date changes */
  readonly daily?: boolean;
}

export interface FileSinkOptions {
  readonly path: string;
  readonly rotate?: FileRotateOptions;
  /** ms between fdatasync calls (when something was written); 0: sync each batch; absent: never */
  readonly fsync?: number;
  readonly logger: Logger;
  /** clock (epoch ms), injectable for daily rotation tests */
  readonly now?: () => number;
}

const NL = 0x0a;
const NL_BUF = Buffer.from([NL]);

function utcDay(ms: number): number {
  return Math.floor(ms / 86_400_000);
}

/** What is left of `pieces` once their first `n` bytes are written (views, no copy). */
export function piecesAfter(pieces: readonly Buffer[], n: number): readonly Buffer[] {
  let i = 0;
  let skip = n;
  while (i < pieces.length && skip >= (pieces[i] as Buffer).length) skip -= (pieces[i++] as Buffer).length;
  if (i === pieces.length) return [];
  return [(pieces[i] as Buffer).subarray(skip), ...pieces.slice(i + 1)];
}

function isNoEnt(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}

export class FileSink implements AuditSink {
  readonly name: string;
  readonly #path: string;
  readonly #maxSize: number;
  readonly #keep: number;
  readonly #daily: boolean;
  readonly #fsyncMs: number | undefined;
  readonly #log: Logger;
  readonly #now: () => number;
  #fh: FileHandle | null = null;
  #size = 0;
  #day = 0;
  #dirty = false;
  #timer: NodeJS.Timeout | null = null;
  /** queue seq after the last line that reached the file: a retried batch skips what was written */
  #writtenThrough = -1;

  constructor(opts: FileSinkOptions) {
    this.name = `file:${opts.path}`;
    this.#path = opts.path;
    this.#maxSize = opts.rotate?.size ?? Infinity;
    this.#keep = opts.rotate?.keep ?? 10;
    this.#daily = opts.rotate?.daily ?? false;
    this.#fsyncMs = opts.fsync;
    this.#log = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true });
    await this.#openFile(true);
    if (this.#fsyncMs !== undefined && this.#fsyncMs > 0 && this.#timer === null) {
      this.#timer = setInterval(() => {
        this.flush().catch((e: unknown) => this.#log.warn({ err: String(e) }, 'audit file fsync failed'));
      }, this.#fsyncMs);
      this.#timer.unref();
    }
  }

  async write(batch: Batch): Promise<void> {
    // a retry after a partial write skips the lines that reached the file
    const from = this.#writtenThrough > batch.firstSeq ? Math.min(batch.count, this.#writtenThrough - batch.firstSeq) : 0;
    if (from >= batch.count) return;
    if (this.#fh === null) await this.#openFile(false);
    if (this.#daily && utcDay(this.#now()) !== this.#day) {
      if (this.#size > 0) await this.#rotate('day');
      else this.#day = utcDay(this.#now());
    }
    if (from === 0 && (this.#size + batch.bytes <= this.#maxSize || (this.#size === 0 && batch.count === 1))) {
      // hot path: the batch's bytes as the producers wrote them, one write
      await this.#append(batch.data);
      this.#writtenThrough = batch.firstSeq + batch.count;
    } else {
      await this.#writeSplit(batch, from);
    }
    if (this.#fsyncMs === 0) await this.flush();
  }

  async flush(): Promise<void> {
    const fh = this.#fh;
    if (fh === null || !this.#dirty) return;
    this.#dirty = false;
    try {
      await fh.datasync();
    } catch (e) {
      this.#dirty = true;
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
    const fh = this.#fh;
    this.#fh = null;
    if (fh !== null) await fh.close();
  }

  /** Slow path near the size limit (or a retry): fill the current file up to the limit line by line,
   * rotate, go on. A single line larger than the limit gets a file of its own. */
  async #writeSplit(batch: Batch, from: number): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkLen = 0;
    for (let i = from; i < batch.count; i++) {
      const line = batch.line(i);
      const len = line.length + 1;
      if (this.#size + chunkLen + len > this.#maxSize && this.#size + chunkLen > 0) {
        if (chunkLen > 0) await this.#append(chunk);
        this.#writtenThrough = batch.firstSeq + i;
        chunk = [];
        chunkLen = 0;
        await this.#rotate('size');
      }
      chunk.push(line, NL_BUF);
      chunkLen += len;
    }
    if (chunkLen > 0) await this.#append(chunk);
    this.#writtenThrough = batch.firstSeq + batch.count;
  }

  /** The pieces in order, with one writev(2) (no copy into one buffer); a short write goes on from where
   * it stopped. */
  async #append(pieces: readonly Buffer[]): Promise<void> {
    const fh = this.#fh;
    if (fh === null) throw new Error(`audit file ${this.#path} is not open`);
    let rest = pieces;
    while (rest.length > 0) {
      const { bytesWritten } = await fh.writev(rest as Buffer[]);
      this.#size += bytesWritten;
      this.#dirty = true;
      rest = piecesAfter(rest, bytesWritten);
    }
  }

  async #openFile(repair: boolean): Promise<void> {
    const fh = await open(this.#path, 'a+');
    try {
      const st = await fh.stat();
      this.#size = st.size;
      if (repair && st.size > 0) this.#size = await this.#repairTail(fh, st.size);
      this.#day = utcDay(this.#size > 0 ? st.mtimeMs : this.#now());
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.#fh = fh;
    // a file left from an earlier day is rotated before the first write of today (see write())
  }

  /** If the file does not end with '\n', cut back to the last '\n' (or to empty). Returns the size. */
  async #repairTail(fh: FileHandle, size: number): Promise<number> {
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === NL) return size;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    let keepTo = 0;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await fh.read(chunk, 0, end - start, start);
      const i = chunk.subarray(0, bytesRead).lastIndexOf(NL);
      if (i >= 0) {
        keepTo = start + i + 1;
        break;
      }
      end = start;
    }
    await fh.truncate(keepTo);
    this.#log.warn({ path: this.#path, cut_bytes: size - keepTo }, 'audit file ended with a partial line; cut it');
    return keepTo;
  }

  async #rotate(why: 'size' | 'day'): Promise<void> {
    const fh = this.#fh;
    if (fh !== null) {
      await this.flush();
      this.#fh = null;
      await fh.close();
    }
    if (this.#keep <= 0) {
      await unlink(this.#path).catch((e: unknown) => {
        if (!isNoEnt(e)) throw e;
      });
    } else {
      await unlink(`${this.#path}.${this.#keep}`).catch((e: unknown) => {
        if (!isNoEnt(e)) throw e;
      });
      for (let i = this.#keep - 1; i >= 1; i--) {
        await rename(`${this.#path}.${i}`, `${this.#path}.${i + 1}`).catch((e: unknown) => {
          if (!isNoEnt(e)) throw e;
        });
      }
      await rename(this.#path, `${this.#path}.1`);
    }
    this.#log.info({ path: this.#path, why, bytes: this.#size }, 'audit file rotated');
    await this.#openFile(false);
    this.#day = utcDay(this.#now());
  }
}
