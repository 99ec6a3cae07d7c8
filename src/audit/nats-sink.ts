// NATS JetStream sink: each event is one message on `subject` in stream `stream` (created if missing),
// published with msgID `<gatewayId>-<boot>-<conn>-<seq>` and acknowledged before write() resolves.
// Retrying a batch after an outage re-publishes the same ids, so JetStream's duplicate window drops
// what was already stored: delivery is exactly-once within that window (default 2 min) and in order.
// Publishes are pipelined (a window of acks in flight) but stop at the first sign of a disconnect,
// so nothing after a lost message is published from that batch before the batch is retried.

import type { JetStreamClient, NatsConnection, PubAck } from 'nats';
import type { Logger } from 'pino';
import type { Batch } from './queue.ts';
import { errorMessage, type AuditSink } from './sink.ts';

export interface NatsSinkOptions {
  readonly url: string;
  readonly subject: string;
  readonly stream: string;
  /** identifies this gateway in msgIDs; several gateways may share one stream */
  readonly gatewayId: string;
  readonly logger: Logger;
  /** JetStream acks in flight per batch (default 256) */
  readonly window?: number;
  /** ms to wait for each ack (default 5000) */
  readonly ackTimeout?: number;
}

const noop = (): void => {};

export class NatsSink implements AuditSink {
  readonly name: string;
  readonly #opts: NatsSinkOptions;
  readonly #log: Logger;
  #Events: (typeof import('nats'))['Events'] | null = null;
  /** distinguishes this process from an earlier run of the same gateway inside the dedup window */
  readonly #boot = Date.now().toString(36);
  #nc: NatsConnection | null = null;
  #js: JetStreamClient | null = null;
  #connected = false;
  #epoch = 0; // +1 on every disconnect
  #needStream = true;

  constructor(opts: NatsSinkOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.name = `nats:${opts.url}/${opts.subject}`;
  }

  healthy(): boolean {
    return this.#connected;
  }

  async open(): Promise<void> {
    if (this.#nc !== null && !this.#nc.isClosed()) return;
    // loaded only when a NATS sink is configured (the client library is ~13 MiB of RSS)
    const { connect, Events } = await import('nats');
    this.#Events = Events;
    const nc = await connect({
      servers: this.#opts.url,
      name: `sluice-audit-${this.#opts.gatewayId}`,
      reconnect: true,
      maxReconnectAttempts: -1, // forever: the queue holds events meanwhile
      reconnectTimeWait: 500,
      timeout: 2000,
      pingInterval: 10_000,
    });
    this.#nc = nc;
    this.#js = nc.jetstream({ timeout: this.#opts.ackTimeout ?? 5000 });
    this.#connected = true;
    this.#needStream = true;
    void this.#watch(nc);
    await this.#ensureStream();
  }

  async write(batch: Batch): Promise<void> {
    if (this.#nc === null || this.#nc.isClosed()) await this.open();
    if (!this.#connected) throw new Error('NATS disconnected');
    if (this.#needStream) await this.#ensureStream();
    const js = this.#js as JetStreamClient;
    const epoch = this.#epoch;
    const window = this.#opts.window ?? 256;
    const inflight: Promise<PubAck>[] = [];
    let head = 0;
    try {
      for (let i = 0; i < batch.count; i++) {
        if (this.#epoch !== epoch || !this.#connected) throw new Error('NATS disconnected during batch');
        // the payload is a view into the queue's chunk, which is never reused: no copy needed
        const p = js.publish(this.#opts.subject, batch.line(i), { msgID: this.#msgId(batch, i) });
        p.catch(noop); // awaited below; this only keeps a later rejection from being "unhandled"
        inflight.push(p);
        if (inflight.length - head >= window) await inflight[head++];
      }
      while (head < inflight.length) await inflight[head++];
    } catch (e) {
      // stream deleted under us, or leader lost: check the stream again before the retry
      this.#needStream = true;
      throw e;
    }
  }

  async flush(): Promise<void> {
    // every write() already awaited its acks; this only round-trips the connection
    if (this.#nc !== null && this.#connected) await this.#nc.flush();
  }

  async close(): Promise<void> {
    const nc = this.#nc;
    this.#nc = null;
    this.#connected = false;
    if (nc === null || nc.isClosed()) return;
    try {
      await nc.drain();
    } catch {
      await nc.close();
    }
  }

  #msgId(batch: Batch, i: number): string {
    return `${this.#opts.gatewayId}-${this.#boot}-${batch.conn(i)}-${batch.firstSeq + i}`;
  }

  async #ensureStream(): Promise<void> {
    const nc = this.#nc;
    if (nc === null) throw new Error('NATS not connected');
    const jsm = await nc.jetstreamManager({ timeout: 5000 });
    try {
      await jsm.streams.info(this.#opts.stream);
    } catch (e) {
      if (!/stream not found/i.test(errorMessage(e))) throw e;
      await jsm.streams.add({ name: this.#opts.stream, subjects: [this.#opts.subject] });
      this.#log.info({ stream: this.#opts.stream, subject: this.#opts.subject }, 'created audit JetStream stream');
    }
    this.#needStream = false;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (s.type === this.#Events!.Disconnect) {
          this.#connected = false;
          this.#epoch++;
          this.#log.warn({ server: s.data }, 'audit NATS disconnected; events are held in the queue');
        } else if (s.type === this.#Events!.Reconnect) {
          this.#connected = true;
          this.#needStream = true;
          this.#log.info({ server: s.data }, 'audit NATS reconnected');
        }
      }
    } catch (e) {
      this.#log.warn({ err: errorMessage(e) }, 'audit NATS status watcher ended');
    }
    if (this.#nc === nc) this.#connected = false;
  }
}
