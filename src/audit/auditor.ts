// The audit façade the session layer calls: filter by event kind, apply max_sql_length, enqueue into
// the bounded queue, and run one driver per configured sink. emit() returns what the queue returns
// (true / false / Promise in block mode): a session that gets a Promise stops reading from its client
// until it settles. close() stops intake, lets every sink drain and flush, bounded by a deadline.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SinkDriver, type SinkHealth } from './driver.ts';
import { isAuditEventKind, limitQuerySql, type AuditEvent, type AuditEventKind } from './events.ts';
import { FileSink } from './file-sink.ts';
import { createAuditMetrics } from './metrics.ts';
import { NatsSink } from './nats-sink.ts';
import { AuditQueue, type LineChunk, type WhenFull } from './queue.ts';
import type { AuditSink } from './sink.ts';
import { StdoutSink } from './stdout-sink.ts';
import { SyslogSink } from './syslog-sink.ts';

export type SinkConfig =
  | { readonly type: 'file'; readonly path: string; readonly rotate?: { readonly size?: number; readonly keep?: number; readonly daily?: boolean }; readonly fsync?: number }
  | { readonly type: 'stdout' }
  | { readonly type: 'syslog'; readonly address: string; readonly protocol: 'udp' | 'tcp'; readonly facility?: string }
  | { readonly type: 'nats'; readonly url: string; readonly subject: string; readonly stream: string };

/** The parsed `audit:` section of the config (DESIGN §5.3): durations in ms, sizes in bytes. */
export interface AuditOptions {
  readonly sinks: readonly SinkConfig[];
  readonly events: readonly string[];
  readonly max_sql_length: number;
  readonly when_full: WhenFull;
  /** events held at most (default 65 536) */
  readonly queue_size?: number;
  /** serialized bytes held at most (default 64 MiB) */
  readonly queue_bytes?: number;
}

export interface AuditorDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  /** names this gateway in NATS msgIDs; default `<hostname>-<random>` */
  readonly gatewayId?: string;
  /** extra sinks built by the caller (a Kafka sink, tests); they get drivers like configured ones */
  readonly extraSinks?: readonly AuditSink[];
  /** clock for the file sinks' daily rotation (tests) */
  readonly now?: () => number;
}

export interface CloseOptions {
  /** give up on sinks that have not drained by then (default 30 000 ms; DESIGN shutdown_timeout) */
  readonly timeoutMs?: number;
}

export interface Auditor {
  wants(kind: AuditEventKind): boolean;
  emit(e: AuditEvent): true | false | Promise<void>;
  /** Events their producer serialized itself (hot path: batches of query events), `max_sql_length` applied
   * and only kinds it wants(). */
  emitChunk(chunk: LineChunk): true | false | Promise<void>;
  readonly maxSqlLength: number;
  /** Events emit() would take now without blocking or dropping (by count): producers that batch check it. */
  room(): number;
  /** flushes every sink; used on graceful shutdown */
  close(opts?: CloseOptions): Promise<void>;
  health(): SinkHealth[];
  readonly depth: number;
  readonly dropped: number;
}

export function buildSink(cfg: SinkConfig, logger: Logger, gatewayId: string, now?: () => number): AuditSink {
  switch (cfg.type) {
    case 'file':
      return new FileSink({
        path: cfg.path,
        logger,
        ...(cfg.rotate === undefined ? {} : { rotate: cfg.rotate }),
        ...(cfg.fsync === undefined ? {} : { fsync: cfg.fsync }),
        ...(now === undefined ? {} : { now }),
      });
    case 'stdout':
      return new StdoutSink();
    case 'syslog':
      return new SyslogSink({ address: cfg.address, protocol: cfg.protocol, logger, ...(cfg.facility === undefined ? {} : { facility: cfg.facility }) });
    case 'nats':
      return new NatsSink({ url: cfg.url, subject: cfg.subject, stream: cfg.stream, gatewayId, logger });
    default:
      throw new Error(`unknown audit sink type ${String((cfg as { type?: unknown }).type)}`);
  }
}

export function createAuditor(opts: AuditOptions, deps: AuditorDeps): Auditor {
  const log = deps.logger.child({ mod: 'audit' });
  const metrics = createAuditMetrics(deps.registry);
  const wanted = new Set<AuditEventKind>();
  for (const k of opts.events) {
    if (!isAuditEventKind(k)) throw new Error(`audit.events: unknown event "${k}"`);
    wanted.add(k);
  }
  const gatewayId = deps.gatewayId ?? `${hostname().replace(/[^A-Za-z0-9_]/g, '_')}_${randomBytes(3).toString('hex')}`;
  const maxSql = opts.max_sql_length;
  const queue = new AuditQueue({
    capacity: opts.queue_size ?? 65_536,
    ...(opts.queue_bytes === undefined ? {} : { maxBytes: opts.queue_bytes }),
    whenFull: opts.when_full,
    onDrop: (n) => metrics.dropped.inc(n),
  });
  const sinks = opts.sinks.map((c) => buildSink(c, log, gatewayId, deps.now)).concat(deps.extraSinks ?? []);
  const names = new Set<string>();
  for (const s of sinks) {
    if (names.has(s.name)) throw new Error(`audit.sinks: two sinks named ${s.name}`);
    names.add(s.name);
  }
  const hooks = {
    onWritten: (sink: string, n: number) => metrics.events.inc({ sink }, n),
    onError: (sink: string) => metrics.errors.inc({ sink }),
  };
  const drivers = sinks.map((s) => new SinkDriver(s, queue, log, hooks));
  metrics.bind({ depth: () => queue.depth, sinksUp: () => drivers.map((d) => ({ sink: d.sink.name, up: d.up })) });
  for (const d of drivers) {
    metrics.events.inc({ sink: d.sink.name }, 0); // export the series from the start
    metrics.errors.inc({ sink: d.sink.name }, 0);
  }
  let closing: Promise<void> | null = null;

  return {
    wants: (kind) => wanted.has(kind),
    emit(e) {
      if (!wanted.has(e.event)) return true;
      // hot path: the common short statement is enqueued as is
      return queue.enqueue(e.event === 'query' ? limitQuerySql(e, maxSql) : e);
    },
    emitChunk: (chunk) => queue.enqueueChunk(chunk),
    maxSqlLength: maxSql,
    room: () => queue.room,
    close(copts = {}) {
      closing ??= (async () => {
        queue.close();
        const timeoutMs = copts.timeoutMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const all = Promise.all(drivers.map((d) => d.done)).then(() => 'done' as const);
        const r = await Promise.race([all, deadline]);
        clearTimeout(timer);
        if (r === 'timeout') {
          for (const d of drivers) {
            const h = d.health();
            if (h.pending > 0) log.error({ sink: h.sink, undelivered: h.pending, lastError: h.lastError }, 'audit sink did not drain before the shutdown deadline');
            d.stop();
          }
          await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
        }
      })();
      return closing;
    },
    health: () => drivers.map((d) => d.health()),
    get depth() {
      return queue.depth;
    },
    get dropped() {
      return queue.dropped;
    },
  };
}
