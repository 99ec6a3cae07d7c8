// stdout sink: JSON Lines on process.stdout (or any Writable, for tests). write() resolves once the
// stream accepted the batch and, when it signalled back-pressure (write() → false), only after
// 'drain', so a slow pipe reader slows the driver, which lets the bounded queue apply `when_full`.

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Batch } from './queue.ts';
import type { AuditSink } from './sink.ts';

export class StdoutSink implements AuditSink {
  readonly name: string;
  readonly #out: Writable;

  constructor(out: Writable = process.stdout, name = 'stdout') {
    this.#out = out;
    this.name = name;
  }

  async open(): Promise<void> {}

  async write(batch: Batch): Promise<void> {
    if (this.#out.destroyed) throw new Error(`${this.name} is closed`);
    // the views may stay queued in the stream: the queue never reuses a chunk's memory
    let ok = true;
    for (const piece of batch.data) ok = this.#out.write(piece);
    if (!ok) await this.#drain();
  }

  async flush(): Promise<void> {
    if (this.#out.writableNeedDrain) await this.#drain();
  }

  async close(): Promise<void> {
    await this.flush(); // never end() process.stdout: the rest of the process may still log to it
  }

  async #drain(): Promise<void> {
    // 'error' rejects: the driver retries the batch (duplicates possible, never a silent loss)
    await once(this.#out, 'drain');
  }
}
