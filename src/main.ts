// Wiring only: builds the logger, the gateway with its hooks, and the admin API from a Config, and runs
// them until a signal. `startSluice` is the in-process entry the integration tests use; `run` is the CLI's.
import { VERSION } from './version.ts';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.ts';
import { loadConfig, ConfigError } from './config/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { registry } from './metrics.ts';
import { buildAdmin } from './admin/build-admin.ts';
import type { ConnectionInfo } from './admin/types.ts';
import { Gateway } from './session/gateway.ts';
import { combineHooks, type SessionHooks } from './session/hooks.ts';
import { metricsHooks } from './session/metrics-hooks.ts';
import type { SessionInfo } from './session/session.ts';
import { auditHooks } from './session/audit-hooks.ts';
import { createAuditor, type Auditor } from './audit/auditor.ts';
import { AnalysisCache } from './sql/cache.ts';
import { DigestStats } from './audit/digest-stats.ts';
import { digestRoutes } from './admin/routes/digests.ts';
import { backendsRoutes } from './admin/routes/backends.ts';
import { grantsRoutes } from './admin/routes/grants.ts';
import { GrantStore } from './masking/grants.ts';
import type { AdminAction } from './admin/admin-action.ts';
import { auditTimestamp } from './audit/events.ts';

export interface StartOptions {
  logger?: Logger;
  /** The file the config came from: SIGHUP and POST /api/v1/reload re-read it. */
  configPath?: string | undefined;
  /** Extra hooks (tests, audit). */
  hooks?: SessionHooks[];
  forceAuthSwitch?: boolean;
}

export interface SluiceHandle {
  readonly gateway: Gateway;
  readonly log: Logger;
  /** Bound listener addresses by name. */
  listenerAddress(name?: string): { host: string; port: number };
  readonly adminUrl: string | null;
  reload(config: Config): void;
  /** Re-reads the config file (SIGHUP, POST /api/v1/reload); throws ConfigError and keeps the old one. */
  reloadFromFile(): { source: string };
  stop(timeoutMs?: number): Promise<void>;
}

function toConnectionInfo(s: SessionInfo): ConnectionInfo {
  return {
    conn: s.conn,
    client: s.clientAddress,
    listener: s.listener,
    user: s.user,
    schema: s.schema,
    route: s.route,
    backend: s.backend,
    state: s.state,
    since: s.since.toISOString(),
    statements: s.statements,
    bytes_in: s.bytesIn,
    bytes_out: s.bytesOut,
    client_tls: s.clientTls != null ? { version: s.clientTls.version, cipher: s.clientTls.cipher, sni: s.clientTls.sni } : null,
    backend_tls: s.backendTls !== null ? { version: s.backendTls.version, cipher: s.backendTls.cipher } : null,
  };
}

export async function startSluice(config: Config, opts: StartOptions = {}): Promise<SluiceHandle> {
  const log = opts.logger ?? createLogger(config.log.level);
  const startedAt = Date.now();
  const auditor: Auditor | null =
    config.audit.sinks.length > 0 ? createAuditor(config.audit, { registry, logger: log.child({ component: 'audit' }) }) : null;
  // digest statistics come with auditing: they need each statement's SQL, which costs the plain relay ~10 µs
  const stats = auditor !== null ? new DigestStats({ registry }) : null;
  const analysisCache = new AnalysisCache();
  const grants =
    config.masking.rules.length > 0
      ? new GrantStore({ file: config.masking.grants_file, exemptUsers: config.masking.exempt_users, ruleNames: config.masking.rules.map((r) => r.name) })
      : null;
  const audit = auditor !== null ? auditHooks(auditor, stats, analysisCache) : null;
  const hooks = [metricsHooks(), ...(audit !== null ? [audit] : []), ...(opts.hooks ?? [])];
  const gateway = new Gateway({
    config,
    analysisCache,
    grants,
    hooks: combineHooks(hooks),
    log,
    forceAuthSwitch: opts.forceAuthSwitch ?? false,
  });
  await gateway.listen();

  const reloadFromFile = (): { source: string } => {
    if (opts.configPath === undefined) throw new Error('running on the built-in default configuration: there is no file to reload');
    gateway.reconfigure(loadConfig(opts.configPath));
    return { source: opts.configPath };
  };
  const onAction = (a: AdminAction): void => {
    log.info({ verb: a.verb, target: a.target, caller: a.caller, reason: a.reason, ok: a.ok, details: a.details }, 'admin action');
    if (auditor !== null && auditor.wants('admin')) {
      const details = Object.fromEntries(Object.entries(a.details).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean | null)]));
      void auditor.emit({ ts: auditTimestamp(), event: 'admin', conn: 0, caller: a.caller, verb: a.verb, target: a.target, reason: a.reason, ok: a.ok, details });
    }
  };

  let admin: FastifyInstance | null = null;
  let adminUrl: string | null = null;
  if (config.admin.enabled) {
    admin = buildAdmin({
      registry,
      token: process.env[config.admin.token_env],
      logger: log.child({ component: 'admin' }),
      status: () => ({
        version: VERSION,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        listeners: gateway.addresses(),
        connections: { open: gateway.openConnections, total: gateway.totalConnections },
      }),
      connections: () => gateway.sessions().map(toConnectionInfo),
    });
    void admin.register(digestRoutes, {
      digests: (limit) => {
        audit?.flush(); // the statements of the last millisecond count too
        return stats?.top(limit) ?? [];
      },
    });
    void admin.register(backendsRoutes, { state: gateway.state, reload: reloadFromFile, onAction });
    if (grants !== null) void admin.register(async (app) => grantsRoutes(app, { store: grants, onAdminEvent: onAction }));
    const [host, port] = splitHostPort(config.admin.address);
    adminUrl = await admin.listen({ host, port });
    log.info({ address: adminUrl }, 'admin API listening');
  }

  return {
    gateway,
    log,
    adminUrl,
    listenerAddress(name) {
      const l = gateway.addresses().find((a) => name === undefined || a.name === name);
      if (l === undefined) throw new Error(`no listener ${name ?? ''}`);
      const [host, port] = splitHostPort(l.address);
      return { host, port };
    },
    reload(next) {
      gateway.reconfigure(next);
    },
    reloadFromFile,
    async stop(timeoutMs) {
      await gateway.shutdown(timeoutMs);
      await admin?.close();
      audit?.flush();
      await auditor?.close({ timeoutMs: timeoutMs ?? config.shutdown_timeout });
      stats?.close();
      log.info('stopped');
      log.flush?.();
    },
  };
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return [host, Number(address.slice(i + 1))];
}

/** The CLI's entry: run until SIGTERM/SIGINT (drain) ; SIGHUP reloads the config file. */
export async function run(config: Config, configPath?: string): Promise<void> {
  const sluice = await startSluice(config, { configPath });
  const log = sluice.log;
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      void sluice.stop().then(resolve);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    const onHup = () => {
      try {
        sluice.reloadFromFile();
        log.info({ file: configPath }, 'configuration reloaded');
      } catch (e) {
        if (e instanceof ConfigError) log.error({ issues: e.issues }, 'reload rejected; the running configuration stays');
        else log.error({ err: e }, 'reload failed; the running configuration stays');
      }
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
  });
}
