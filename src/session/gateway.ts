// Gateway: the listeners and the set of live sessions. Accepts connections, enforces
// limits.max_connections (ERR 1040 in place of the greeting), hands each socket to a Session, and runs
// the graceful drain of DESIGN §5.1: stop accepting, let running statements and transactions finish
// within shutdown_timeout, then close what is left. Shared state lives here, behind small methods.
import net from 'node:net';
import type { Config, ListenerConfig } from '../config/types.ts';
import { splitAddress } from '../config/units.ts';
import { ShuttingDown, TooManyConnections } from '../errors.ts';
import type { HandshakeV10 } from '../protocol/handshake-v10.ts';
import { Router } from '../routing/router.ts';
import type { Logger } from '../logger.ts';
import type { SessionHooks } from './hooks.ts';
import { Session, type SessionInfo } from './session.ts';

export interface GatewayOptions {
  config: Config;
  hooks: SessionHooks;
  log: Logger;
  /** Test knob: always use the forced AuthSwitchRequest path. */
  forceAuthSwitch?: boolean;
}

interface BoundListener {
  readonly config: ListenerConfig;
  readonly server: net.Server;
  address: string;
  open: number;
}

export class Gateway {
  readonly #opts: GatewayOptions;
  #config: Config;
  #router: Router;
  readonly #listeners: BoundListener[] = [];
  readonly #sessions = new Set<Session>();
  readonly #greetings = new Map<string, HandshakeV10>();
  #nextConn = 1;
  #total = 0;
  #draining = false;
  #drained: Promise<void> | null = null;

  constructor(opts: GatewayOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#router = new Router(opts.config);
  }

  async listen(): Promise<void> {
    for (const lc of this.#config.listeners) {
      const server = net.createServer({ noDelay: true, pauseOnConnect: false });
      const bound: BoundListener = { config: lc, server, address: lc.address, open: 0 };
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
      this.#opts.log.info({ listener: lc.name, address: bound.address }, 'listening');
    }
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

  /** New connections use the new config; live sessions keep theirs. */
  reconfigure(config: Config): void {
    this.#config = config;
    this.#router = new Router(config);
  }

  #accept(listener: BoundListener, socket: net.Socket): void {
    const conn = this.#nextConn++;
    this.#total++;
    listener.open++;
    const session = new Session(
      {
        conn,
        listener: listener.config,
        config: this.#config,
        router: this.#router,
        hooks: this.#opts.hooks,
        log: this.#opts.log,
        greetings: this.#greetings,
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
    const max = this.#config.limits.max_connections;
    if (this.#sessions.size > max) return session.reject(new TooManyConnections(max));
    void session.start();
  }

  #onEmpty: (() => void) | null = null;

  /** Stops accepting, drains sessions, and resolves when all are closed or the timeout has passed. */
  shutdown(timeoutMs = this.#config.shutdown_timeout): Promise<void> {
    if (this.#drained !== null) return this.#drained;
    this.#draining = true;
    this.#opts.log.info({ sessions: this.#sessions.size, timeout_ms: timeoutMs }, 'draining');
    for (const l of this.#listeners) l.server.close();
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
