// The one interface every audit destination implements, and the small shared helpers. A sink only
// moves already-serialized lines; ordering, batching, retry and back-off live in driver.ts, so a
// sink's write() may simply reject on any failure: the driver retries the same batch later.
//
// Adding a sink (e.g. Kafka): write `kafka-sink.ts` exporting a class implementing AuditSink —
//   open():  connect the producer (idempotent producer on, acks=all), create the topic if missing;
//   write(batch): send batch.line(i) in order to one partition (key = gateway id) and resolve when
//            the broker acknowledged every record; use `${gatewayId}-${batch.firstSeq + i}` as a header
//            if consumers de-duplicate; reject on any error (the driver retries the whole batch);
//   flush(): nothing to do when write() already awaits acks;  close(): disconnect the producer;
// then add a `{type:'kafka', …}` variant to SinkConfig (auditor.ts) and one case in buildSink().

import type { Batch } from './queue.ts';

export interface AuditSink {
  /** unique per auditor, used as the `sink` metric label: `file:<path>`, `nats:<url>` … */
  readonly name: string;
  /** Connect / open files. May reject; the driver retries with back-off. */
  open(): Promise<void>;
  /** Write the batch's events, in order: `batch.data` as JSON Lines, or `batch.line(i)` one by one.
   * Event i has the queue sequence number `batch.firstSeq + i`, stable across retries of the same batch
   * (an idempotency key, like the NATS msgID). Resolves when durable in the sink's own meaning (file:
   * written to the file; nats: acknowledged by JetStream; syslog/stdout: handed to the kernel/stream).
   * Rejects on failure; the driver then retries the same batch. Buffers are views: copy what you keep. */
  write(batch: Batch): Promise<void>;
  /** Make everything written so far as durable as the sink can (fsync, flush). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Optional liveness beyond the last write's result (e.g. NATS connection state). */
  healthy?(): boolean;
}

/** Jittered exponential back-off: attempt 0 → ~100 ms, doubling, capped at 10 s; the delay is drawn
 * from [d/2, d] so that many gateways reconnecting to one NATS do not retry in lockstep. */
export function backoffDelay(attempt: number, baseMs = 100, maxMs = 10_000, random: () => number = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + (random() * d) / 2);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
