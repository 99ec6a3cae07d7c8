// Bounded fan-out queue between sessions (producers) and sink drivers (consumers). Events arrive
// serialized (JSON Lines in chunks, see LineChunk) and are kept in one ring shared by every sink; each
// sink has its own cursor, so a stalled sink holds events (for itself only) until the ring is full by
// count or by bytes, and only then does `when_full` apply: `block` parks producers in FIFO order (so
// enqueue order, hence per-connection order, is kept), `drop` refuses events and counts them. Nothing
// here does I/O.

import { serializeEvent, type AuditEvent } from './events.ts';

export type WhenFull = 'block' | 'drop';

export interface AuditQueueOptions {
  /** maximum number of events held (not yet written by the slowest sink) */
  readonly capacity: number;
  /** maximum bytes of serialized lines held; default 64 MiB */
  readonly maxBytes?: number;
  readonly whenFull: WhenFull;
  /** called with the number of events refused (drop mode, or after close) */
  readonly onDrop?: (n: number) => void;
}

/**
 * Events serialized into one Buffer by their producer (a batch of statements, or one event): line i is
 * `buf[ends[i - 1] ?? 0, ends[i])` and ends with '\n'. The queue keeps offsets into it, never a copy
 * or a string per event: per-event strings and their garbage were most of the audit's cost.
 */
export interface LineChunk {
  readonly buf: Buffer;
  readonly ends: readonly number[];
  /** connection id of each line (`conn` of the event) */
  readonly conns: readonly number[];
}

/** A chunk of one line (`line` without its '\n'). */
export function lineChunk(line: string, conn: number): LineChunk {
  const buf = Buffer.from(`${line}\n`, 'utf8');
  return { buf, ends: [buf.length], conns: [conn] };
}

/** A run of consecutive events for one consumer, as JSON Lines. `firstSeq` numbers them (per queue,
 * from 0) so a sink can derive retry-stable ids. Valid until the consumer acks it: `line()` and `conn()`
 * read the queue's ring (a batch costs no per-event arrays); the Buffers they return stay valid. */
export interface Batch {
  readonly count: number;
  readonly firstSeq: number;
  /** bytes of all lines, '\n' included */
  readonly bytes: number;
  /** the batch's JSON Lines bytes ('\n' after each event) in as few pieces as they are stored: views, no copy */
  readonly data: readonly Buffer[];
  /** event i's connection id */
  conn(i: number): number;
  /** event i's line without its '\n' (a view) */
  line(i: number): Buffer;
}

interface Consumer {
  readonly name: string;
  cursor: number;
  wake: (() => void) | null;
}

/** A producer parked in block mode: the events of `chunk` from `next` on are not admitted yet. */
interface Waiter {
  readonly chunk: LineChunk;
  next: number;
  readonly resolve: () => void;
}

export class AuditQueue {
  readonly #capacity: number;
  readonly #maxBytes: number;
  readonly #whenFull: WhenFull;
  readonly #onDrop: ((n: number) => void) | undefined;
  // one slot per event: the chunk that holds it and where (parallel arrays: no object per event)
  readonly #bufs: Array<Buffer | null>;
  readonly #starts: Uint32Array;
  readonly #ends: Uint32Array;
  readonly #conns: Float64Array;
  readonly #consumers: Consumer[] = [];
  #head = 0; // seq of the next event
  #tail = 0; // seq of the oldest event still held (= min cursor)
  #bytes = 0;
  #waiters: Waiter[] = [];
  #waiterStart = 0;
  #closed = false;
  #dropped = 0;

  constructor(opts: AuditQueueOptions) {
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw new RangeError('audit queue capacity must be ≥ 1');
    this.#capacity = opts.capacity;
    this.#maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.#whenFull = opts.whenFull;
    this.#onDrop = opts.onDrop;
    this.#bufs = new Array<Buffer | null>(opts.capacity).fill(null);
    this.#starts = new Uint32Array(opts.capacity);
    this.#ends = new Uint32Array(opts.capacity);
    this.#conns = new Float64Array(opts.capacity);
  }

  /** Register a sink. Consumers added later start at the head (they do not see older events). */
  addConsumer(name: string): number {
    this.#consumers.push({ name, cursor: this.#head, wake: null });
    return this.#consumers.length - 1;
  }

  /** events held (written by no sink yet or by only some) plus events of producers parked in block mode */
  get depth(): number {
    let parked = 0;
    for (let i = this.#waiterStart; i < this.#waiters.length; i++) {
      const w = this.#waiters[i] as Waiter;
      parked += w.chunk.ends.length - w.next;
    }
    return this.#head - this.#tail + parked;
  }

  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** One event, serialized here (connection and admin events; statements come in chunks). */
  enqueue(e: AuditEvent): true | false | Promise<void> {
    return this.enqueueChunk(lineChunk(serializeEvent(e), e.conn));
  }

  /** `true`: every event accepted. `false`: some refused (drop mode and full, or closed) and counted.
   * A Promise (block mode and full): resolves when all are accepted; the caller must stop reading from
   * its client until then, which is what propagates back-pressure to the client. */
  enqueueChunk(chunk: LineChunk): true | false | Promise<void> {
    const n = chunk.ends.length;
    if (this.#closed) return this.#drop(n);
    if (this.#consumers.length === 0) {
      // nobody to deliver to: accepted and immediately delivered everywhere
      this.#head += n;
      this.#tail = this.#head;
      return true;
    }
    // While producers are parked, later events queue behind them: order is never overtaken.
    let i = 0;
    if (this.#waiterStart === this.#waiters.length) i = this.#admit(chunk, 0);
    if (i === n) return true;
    if (this.#whenFull === 'drop') return this.#drop(n - i);
    return new Promise<void>((resolve) => {
      this.#waiters.push({ chunk, next: i, resolve });
    });
  }

  /** Up to `maxEvents` events (and about `maxBytes`, at least one event) after the consumer's cursor,
   * or null when it is caught up. Does not advance: call ack() after the sink made them durable. */
  peek(consumer: number, maxEvents: number, maxBytes = Infinity): Batch | null {
    const c = this.#consumer(consumer);
    const avail = this.#head - c.cursor;
    if (avail === 0) return null;
    const n0 = Math.min(avail, maxEvents);
    const data: Buffer[] = [];
    let bytes = 0;
    let count = 0;
    // contiguous lines of one chunk become one view
    let runBuf: Buffer | null = null;
    let runStart = 0;
    let runEnd = 0;
    for (let i = 0; i < n0; i++) {
      const idx = (c.cursor + i) % this.#capacity;
      const buf = this.#bufs[idx] as Buffer;
      const start = this.#starts[idx] as number;
      const end = this.#ends[idx] as number;
      if (i > 0 && bytes + end - start > maxBytes) break;
      count++;
      bytes += end - start;
      if (buf === runBuf && start === runEnd) {
        runEnd = end;
      } else {
        if (runBuf !== null) data.push(runBuf.subarray(runStart, runEnd));
        runBuf = buf;
        runStart = start;
        runEnd = end;
      }
    }
    if (runBuf !== null) data.push(runBuf.subarray(runStart, runEnd));
    const first = c.cursor;
    const slot = (i: number): number => {
      if (!(i >= 0 && i < count)) throw new RangeError(`audit batch has no event ${i} (count ${count})`);
      if (c.cursor !== first) throw new Error('audit batch read after its consumer acked it');
      return (first + i) % this.#capacity;
    };
    return {
      count,
      firstSeq: first,
      bytes,
      data,
      conn: (i) => this.#conns[slot(i)] as number,
      line: (i) => {
        const idx = slot(i);
        return (this.#bufs[idx] as Buffer).subarray(this.#starts[idx], (this.#ends[idx] as number) - 1);
      },
    };
  }

  /** The consumer durably handled `n` more events: advance it, free what every consumer is done
   * with, and admit parked producers into the freed room. */
  ack(consumer: number, n: number): void {
    const c = this.#consumer(consumer);
    if (n < 0 || c.cursor + n > this.#head) throw new RangeError(`ack of ${n} events beyond the head for sink ${c.name}`);
    c.cursor += n;
    this.#release();
  }

  /** events this consumer has not handled yet */
  pending(consumer: number): number {
    return this.#head - this.#consumer(consumer).cursor;
  }

  /** Resolves when the consumer has something to read, or on close(). It does not resolve at once
   * merely because the queue is closed (a caught-up consumer would spin while producers are parked). */
  readable(consumer: number): Promise<void> {
    const c = this.#consumer(consumer);
    if (this.#head > c.cursor) return Promise.resolve();
    return new Promise<void>((resolve) => {
      c.wake = resolve;
    });
  }

  /** Refuse new events (they are counted as dropped); parked producers stay parked until sinks make
   * room, so a graceful shutdown still delivers them. Wakes idle consumers so they can finish. */
  close(): void {
    this.#closed = true;
    for (const c of this.#consumers) this.#wakeOne(c);
  }

  /** Give up on a consumer (its sink is being abandoned at shutdown): its events no longer pin the ring. */
  detach(consumer: number): void {
    const c = this.#consumer(consumer);
    c.cursor = this.#head;
    this.#wakeOne(c);
    this.#release();
  }

  /** Events enqueue() would accept right now by count (the byte bound aside): 0 while producers are parked. */
  get room(): number {
    if (this.#closed || this.#waiterStart < this.#waiters.length) return 0;
    return this.#consumers.length === 0 ? Infinity : this.#capacity - (this.#head - this.#tail);
  }

  /** producers still parked (block mode); they resolve only when room appears */
  get parked(): number {
    return this.#waiters.length - this.#waiterStart;
  }

  #consumer(id: number): Consumer {
    const c = this.#consumers[id];
    if (c === undefined) throw new RangeError(`unknown audit queue consumer ${id}`);
    return c;
  }

  #hasRoom(bytes: number): boolean {
    const held = this.#head - this.#tail;
    if (held >= this.#capacity) return false;
    // a line larger than the byte bound is still admitted into an empty queue, or it would wait forever
    return held === 0 || this.#bytes + bytes <= this.#maxBytes;
  }

  /** Admits the events of `chunk` from `from` on while there is room; returns the index of the first one left. */
  #admit(chunk: LineChunk, from: number): number {
    const n = chunk.ends.length;
    let i = from;
    for (; i < n; i++) {
      const start = i === 0 ? 0 : (chunk.ends[i - 1] as number);
      const end = chunk.ends[i] as number;
      if (!this.#hasRoom(end - start)) break;
      const idx = this.#head % this.#capacity;
      this.#bufs[idx] = chunk.buf;
      this.#starts[idx] = start;
      this.#ends[idx] = end;
      this.#conns[idx] = chunk.conns[i] as number;
      this.#bytes += end - start;
      this.#head++;
    }
    if (i > from) for (const c of this.#consumers) if (c.wake !== null) this.#wakeOne(c);
    return i;
  }

  #wakeOne(c: Consumer): void {
    const w = c.wake;
    c.wake = null;
    if (w !== null) w();
  }

  #drop(n: number): false {
    this.#dropped += n;
    this.#onDrop?.(n);
    return false;
  }

  #release(): void {
    let min = this.#head;
    for (const c of this.#consumers) if (c.cursor < min) min = c.cursor;
    while (this.#tail < min) {
      const idx = this.#tail % this.#capacity;
      this.#bytes -= (this.#ends[idx] as number) - (this.#starts[idx] as number);
      this.#bufs[idx] = null; // let the chunk be collected once all of its events are gone
      this.#tail++;
    }
    while (this.#waiterStart < this.#waiters.length) {
      const w = this.#waiters[this.#waiterStart] as Waiter;
      w.next = this.#admit(w.chunk, w.next);
      if (w.next < w.chunk.ends.length) break;
      this.#waiterStart++;
      w.resolve();
    }
    if (this.#waiterStart > 1024 && this.#waiterStart * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#waiterStart);
      this.#waiterStart = 0;
    } else if (this.#waiterStart === this.#waiters.length && this.#waiterStart > 0) {
      this.#waiters = [];
      this.#waiterStart = 0;
    }
  }
}
