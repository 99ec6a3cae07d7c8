// Gateway: the listeners and the set of live sessions. Accepts connections, enforces
// limits.max_connections (ERR 1040 in place of the greeting), hands each socket to a Session, and runs
// the graceful drain of DESIGN §5.1: stop accepting, let running statements and transactions finish
// within shutdown_timeout, then close what is left. It owns what sessions share: the TLS contexts of
// both legs, backend health/drain state with its health checker, and the router; `reconfigure` swaps
// them for new connections while live sessions keep what they started with.
import net from 'node:net';
import type { BackendConfig, Config, ListenerConfig } from '../config/types.ts';
import { splitAddress } from '../config/units.ts';
import { ShuttingDown, TooManyConnections } from '../errors.ts';
import type { HandshakeV10 } from '../protocol/handshake-v10.ts';
import { Router, compileCidrs } from '../routing/router.ts';
import { InMemoryBackendState, type BackendState } from '../routing/backend-state.ts';
import { HealthChecker } from '../routing/health-checker.ts';
import { buildClientLegTls, type ClientLegTls } from '../tls/client-leg.ts';
import { buildBackendLegTls, type BackendLegTls } from '../tls/backend-leg.ts';
import type { Logger } from '../logger.ts';
import type { SessionHooks } from './hooks.ts';
import { Session, type SessionInfo } from './session.ts';
import { intersectGreetings, type KnownGreeting } from './greeting.ts';
import { compilePolicy, type MaskingPolicy } from '../masking/policy.ts';
import type { GrantStore } from '../masking/grants.ts';
import type { AnalysisCache } from '../sql/cache.ts';
import { backendHealthChanged, backendRemoved } from '../metrics.ts';

export interface GatewayOptions {
  config: Config;
  hooks: SessionHooks;
  log: Logger;
  /** Test knob: always use the forced AuthSwitchRequest path. */
  forceAuthSwitch?: boolean;
  /** Shared per process: per-digest SQL analysis, and masking grants (survive reloads). */
  analysisCache: AnalysisCache;
  grants: GrantStore | null;
}

interface BoundListener {
  config: ListenerConfig;
  readonly server: net.Server;
  address: string;
  open: number;
  tls: ClientLegTls | null;
  proxyFrom: (ip: string) => boolean;
}

/** What a config builds and sessions share; swapped as a whole on reload. */
interface Shared {
  readonly config: Config;
  readonly router: Router;
  readonly backendTls: ReadonlyMap<string, BackendLegTls>;
  readonly masking: MaskingPolicy | null;
}

export class Gateway {
  readonly #opts: GatewayOptions;
  #shared: Shared;
  readonly state: BackendState;
  #health: HealthChecker;
  readonly #listeners: BoundListener[] = [];
  readonly #sessions = new Set<Session>();
  readonly #greetings = new Map<string, HandshakeV10>();
  #nextConn = 1;
  #total = 0;
  #draining = false;
  #drained: Promise<void> | null = null;
  #onEmpty: (() => void) | null = null;

  constructor(opts: GatewayOptions) {
    this.#opts = opts;
    this.state = new InMemoryBackendState(opts.config);
    this.#shared = this.#build(opts.config);
    this.#health = this.#healthChecker(opts.config);
    this.state.on('change', (c) => {
      if (c.kind === 'health') {
        backendHealthChanged(c.name, c.current.status);
        opts.log.warn({ backend: c.name, from: c.previous.status, to: c.current.status, err: c.current.lastError }, 'backend health changed');
      } else if (c.kind === 'drain') opts.log.info({ backend: c.name, draining: c.current.draining, redirect_to: c.current.redirect_to }, 'backend drain changed');
    });
  }

  get config(): Config {
    return this.#shared.config;
  }

  async listen(): Promise<void> {
    for (const lc of this.#shared.config.listeners) {
      const tls = lc.tls.mode === 'preferred' || lc.tls.mode === 'required' ? buildClientLegTls(lc.tls, this.#opts.log.child({ listener: lc.name })) : null;
      const server = net.createServer({ noDelay: true });
      const bound: BoundListener = { config: lc, server, address: lc.address, open: 0, tls, proxyFrom: compileCidrs(lc.proxy_protocol_networks) };
      server.on('connection', (s) => this.#accept(bound, s));
      server.on('error', (e) => this.#opts.log.error({ err: e, listener: lc.name }, 'listener error'));
      const { host, port } = splitAddress(lc.address);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, backlog: 1024 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const a = server.address() as net.AddressInfo;
      bound.address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      this.#listeners.push(bound);
      this.#opts.log.info({ listener: lc.name, address: bound.address, tls: lc.tls.mode }, 'listening');
    }
    this.#health.start();
  }

  /** Bound addresses by listener name (port 0 in the config resolves here). */
  addresses(): Array<{ name: string; address: string; connections: number }> {
    return this.#listeners.map((l) => ({ name: l.config.name, address: l.address, connections: l.open }));
  }

  sessions(): SessionInfo[] {
    return [...this.#sessions].map((s) => s.info());
  }

  get openConnections(): number {
    return this.#sessions.size;
  }

  get totalConnections(): number {
    return this.#total;
  }

  /**
   * Applies a new config to new connections (routes, backends, TLS files re-read); live sessions keep
   * theirs. Listener addresses cannot change without a restart: such a config is refused.
   * Throws (and keeps the old config) when certificates cannot be loaded.
   */
  reconfigure(config: Config): void {
    const names = (c: Config) => c.listeners.map((l) => `${l.name}=${l.address}`).join(',');
    if (names(config) !== names(this.#shared.config)) throw new Error('listeners[] changed: listener names and addresses need a restart');
    const listenerTls = this.#listeners.map((l) => {
      const lc = config.listeners.find((x) => x.name === l.config.name)!;
      return lc.tls.mode === 'preferred' || lc.tls.mode === 'required' ? buildClientLegTls(lc.tls, this.#opts.log.child({ listener: lc.name }), l.tls) : null;
    });
    const shared = this.#build(config);
    this.#listeners.forEach((l, i) => {
      l.config = config.listeners.find((x) => x.name === l.config.name)!;
      l.tls = listenerTls[i]!;
      l.proxyFrom = compileCidrs(l.config.proxy_protocol_networks);
    });
    for (const b of this.#shared.config.backends) if (!config.backends.some((x) => x.name === b.name)) backendRemoved(b.name);
    this.state.sync(config);
    this.#shared = shared;
    void this.#health.stop();
    this.#health = this.#healthChecker(config);
    if (this.#listeners.length > 0) this.#health.start();
    this.#opts.log.info('configuration applied to new connections');
  }

  #build(config: Config): Shared {
    const backendTls = new Map<string, BackendLegTls>();
    for (const b of config.backends) backendTls.set(b.name, buildBackendLegTls(b.tls, this.#opts.log.child({ backend: b.name })));
    const masking = config.masking.rules.length > 0 ? compilePolicy(config.masking) : null;
    return { config, router: new Router(config, { state: this.state }), backendTls, masking };
  }

  #healthChecker(config: Config): HealthChecker {
    return new HealthChecker({
      state: this.state,
      backends: config.backends,
      config: config.health_check,
      rise: config.health_check.rise,
      fall: config.health_check.fall,
      log: this.#opts.log.child({ component: 'health' }),
      tlsFor: (b: BackendConfig) => (b.tls.mode === 'required' ? (this.#shared.backendTls.get(b.name) ?? null) : null),
    });
  }

  /** Sluice's greeting for a listener before a backend is chosen. */
  #greetingTemplate(listener: string): HandshakeV10 {
    const { config } = this.#shared;
    const names = new Set<string>();
    for (const r of config.routes) if (r.match?.listener === undefined || r.match.listener === listener) r.backends.forEach((b) => names.add(b));
    const known: Array<KnownGreeting | null> = [...names].map((n) => {
      const g = this.#greetings.get(n);
      if (g !== undefined) return g;
      const h = this.state.has(n) ? this.state.health(n) : null;
      return h !== null && h.serverVersion !== null && h.capabilities !== null
        ? { serverVersion: h.serverVersion, capabilities: h.capabilities, mariadbCapabilities: h.mariadbCapabilities ?? 0 }
        : null;
    });
    return intersectGreetings(known);
  }

  #accept(listener: BoundListener, socket: net.Socket): void {
    const conn = this.#nextConn++;
    this.#total++;
    listener.open++;
    const shared = this.#shared;
    const session = new Session(
      {
        conn,
        listener: listener.config,
        config: shared.config,
        router: shared.router,
        hooks: this.#opts.hooks,
        log: this.#opts.log,
        greetings: this.#greetings,
        greetingTemplate: (l) => this.#greetingTemplate(l),
        clientTls: listener.tls,
        acceptsProxyHeader: (ip) => listener.proxyFrom(ip),
        masking:
          shared.masking !== null && this.#opts.grants !== null
            ? { policy: shared.masking, grants: this.#opts.grants, cache: this.#opts.analysisCache }
            : null,
        backendTls: (name) => shared.backendTls.get(name)!,
        forceAuthSwitch: this.#opts.forceAuthSwitch ?? false,
        isDraining: () => this.#draining,
        onClosed: (s) => {
          if (this.#sessions.delete(s)) listener.open--;
          if (this.#draining && this.#sessions.size === 0) this.#onEmpty?.();
        },
      },
      socket,
    );
    socket.on('error', () => {}); // a reset client must not crash the process; the session logs closes
    this.#sessions.add(session);
    if (this.#draining) return session.reject(new ShuttingDown());
    const max = shared.config.limits.max_connections;
    if (this.#sessions.size > max) return session.reject(new TooManyConnections(max));
    void session.start();
  }

  /** Stops accepting, drains sessions, and resolves when all are closed or the timeout has passed. */
  shutdown(timeoutMs = this.#shared.config.shutdown_timeout): Promise<void> {
    if (this.#drained !== null) return this.#drained;
    this.#draining = true;
    this.#opts.log.info({ sessions: this.#sessions.size, timeout_ms: timeoutMs }, 'draining');
    for (const l of this.#listeners) l.server.close();
    void this.#health.stop();
    this.#drained = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.#sessions) s.destroy('shutdown_timeout');
        resolve();
      }, timeoutMs);
      timer.unref();
      this.#onEmpty = () => {
        clearTimeout(timer);
        resolve();
      };
      for (const s of [...this.#sessions]) s.drain();
      if (this.#sessions.size === 0) this.#onEmpty();
    });
    return this.#drained;
  }
}
