// Session hooks that feed the Prometheus metrics of src/metrics.ts. Label children are looked up once per
// command name and kept; they are hot-metrics, so the hot path is plain number updates.
import type { HotCounterChild, HotHistogramChild } from '../hot-metrics.ts';
import { metrics } from '../metrics.ts';
import type { SessionHooks } from './hooks.ts';

interface PerCommand {
  statements: HotCounterChild;
  errors: HotCounterChild;
  duration: HotHistogramChild;
}

export function metricsHooks(): SessionHooks {
  const byCommand = new Map<string, PerCommand>();
  const per = (name: string): PerCommand => {
    let p = byCommand.get(name);
    if (p === undefined) {
      p = {
        statements: metrics.statementsTotal.labels(name),
        errors: metrics.statementErrorsTotal.labels(name),
        duration: metrics.statementDuration.labels(name),
      };
      byCommand.set(name, p);
    }
    return p;
  };
  const toBackend = metrics.bytesTotal.labels('client_to_backend');
  const toClient = metrics.bytesTotal.labels('backend_to_client');
  return {
    wantsSql: false,
    onConnect(s) {
      metrics.connectionsOpen.labels(s.listener).inc();
      metrics.connectionsTotal.labels(s.listener).inc();
    },
    onAuth(_s, outcome) {
      metrics.handshakesTotal.labels(outcome.ok ? 'ok' : outcome.error !== null && outcome.error.code === 1045 ? 'auth_failed' : 'error').inc();
    },
    onStatement(_s, r) {
      const p = per(r.command.name);
      p.statements.inc();
      if (r.error !== null) p.errors.inc();
      p.duration.observe(r.durationNs / 1e9);
    },
    onCommand(_s, cmd) {
      // commands without a response (COM_STMT_CLOSE …) are counted here; the rest in onStatement
      if (cmd.code === 0x19 || cmd.code === 0x18 || cmd.code === 0x01) per(cmd.name).statements.inc();
    },
    onDisconnect(s, totals) {
      metrics.connectionsOpen.labels(s.listener).dec();
      toBackend.inc(totals.bytesIn);
      toClient.inc(totals.bytesOut);
    },
  };
}
