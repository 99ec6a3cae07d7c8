// Health checker (DESIGN §5.3 `health_check`): every `interval` ms (±10 % jitter) each backend gets a
// probe bounded by `timeout` ms: TCP connect (a PROXY LOCAL header first when the backend expects
// PROXY protocol), read the greeting (version, capabilities, MariaDB extended capabilities), and when
// `user` is set log in with mysql_native_password (password from the environment variable named by
// `password_env`), run `SELECT @@read_only`, COM_QUIT. `rise` good probes in a row bring a down backend
// up, `fall` bad ones take an up backend down; a backend's first verdict (from `unknown`) is its first
// probe, so a fresh gateway neither refuses everything nor keeps sending to a dead server for long.
// Results go to the shared BackendState; transitions are logged here.
import net from 'node:net';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { BackendConfig, HealthCheckConfig } from '../config/types.ts';
import { splitAddress } from '../config/units.ts';
import type { BackendLegTls } from '../tls/index.ts';
import { Capability } from '../protocol/constants.ts';
import { Framer, type Frame } from '../protocol/framer.ts';
import { encodePacket } from '../protocol/packet.ts';
import { parseHandshakeV10, type HandshakeV10 } from '../protocol/handshake-v10.ts';
import { encodeHandshakeResponse41 } from '../protocol/handshake-response41.ts';
import { encodeSSLRequest } from '../protocol/ssl-request.ts';
import { isErrPacket, parseErr } from '../protocol/err.ts';
import { isAuthSwitchRequest, parseAuthSwitchRequest } from '../protocol/auth.ts';
import { encodeComQuery, encodeSimpleCommand, parseColumnCount } from '../protocol/commands.ts';
import { Command } from '../protocol/constants.ts';
import { parseTextRow } from '../protocol/text-row.ts';
import { encodeProxyV1, encodeProxyV2 } from '../protocol/proxy-protocol.ts';
import type { BackendState } from './backend-state.ts';

export const DEFAULT_RISE = 2;
export const DEFAULT_FALL = 3;
const NATIVE = 'mysql_native_password';
const UTF8MB4_GENERAL_CI = 45;

export interface ProbeOptions {
  readonly timeoutMs: number;
  /** Log in as this user (absent: stop after the greeting). */
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** Upstream TLS for the probe; used when the backend's `tls.mode` asks for it and the server offers it. */
  readonly tls?: BackendLegTls | null | undefined;
}

export type ProbeResult =
  | {
      readonly ok: true;
      readonly latencyMs: number;
      readonly serverVersion: string;
      readonly version: string;
      readonly capabilities: number;
      readonly mariadbCapabilities: number;
      /** null when no monitor user is configured. */
      readonly readOnly: boolean | null;
    }
  | {
      readonly ok: false;
      readonly error: string;
      /** What the greeting said, when the probe got that far. */
      readonly greeting: Pick<HandshakeV10, 'serverVersion' | 'capabilities' | 'mariadbCapabilities'> | null;
    };

export interface HealthCheckerOptions {
  readonly state: BackendState;
  readonly backends: readonly BackendConfig[];
  readonly config: HealthCheckConfig;
  /** Good probes in a row that bring a down backend up (default 2). */
  readonly rise?: number | undefined;
  /** Bad probes in a row that take an up backend down (default 3). */
  readonly fall?: number | undefined;
  readonly log: Logger;
  /** Where `password_env` is looked up (default process.env). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** The backend leg's TLS per backend (absent: probes never use TLS). */
  readonly tlsFor?: ((backend: BackendConfig) => BackendLegTls | null) | undefined;
  /** For tests: the jitter source (default Math.random). */
  readonly random?: (() => number) | undefined;
}

interface Tracked {
  readonly backend: BackendConfig;
  timer: NodeJS.Timeout | null;
  inflight: Promise<ProbeResult> | null;
  goodRun: number;
  badRun: number;
}

export class HealthChecker {
  readonly #opts: HealthCheckerOptions;
  readonly #rise: number;
  readonly #fall: number;
  readonly #tracked = new Map<string, Tracked>();
  #running = false;
  #warnedPassword = false;

  constructor(opts: HealthCheckerOptions) {
    this.#opts = opts;
    this.#rise = Math.max(1, opts.rise ?? DEFAULT_RISE);
    this.#fall = Math.max(1, opts.fall ?? DEFAULT_FALL);
    for (const b of opts.backends) this.#tracked.set(b.name, { backend: b, timer: null, inflight: null, goodRun: 0, badRun: 0 });
  }

  /** Probes every backend now, then every interval (jittered). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const t of this.#tracked.values()) void this.#cycle(t);
  }

  /** Stops scheduling; resolves when probes in flight have finished (each is bounded by `timeout`). */
  async stop(): Promise<void> {
    this.#running = false;
    const pending: Array<Promise<ProbeResult>> = [];
    for (const t of this.#tracked.values()) {
      if (t.timer !== null) clearTimeout(t.timer);
      t.timer = null;
      if (t.inflight !== null) pending.push(t.inflight);
    }
    await Promise.allSettled(pending);
  }

  /** Probes one backend now (joins a probe already in flight); the result counts towards rise/fall. */
  checkNow(name: string): Promise<ProbeResult> {
    const t = this.#tracked.get(name);
    if (t === undefined) return Promise.reject(new Error(`no backend named ${name}`));
    return this.#probe(t);
  }

  async #cycle(t: Tracked): Promise<void> {
    t.timer = null;
    await this.#probe(t);
    if (!this.#running) return;
    const jitter = 0.9 + 0.2 * (this.#opts.random ?? Math.random)();
    t.timer = setTimeout(() => void this.#cycle(t), Math.max(1, Math.round(this.#opts.config.interval * jitter)));
    t.timer.unref();
  }

  #probe(t: Tracked): Promise<ProbeResult> {
    if (t.inflight !== null) return t.inflight;
    const p = probeBackend(t.backend, this.#probeOptions(t.backend))
      .catch((e: unknown): ProbeResult => ({ ok: false, error: e instanceof Error ? e.message : String(e), greeting: null }))
      .then((r) => {
        this.#record(t, r);
        return r;
      })
      .finally(() => {
        t.inflight = null;
      });
    t.inflight = p;
    return p;
  }

  #probeOptions(b: BackendConfig): ProbeOptions {
    const cfg = this.#opts.config;
    let password: string | undefined;
    if (cfg.user !== undefined && cfg.password_env !== undefined) {
      password = (this.#opts.env ?? process.env)[cfg.password_env];
      if (password === undefined && !this.#warnedPassword) {
        this.#warnedPassword = true;
        this.#opts.log.warn({ password_env: cfg.password_env }, 'health_check.password_env names an unset environment variable; probing with an empty password');
      }
    }
    return { timeoutMs: cfg.timeout, user: cfg.user, password, tls: this.#opts.tlsFor?.(b) ?? null };
  }

  #record(t: Tracked, r: ProbeResult): void {
    const name = t.backend.name;
    const state = this.#opts.state;
    if (!state.has(name)) return;
    const before = state.health(name).status;
    let status = before;
    if (r.ok) {
      t.goodRun++;
      t.badRun = 0;
      if (before === 'unknown' || (before === 'down' && t.goodRun >= this.#rise)) status = 'up';
    } else {
      t.badRun++;
      t.goodRun = 0;
      if (before === 'unknown' || (before === 'up' && t.badRun >= this.#fall)) status = 'down';
    }
    const now = Date.now();
    if (r.ok) {
      state.updateHealth(name, {
        ok: true,
        status,
        lastCheck: now,
        lastError: null,
        latencyMs: r.latencyMs,
        readOnly: r.readOnly,
        version: r.version,
        serverVersion: r.serverVersion,
        capabilities: r.capabilities,
        mariadbCapabilities: r.mariadbCapabilities,
      });
    } else {
      const learned =
        r.greeting === null
          ? {}
          : {
              serverVersion: r.greeting.serverVersion,
              version: stripReplicationPrefix(r.greeting.serverVersion),
              capabilities: r.greeting.capabilities,
              mariadbCapabilities: r.greeting.mariadbCapabilities,
            };
      state.updateHealth(name, { ok: false, status, lastCheck: now, lastError: r.error, ...learned });
    }
    if (status === before) {
      if (!r.ok) this.#opts.log.debug({ backend: name, reason: r.error, failures: t.badRun, fall: this.#fall }, 'health probe failed');
      return;
    }
    const fields = { backend: name, address: t.backend.address, from: before, to: status };
    if (status === 'up' && r.ok) this.#opts.log.info({ ...fields, latency_ms: r.latencyMs, version: r.version, read_only: r.readOnly }, 'backend is up');
    else if (!r.ok) this.#opts.log.warn({ ...fields, reason: r.error }, 'backend is down');
  }
}

/** "5.5.5-10.11.6-MariaDB-0+deb12u1" → "10.11.6-MariaDB-0+deb12u1" (MariaDB's replication-compat prefix). */
export function stripReplicationPrefix(v: string): string {
  return v.startsWith('5.5.5-') ? v.slice(6) : v;
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty password → empty response. */
export function nativePasswordScramble(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const sha1 = (...parts: Buffer[]): Buffer => {
    const h = createHash('sha1');
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  const stage2 = sha1(stage1);
  const mix = sha1(scramble.subarray(0, 20), stage2);
  for (let i = 0; i < mix.length; i++) mix[i] = mix[i]! ^ stage1[i]!;
  return mix;
}

/** One probe; never throws (failures are `{ ok: false, error }`, naming the stage and the cause). */
export async function probeBackend(backend: BackendConfig, opts: ProbeOptions): Promise<ProbeResult> {
  const conn = new ProbeConnection(backend, opts.timeoutMs);
  const started = performance.now();
  let greeting: HandshakeV10 | null = null;
  try {
    await conn.connect();
    if (backend.proxy_protocol === 'v1') conn.write(encodeProxyV1({ src: null, dst: null }));
    else if (backend.proxy_protocol === 'v2') conn.write(encodeProxyV2({ src: null, dst: null }));
    conn.stage = 'greeting';
    const first = await conn.next();
    const gp = first.payload();
    if (isErrPacket(gp)) throw new ProbeFailure(describeErr(gp));
    greeting = parseHandshakeV10(gp);
    let seq = 1;
    const wantsTls = backend.tls.mode !== 'disabled' && opts.tls !== undefined && opts.tls !== null;
    const offersTls = (greeting.capabilities & Capability.SSL) !== 0;
    if (backend.tls.mode === 'required' && !offersTls) throw new ProbeFailure('the server does not offer TLS (backend tls.mode is required)');
    let caps =
      (Capability.LONG_PASSWORD | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.TRANSACTIONS | Capability.CONNECT_ATTRS) &
      greeting.capabilities;
    caps |= Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION;
    if (wantsTls && offersTls && opts.user !== undefined) {
      caps |= Capability.SSL;
      conn.write(encodePacket(encodeSSLRequest({ capabilities: caps, maxPacketSize: 16 << 20, charset: UTF8MB4_GENERAL_CI, mariadbCapabilities: 0 }), seq++));
      conn.stage = 'TLS handshake';
      await conn.startTls(opts.tls!);
    }
    if (opts.user === undefined) {
      conn.close();
      return result(greeting, null, started);
    }
    conn.stage = 'login';
    const auth = nativePasswordScramble(opts.password ?? '', greeting.scramble);
    const response = encodeHandshakeResponse41({
      capabilities: caps >>> 0,
      maxPacketSize: 16 << 20,
      charset: UTF8MB4_GENERAL_CI,
      mariadbCapabilities: 0,
      user: opts.user,
      authResponse: greeting.authPluginName === NATIVE || greeting.authPluginName === '' ? auth : Buffer.alloc(0),
      database: null,
      authPluginName: NATIVE,
      connectAttributes: [['program_name', 'sluice-health-check']],
    });
    conn.write(encodePacket(response, seq));
    for (;;) {
      const f = await conn.next();
      const p = f.payload();
      if (p[0] === 0x00) break;
      if (isErrPacket(p)) throw new ProbeFailure(describeErr(p));
      if (isAuthSwitchRequest(p)) {
        const sw = parseAuthSwitchRequest(p);
        if (sw.pluginName !== NATIVE) throw new ProbeFailure(`the monitor account uses ${sw.pluginName}; health checks log in with ${NATIVE} only`);
        const data = sw.pluginData.length > 20 ? sw.pluginData.subarray(0, 20) : sw.pluginData;
        conn.write(encodePacket(nativePasswordScramble(opts.password ?? '', data), (f.seq + 1) & 0xff));
        continue;
      }
      throw new ProbeFailure(`unexpected packet 0x${(p[0] ?? 0).toString(16)} during login`);
    }
    conn.stage = 'SELECT @@read_only';
    conn.write(encodePacket(encodeComQuery('SELECT @@read_only'), 0));
    const readOnly = await readSingleValue(conn);
    conn.write(encodePacket(encodeSimpleCommand(Command.COM_QUIT), 0));
    conn.close();
    return result(greeting, readOnly === null ? null : readOnly !== '0', started);
  } catch (e) {
    conn.destroy();
    const error = e instanceof ProbeFailure ? e.message : `${conn.stage}: ${e instanceof Error ? e.message : String(e)}`;
    const g = greeting === null ? null : { serverVersion: greeting.serverVersion, capabilities: greeting.capabilities, mariadbCapabilities: greeting.mariadbCapabilities };
    return { ok: false, error, greeting: g };
  }
}

function result(g: HandshakeV10, readOnly: boolean | null, started: number): ProbeResult {
  return {
    ok: true,
    latencyMs: Math.round((performance.now() - started) * 100) / 100,
    serverVersion: g.serverVersion,
    version: stripReplicationPrefix(g.serverVersion),
    capabilities: g.capabilities,
    // meaningful only when the server cleared CLIENT_MYSQL (LONG_PASSWORD), i.e. MariaDB
    mariadbCapabilities: (g.capabilities & Capability.LONG_PASSWORD) === 0 ? g.mariadbCapabilities : 0,
    readOnly,
  };
}

function describeErr(payload: Buffer): string {
  const e = parseErr(payload);
  return `ERROR ${e.code}${e.sqlState !== null ? ` (${e.sqlState})` : ''}: ${e.message}`;
}

/** Reads a one-column text result set (no CLIENT_DEPRECATE_EOF) and returns its first cell. */
async function readSingleValue(conn: ProbeConnection): Promise<string | null> {
  const head = (await conn.next()).payload();
  if (isErrPacket(head)) throw new ProbeFailure(describeErr(head));
  const { count } = parseColumnCount(head);
  for (let i = 0; i < count; i++) await conn.next(); // column definitions
  const eof = (await conn.next()).payload();
  if (eof[0] !== 0xfe) throw new ProbeFailure('SELECT @@read_only: expected EOF after the column definitions');
  let value: string | null = null;
  for (;;) {
    const p = (await conn.next()).payload();
    if (isErrPacket(p)) throw new ProbeFailure(describeErr(p));
    if (p[0] === 0xfe && p.length < 9) return value;
    const cell = parseTextRow(p, count)[0];
    if (value === null && cell !== undefined && cell !== null) value = cell.toString('latin1');
  }
}

class ProbeFailure extends Error {}

/** A socket plus framer with a promise-per-packet reader and one deadline for the whole probe. */
class ProbeConnection {
  stage = 'connect';
  #socket: net.Socket | null = null;
  readonly #framer = new Framer({ maxPacket: 16 << 20 });
  #waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  #failure: Error | null = null;
  /** I/O events seen (connect, chunks read): what the deadline checks for silence */
  #progress = 0;
  #closed = false;
  #timer: NodeJS.Timeout;
  readonly #host: string;
  readonly #port: number;
  readonly #onData = (chunk: Buffer): void => {
    this.#progress++;
    this.#framer.push(chunk);
    this.#pump();
  };
  readonly #onError = (e: Error): void => this.#fail(e);
  readonly #onClose = (): void => this.#fail(new Error('connection closed by the backend'));

  constructor(
    readonly backend: BackendConfig,
    readonly timeoutMs: number,
  ) {
    const { host, port } = splitAddress(backend.address);
    this.#host = host;
    this.#port = port;
    this.#timer = this.#arm(false);
  }

  /**
   * The probe's deadline. After a stall of this process (a blocked event loop, a starved CPU) timers run
   * before the I/O that completed meanwhile is read, so a due timer alone does not prove silence: the poll
   * phase gets one turn, and the probe fails unless I/O was waiting behind the timer. Seen on a
   * loaded 2-core box: "connect: no answer within 1000 ms" to a local server, and the route down for the
   * seconds `rise` takes. Bounded: one extension, so a probe ends within twice `timeout`.
   */
  #arm(extended: boolean): NodeJS.Timeout {
    const t = setTimeout(() => {
      const atDeadline = this.#progress;
      setImmediate(() => {
        if (this.#failure !== null || this.#closed) return;
        if (this.#progress !== atDeadline && !extended) this.#timer = this.#arm(true);
        else this.#fail(new ProbeFailure(`${this.stage}: no answer within ${this.timeoutMs} ms`));
      });
    }, this.timeoutMs);
    t.unref();
    return t;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#failure !== null) {
        reject(this.#failure);
        return;
      }
      const s = net.connect({ host: this.#host, port: this.#port, noDelay: true });
      this.#socket = s;
      this.#waiter = { resolve: () => undefined, reject }; // failures before 'connect' reject this
      s.once('connect', () => {
        this.#progress++;
        this.#waiter = null;
        resolve();
      });
      this.#attach(s);
    });
  }

  async startTls(tlsLeg: BackendLegTls): Promise<void> {
    const raw = this.#socket!;
    this.#detach(raw);
    const up = await Promise.race([
      tlsLeg.upgrade(raw, { host: this.#host, timeoutMs: this.timeoutMs }),
      new Promise<never>((_r, reject) => {
        this.#waiter = { resolve: () => undefined, reject };
      }),
    ]);
    this.#waiter = null;
    this.#socket = up.socket;
    this.#attach(up.socket);
  }

  write(b: Buffer): void {
    this.#socket?.write(b);
  }

  next(): Promise<Frame> {
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#pump();
    });
  }

  /** Polite end (after COM_QUIT, or after the greeting when there is no monitor user). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const s = this.#socket;
    if (s !== null) {
      this.#detach(s);
      s.on('error', () => undefined);
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    }
  }

  destroy(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const s = this.#socket;
    if (s !== null) {
      this.#detach(s);
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  #attach(s: net.Socket): void {
    s.on('data', this.#onData);
    s.on('error', this.#onError);
    s.on('close', this.#onClose);
  }

  #detach(s: net.Socket): void {
    s.off('data', this.#onData);
    s.off('error', this.#onError);
    s.off('close', this.#onClose);
  }

  #pump(): void {
    const w = this.#waiter;
    if (w === null) return;
    let f: Frame | null;
    try {
      f = this.#framer.next();
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (f !== null) {
      this.#waiter = null;
      w.resolve(f);
    } else if (this.#failure !== null) {
      this.#waiter = null;
      w.reject(this.#failure);
    }
  }

  #fail(e: Error): void {
    if (this.#failure === null) this.#failure = e;
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(this.#failure);
  }
}
