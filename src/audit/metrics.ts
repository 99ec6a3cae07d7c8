// Audit metrics, registered into the registry the caller owns (one per process, src/metrics.ts).
// Gauges are computed at scrape time from the live auditor (collect()), so the hot path only bumps
// counters. Getting a metric that is already registered reuses it (tests build many auditors).

import { Counter, Gauge, type Registry } from 'prom-client';

export interface AuditMetricsSource {
  depth(): number;
  sinksUp(): ReadonlyArray<{ readonly sink: string; readonly up: boolean }>;
}

export interface AuditMetrics {
  readonly events: Counter<'sink'>;
  readonly dropped: Counter;
  readonly errors: Counter<'sink'>;
  readonly depth: Gauge;
  readonly up: Gauge<'sink'>;
  /** the auditor whose state the gauges report at scrape time */
  bind(src: AuditMetricsSource): void;
}

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** per registry, the auditor the (shared) gauges read from: the latest bound one */
const sources = new WeakMap<Registry, { src: AuditMetricsSource | null }>();

export function createAuditMetrics(registry: Registry): AuditMetrics {
  let holder = sources.get(registry);
  if (holder === undefined) {
    holder = { src: null };
    sources.set(registry, holder);
  }
  const h = holder;
  const registers = [registry];
  const events = reuse(registry, 'sluice_audit_events_total', () =>
    new Counter({ name: 'sluice_audit_events_total', help: 'Audit events written, per sink', labelNames: ['sink'] as const, registers }),
  );
  const dropped = reuse(registry, 'sluice_audit_dropped_total', () =>
    new Counter({ name: 'sluice_audit_dropped_total', help: 'Audit events dropped (queue full with when_full: drop, or after shutdown)', registers }),
  );
  const errors = reuse(registry, 'sluice_audit_sink_errors_total', () =>
    new Counter({ name: 'sluice_audit_sink_errors_total', help: 'Failed audit sink operations (each is retried)', labelNames: ['sink'] as const, registers }),
  );
  const depth = reuse(registry, 'sluice_audit_queue_depth', () =>
    new Gauge({
      name: 'sluice_audit_queue_depth',
      help: 'Audit events held in the queue (not yet written by every sink), plus producers blocked on it',
      registers,
      collect() {
        if (h.src !== null) this.set(h.src.depth());
      },
    }),
  );
  const up = reuse(registry, 'sluice_audit_sink_up', () =>
    new Gauge({
      name: 'sluice_audit_sink_up',
      help: '1 when the audit sink is connected and its last write succeeded',
      labelNames: ['sink'] as const,
      registers,
      collect() {
        if (h.src !== null) for (const s of h.src.sinksUp()) this.set({ sink: s.sink }, s.up ? 1 : 0);
      },
    }),
  );
  return {
    events,
    dropped,
    errors,
    depth,
    up,
    bind(s) {
      h.src = s;
    },
  };
}
