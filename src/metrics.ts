// The process's one Prometheus registry and the gateway's metrics (names are part of the
// contract). Nothing is registered on prom-client's global default registry. Hot path: a
// session looks up `.labels(...)` once (e.g. at connect, per command byte) and keeps the
// child; the per-statement series are hot-metrics (a plain number update per inc/observe).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, HotHistogram, type HotCounterChild } from './hot-metrics.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Handshake outcomes: ok, auth_failed (backend ERR), error (protocol/TLS/upstream), timeout, rejected (limits, no route, TLS required). */
export type HandshakeOutcome = 'ok' | 'auth_failed' | 'error' | 'timeout' | 'rejected';
export type ByteDirection = 'client_to_backend' | 'backend_to_client';

/** 50 µs … 10 s, roughly ×2.5 per step. */
export const STATEMENT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

export const metrics = Object.freeze({
  connectionsOpen: new Gauge({
    name: 'sluice_connections_open',
    help: 'Client connections currently open',
    labelNames: ['listener'] as const,
    registers: [registry],
  }),
  connectionsTotal: new Counter({
    name: 'sluice_connections_total',
    help: 'Client connections accepted',
    labelNames: ['listener'] as const,
    registers: [registry],
  }),
  handshakesTotal: new Counter({
    name: 'sluice_handshakes_total',
    help: 'Finished handshakes by outcome (ok|auth_failed|error|timeout|rejected)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  statementsTotal: new HotCounter({
    name: 'sluice_statements_total',
    help: 'Commands relayed, by command (COM_QUERY, COM_STMT_EXECUTE, ...)',
    labelNames: ['command'] as const,
    registers: [registry],
  }),
  statementErrorsTotal: new HotCounter({
    name: 'sluice_statement_errors_total',
    help: 'Commands answered with an ERR packet, by command',
    labelNames: ['command'] as const,
    registers: [registry],
  }),
  bytesTotal: new HotCounter({
    name: 'sluice_bytes_total',
    help: 'Bytes relayed in the command phase, by direction (client_to_backend|backend_to_client)',
    labelNames: ['direction'] as const,
    registers: [registry],
  }),
  statementDuration: new HotHistogram({
    name: 'sluice_statement_duration_seconds',
    help: 'Time from a command to the end of its response, by command',
    labelNames: ['command'] as const,
    buckets: [...STATEMENT_DURATION_BUCKETS],
    registers: [registry],
  }),
});

/** Typed helpers for the label sets with a closed vocabulary. */
export function handshakeCounter(outcome: HandshakeOutcome): Counter.Internal {
  return metrics.handshakesTotal.labels(outcome);
}
export function bytesCounter(direction: ByteDirection): HotCounterChild {
  return metrics.bytesTotal.labels(direction);
}

const tlsHandshakes = new Counter({
  name: 'sluice_tls_handshakes_total',
  help: 'Completed TLS handshakes by leg (client|backend), protocol version and cipher',
  labelNames: ['leg', 'version', 'cipher'] as const,
  registers: [registry],
});
const tlsFailures = new Counter({
  name: 'sluice_tls_failures_total',
  help: 'Failed TLS handshakes by leg and reason (unknown CA, certificate has expired, hostname mismatch, …)',
  labelNames: ['leg', 'reason'] as const,
  registers: [registry],
});

export function tlsHandshake(leg: 'client' | 'backend', version: string, cipher: string): void {
  tlsHandshakes.labels(leg, version, cipher).inc();
}

export function tlsFailure(leg: 'client' | 'backend', e: unknown): void {
  const reason = (e as { reason?: unknown }).reason;
  const text = typeof reason === 'string' ? reason : e instanceof Error ? e.message.replace(/^.*SSL connection error: /, '') : 'unknown';
  tlsFailures.labels(leg, text.slice(0, 60)).inc();
}

const backendUp = new Gauge({
  name: 'sluice_backend_up',
  help: 'Backend health as the health checker sees it: 1 up, 0 down (absent before the first verdict)',
  labelNames: ['backend'] as const,
  registers: [registry],
});
const backendHealthChanges = new Counter({
  name: 'sluice_backend_health_changes_total',
  help: 'Backend health transitions, by backend and new status (up|down|unknown)',
  labelNames: ['backend', 'status'] as const,
  registers: [registry],
});

/** A backend's health status changed (fed from BackendState 'change' events). */
export function backendHealthChanged(backend: string, status: 'up' | 'down' | 'unknown'): void {
  backendHealthChanges.labels(backend, status).inc();
  if (status === 'unknown') backendUp.remove(backend);
  else backendUp.labels(backend).set(status === 'up' ? 1 : 0);
}

/** A reload removed the backend: drop its series. */
export function backendRemoved(backend: string): void {
  backendUp.remove(backend);
}
