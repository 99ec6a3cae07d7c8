// One driver loop per sink: open (retrying), then take batches from the queue at the sink's own pace,
// write, and only after the write resolved ack them in the queue. A failed write is retried with the
// same batch after a jittered exponential back-off (100 ms → 10 s), so nothing is lost or reordered:
// at worst a batch is written twice (file/syslog) or de-duplicated by its ids (NATS msgID).

import type { Logger } from 'pino';
import type { AuditQueue } from './queue.ts';
import { backoffDelay, errorMessage, type AuditSink } from './sink.ts';

export interface SinkHealth {
  readonly sink: string;
  readonly up: boolean;
  /** events this sink still has to write */
  readonly pending: number;
  readonly written: number;
  readonly errors: number;
  readonly lastError: string | null;
}

export interface SinkDriverHooks {
  onWritten(sink: string, n: number): void;
  onError(sink: string): void;
}

export interface SinkDriverOptions {
  readonly maxBatchEvents?: number;
  readonly maxBatchBytes?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /**
   * ms to let events gather after the queue turns readable and after each write that did not take a full
   * batch, so a sink writes batches, not single events (one fs write / publish per event costs more than
   * the event; sonic-boom's minLength idea). At most one write per linger period unless batches are full.
   * Default 0: the producers already hand over batches (statements every 20 ms, see session/audit-hooks.ts),
   * and each linger timer wakes the event loop once more per batch (measured: ~2 µs of relay CPU per query
   * at 4,000 q/s). A sink fed event by event would want a few ms.
   */
  readonly lingerMs?: number;
}

export class SinkDriver {
  readonly sink: AuditSink;
  readonly #queue: AuditQueue;
  readonly #consumer: number;
  readonly #log: Logger;
  readonly #hooks: SinkDriverHooks;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #lingerMs: number;
  #up = false;
  #stopped = false;
  #written = 0;
  #errors = 0;
  #lastError: string | null = null;
  #sleepTimer: NodeJS.Timeout | null = null;
  #sleepWake: (() => void) | null = null;
  /** settles when the loop has ended (queue closed and drained, or stop()) */
  readonly done: Promise<void>;

  constructor(sink: AuditSink, queue: AuditQueue, log: Logger, hooks: SinkDriverHooks, opts: SinkDriverOptions = {}) {
    this.sink = sink;
    this.#queue = queue;
    this.#consumer = queue.addConsumer(sink.name);
    this.#log = log.child({ sink: sink.name });
    this.#hooks = hooks;
    this.#maxEvents = opts.maxBatchEvents ?? 1024;
    this.#maxBytes = opts.maxBatchBytes ?? 1024 * 1024;
    this.#baseMs = opts.backoffBaseMs ?? 100;
    this.#maxMs = opts.backoffMaxMs ?? 10_000;
    this.#lingerMs = opts.lingerMs ?? 0;
    this.done = this.#run();
  }

  get up(): boolean {
    return this.#up && (this.sink.healthy?.() ?? true);
  }

  health(): SinkHealth {
    return {
      sink: this.sink.name,
      up: this.up,
      pending: this.#queue.pending(this.#consumer),
      written: this.#written,
      errors: this.#errors,
      lastError: this.#lastError,
    };
  }

  /** Abandon the loop (shutdown deadline passed): wakes a back-off sleep; a write in flight is left
   * to settle on its own. The events this sink had not written stay unacknowledged. */
  stop(): void {
    this.#stopped = true;
    this.#wakeSleep();
    this.#queue.detach(this.#consumer);
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      try {
        await this.sink.open();
        this.#up = true;
        break;
      } catch (e) {
        this.#fail('open', e, attempt);
        await this.#sleep(backoffDelay(attempt++, this.#baseMs, this.#maxMs));
      }
    }
    attempt = 0;
    while (!this.#stopped) {
      const batch = this.#queue.peek(this.#consumer, this.#maxEvents, this.#maxBytes);
      if (batch === null) {
        if (this.#queue.closed && this.#queue.parked === 0) break;
        await this.#queue.readable(this.#consumer);
        await this.#linger();
        continue;
      }
      try {
        await this.sink.write(batch);
      } catch (e) {
        this.#fail('write', e, attempt);
        await this.#sleep(backoffDelay(attempt++, this.#baseMs, this.#maxMs));
        continue;
      }
      if (this.#stopped) break;
      this.#queue.ack(this.#consumer, batch.count);
      this.#written += batch.count;
      this.#hooks.onWritten(this.sink.name, batch.count);
      if (!this.#up || attempt > 0) {
        this.#log.info({ retries: attempt }, 'audit sink recovered');
      }
      this.#up = true;
      attempt = 0;
      // under load the queue refills while a write is in flight: without this pause the loop writes
      // one or two events at a time back to back (a thread-pool round trip per event for the file sink)
      if (this.#queue.pending(this.#consumer) < this.#maxEvents) await this.#linger();
    }
    try {
      if (!this.#stopped) await this.sink.flush();
    } catch (e) {
      this.#fail('flush', e, 0);
    }
    try {
      await this.sink.close();
    } catch (e) {
      this.#fail('close', e, 0);
    }
    this.#up = false;
  }

  /** Lets events gather so that the next write carries a batch (skipped once the queue is closing). */
  async #linger(): Promise<void> {
    if (this.#lingerMs > 0 && !this.#queue.closed) await new Promise((r) => setTimeout(r, this.#lingerMs));
  }

  #fail(what: string, e: unknown, attempt: number): void {
    this.#up = false;
    this.#errors++;
    this.#lastError = errorMessage(e);
    this.#hooks.onError(this.sink.name);
    // first failure and then every 10th retry at warn: a long outage must not flood the log
    if (attempt === 0 || attempt % 10 === 0) {
      this.#log.warn({ err: this.#lastError, attempt, pending: this.#queue.pending(this.#consumer) }, `audit sink ${what} failed; retrying`);
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#sleepWake = resolve;
      this.#sleepTimer = setTimeout(() => this.#wakeSleep(), ms);
    });
  }

  #wakeSleep(): void {
    if (this.#sleepTimer !== null) clearTimeout(this.#sleepTimer);
    this.#sleepTimer = null;
    const w = this.#sleepWake;
    this.#sleepWake = null;
    if (w !== null) w();
  }
}
