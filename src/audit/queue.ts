// Bounded fan-out queue between sessions (producers) and sink drivers (consumers). Events are
// serialized once at enqueue and kept in one ring shared by every sink; each sink has its own cursor,
// so a stalled sink holds events (for itself only) until the ring is full by count or by bytes, and
// only then does `when_full` apply: `block` parks producers in FIFO order (so enqueue order, hence
// per-connection order, is kept), `drop` refuses the event and counts it. Nothing here does I/O.

import { serializeEvent, type AuditEvent } from './events.ts';

export type WhenFull = 'block' | 'drop';

export interface AuditQueueOptions {
  /** maximum number of events held (not yet written by the slowest sink) */
  readonly capacity: number;
  /** maximum UTF-16 code units of serialized lines held (≈ bytes for ASCII SQL); default 64 Mi */
  readonly maxBytes?: number;
  readonly whenFull: WhenFull;
  /** called once per refused event (drop mode, or after close) */
  readonly onDrop?: () => void;
}

/** A run of consecutive events for one consumer. `firstSeq` numbers them (per queue, from 0) so a
 * sink can derive retry-stable ids; `conns[i]` is the connection id of `lines[i]`. */
export interface Batch {
  readonly lines: readonly string[];
  readonly conns: readonly number[];
  readonly firstSeq: number;
  readonly chars: number;
}

interface Consumer {
  readonly name: string;
  cursor: number;
  wake: (() => void) | null;
}

interface Waiter {
  readonly line: string;
  readonly conn: number;
  readonly resolve: () => void;
}

export class AuditQueue {
  readonly #capacity: number;
  readonly #maxBytes: number;
  readonly #whenFull: WhenFull;
  readonly #onDrop: (() => void) | undefined;
  readonly #lines: string[];
  readonly #conns: number[];
  readonly #consumers: Consumer[] = [];
  #head = 0; // seq of the next event
  #tail = 0; // seq of the oldest event still held (= min cursor)
  #chars = 0;
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
    this.#lines = new Array<string>(opts.capacity).fill('');
    this.#conns = new Array<number>(opts.capacity).fill(0);
  }

  /** Register a sink. Consumers added later start at the head (they do not see older events). */
  addConsumer(name: string): number {
    this.#consumers.push({ name, cursor: this.#head, wake: null });
    return this.#consumers.length - 1;
  }

  /** events held (written by no sink yet or by only some) plus producers parked in block mode */
  get depth(): number {
    return this.#head - this.#tail + (this.#waiters.length - this.#waiterStart);
  }

  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** `true`: accepted. `false`: refused (drop mode and full, or closed) and counted.
   * A Promise (block mode and full): resolves when accepted; the caller must stop reading from its
   * client until then, which is what propagates back-pressure to the client. */
  enqueue(e: AuditEvent): true | false | Promise<void> {
    return this.enqueueLine(serializeEvent(e), e.conn);
  }

  enqueueLine(line: string, conn: number): true | false | Promise<void> {
    if (this.#closed) return this.#drop();
    if (this.#consumers.length === 0) {
      // nobody to deliver to: accepted and immediately delivered everywhere
      this.#head++;
      this.#tail = this.#head;
      return true;
    }
    // While producers are parked, later events queue behind them: order is never overtaken.
    if (this.#waiterStart === this.#waiters.length && this.#hasRoom(line.length)) {
      this.#push(line, conn);
      return true;
    }
    if (this.#whenFull === 'drop') return this.#drop();
    return new Promise<void>((resolve) => {
      this.#waiters.push({ line, conn, resolve });
    });
  }

  /** Up to `maxEvents` events (and about `maxChars`, at least one event) after the consumer's cursor,
   * or null when it is caught up. Does not advance: call ack() after the sink made them durable. */
  peek(consumer: number, maxEvents: number, maxChars = Infinity): Batch | null {
    const c = this.#consumer(consumer);
    const avail = this.#head - c.cursor;
    if (avail === 0) return null;
    const n0 = Math.min(avail, maxEvents);
    const lines: string[] = [];
    const conns: number[] = [];
    let chars = 0;
    for (let i = 0; i < n0; i++) {
      const idx = (c.cursor + i) % this.#capacity;
      const line = this.#lines[idx] as string;
      if (i > 0 && chars + line.length > maxChars) break;
      lines.push(line);
      conns.push(this.#conns[idx] as number);
      chars += line.length;
    }
    return { lines, conns, firstSeq: c.cursor, chars };
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

  #hasRoom(chars: number): boolean {
    const held = this.#head - this.#tail;
    if (held >= this.#capacity) return false;
    // a line larger than the byte bound is still admitted into an empty queue, or it would wait forever
    return held === 0 || this.#chars + chars <= this.#maxBytes;
  }

  #push(line: string, conn: number): void {
    const idx = this.#head % this.#capacity;
    this.#lines[idx] = line;
    this.#conns[idx] = conn;
    this.#chars += line.length;
    this.#head++;
    for (const c of this.#consumers) if (c.wake !== null) this.#wakeOne(c);
  }

  #wakeOne(c: Consumer): void {
    const w = c.wake;
    c.wake = null;
    if (w !== null) w();
  }

  #drop(): false {
    this.#dropped++;
    this.#onDrop?.();
    return false;
  }

  #release(): void {
    let min = this.#head;
    for (const c of this.#consumers) if (c.cursor < min) min = c.cursor;
    while (this.#tail < min) {
      const idx = this.#tail % this.#capacity;
      this.#chars -= (this.#lines[idx] as string).length;
      this.#lines[idx] = ''; // let the string be collected
      this.#tail++;
    }
    while (this.#waiterStart < this.#waiters.length) {
      const w = this.#waiters[this.#waiterStart] as Waiter;
      if (!this.#hasRoom(w.line.length)) break;
      this.#waiterStart++;
      this.#push(w.line, w.conn);
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
