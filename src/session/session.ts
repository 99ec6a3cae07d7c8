// Session: one client connection, from accept to close. The connection phase is an explicit sequence of
// named states (greeting → awaitHandshakeResponse → connectingBackend → authRelay) driven by whole frames;
// the command phase (ready) forwards socket chunks unchanged while two PacketWalkers feed the
// ResultTracker, which finds where each response ends and reports statements to the hooks.
// Password-less auth (DESIGN §3): the backend is made to send an AuthSwitchRequest that is relayed to the
// client, or, when the route is known before the greeting, the backend's own scramble is reused.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { BackendConfig, Config, ListenerConfig } from '../config/types.ts';
import { Capability, Command, MariaDbCapability, commandName } from '../protocol/constants.ts';
import { encodePacket, packetCount, readHeader } from '../protocol/packet.ts';
import { encodeHandshakeV10, parseHandshakeV10, type HandshakeV10 } from '../protocol/handshake-v10.ts';
import { encodeHandshakeResponse41, parseHandshakeResponse41, type HandshakeResponse41 } from '../protocol/handshake-response41.ts';
import { encodeSSLRequest, isSSLRequest } from '../protocol/ssl-request.ts';
import { encodeErr, parseErr } from '../protocol/err.ts';
import { encodeComChangeUser, parseComChangeUser } from '../protocol/commands.ts';
import { PacketWalker } from '../protocol/packet-walker.ts';
import { MaskingController } from './masking-controller.ts';
import type { MaskingPolicy } from '../masking/policy.ts';
import type { GrantStore } from '../masking/grants.ts';
import type { AnalysisCache } from '../sql/cache.ts';
import type { ProxyAddresses } from '../protocol/proxy-protocol.ts';
import { Framer, type Frame } from '../protocol/framer.ts';
import { BadHandshake, BackendLost, BackendUnavailable, ClearPasswordRefused, HandshakeTimeout, InsecureTransport, LocalInfileRefused, RouteNotFound, ShuttingDown, SluiceError, UpstreamTlsError } from '../errors.ts';
import { splitUserTag, type RouteOutcome, type Router } from '../routing/router.ts';
import type { Logger } from '../logger.ts';
import { dialBackend } from './backend-dialer.ts';
import { ReadBuffer } from './read-buffer.ts';
import { HandshakeLeg, LegClosed } from './handshake-leg.ts';
import { readProxyHeader } from './proxy-header-reader.ts';
import { errPacketBytes, toSluiceError } from './err-map.ts';
import { greetingCapabilities, greetingMariaDbCapabilities, upstreamCapabilities, upstreamMariaDbCapabilities } from './capabilities.ts';
import { ResultTracker, type CommandStart, type StatementError, type StatementResult } from './result-tracker.ts';
import type { SessionFacts, SessionHooks, TlsFacts } from './hooks.ts';
import { relayAuth } from './auth-relay.ts';
import type { ClientLegTls } from '../tls/client-leg.ts';
import type { BackendLegTls } from '../tls/backend-leg.ts';
import { splitAddress } from '../config/units.ts';
import { tlsFailure, tlsHandshake } from '../metrics.ts';

/** Plugin name no account uses: the server answers it with an AuthSwitchRequest (PROTOCOL-NOTES A1.1). */
const FORCE_SWITCH_PLUGIN = 'proxy_force_switch';
/** First payload bytes of backend packets the tracker may read (OK/EOF/ERR fit; rows are only counted). */
const BACKEND_HEAD = 1024;
const CLIENT_HEAD_NO_SQL = 16;
/** With masking, whole column definitions must be readable (names can be long in utf8mb4). */
const MASKING_HEAD = 64 * 1024;
const CLIENT_HEAD_SQL = 64 * 1024;

export type SessionState =
  | { readonly kind: 'greeting' }
  | { readonly kind: 'awaitHandshakeResponse' }
  | { readonly kind: 'clientTls' }
  | { readonly kind: 'connectingBackend' }
  | { readonly kind: 'backendTls' }
  | { readonly kind: 'authRelay' }
  | { readonly kind: 'ready' }
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'closed'; readonly reason: string };

export interface SessionEnv {
  readonly conn: number;
  readonly listener: ListenerConfig;
  readonly config: Config;
  readonly router: Router;
  readonly hooks: SessionHooks;
  readonly log: Logger;
  /** Greetings last seen per backend (the session records each one it reads). */
  readonly greetings: Map<string, HandshakeV10>;
  /** Sluice's own greeting before a backend is chosen: what every backend behind the listener can do. */
  greetingTemplate(listener: string): HandshakeV10;
  /** Masking (absent: no rules configured). */
  readonly masking: { readonly policy: MaskingPolicy; readonly grants: GrantStore; readonly cache: AnalysisCache } | null;
  /** Whether a peer address is a trusted load balancer (listeners[].proxy_protocol_networks). */
  acceptsProxyHeader(ip: string): boolean;
  /** The client leg's TLS (null when the listener's mode is disabled or passthrough). */
  readonly clientTls: ClientLegTls | null;
  /** The server leg's TLS for a backend. */
  backendTls(backend: string): BackendLegTls;
  /** Always force the AuthSwitchRequest path, even when the route is known before the greeting. */
  readonly forceAuthSwitch: boolean;
  isDraining(): boolean;
  onClosed(s: Session): void;
}

export interface SessionInfo extends SessionFacts {
  readonly backendTls: { version: string; cipher: string } | null;
  readonly state: string;
  readonly since: Date;
  readonly statements: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** What the greeting step leaves for the rest of the handshake. */
interface Greeted {
  /** the greeting the client got */
  readonly greeting: HandshakeV10;
  readonly offerTls: boolean;
  /** the backend dialled before the client's answer (the route was known up front) and its greeting */
  readonly dialled: Dialled | null;
  /** backends this connection could not reach, with why: the router skips them (before health notices) */
  readonly unreachable: Map<string, string>;
}

interface Dialled {
  readonly name: string;
  readonly greeting: HandshakeV10;
}

/** The route and backend the connection goes to. */
type Chosen = Extract<RouteOutcome, { kind: 'ok' }>;

/** How the HandshakeResponse41 went upstream: what the auth relay needs to know. */
interface Upstream {
  readonly upstreamTls: boolean;
  /** sequence id of the HandshakeResponse41 on the backend leg (2 after an SSLRequest) */
  readonly backendSeq: number;
  /** with the backend's own scramble reused: its auth plugin and scramble (the caching_sha2 bridge) */
  readonly authPlugin: string | null;
  readonly nonce: Buffer | null;
}

export class Session {
  readonly #env: SessionEnv;
  #client: Socket;
  #backend: Socket | null = null;
  /** The read buffer the backend's chunks land in (read-buffer.ts); null under backend TLS. */
  #backendReads: ReadBuffer | null = null;
  #clientTls: TlsFacts | null = null;
  #backendTls: { version: string; cipher: string } | null = null;
  #state: SessionState = { kind: 'greeting' };
  #log: Logger;
  readonly #since = new Date();
  #clientAddress: string;
  /** The client's IP and port: the socket's peer, or what a trusted load balancer's PROXY header said. */
  #clientEndpoint: { address: string; port: number };
  #user: string | null = null;
  #schema: string | null = null;
  #route: string | null = null;
  #backendName: string | null = null;
  #statements = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #clientCaps = 0;
  /** MariaDB extended capabilities in force (the same on both legs). */
  #clientMariaDbCaps = 0;
  #tracker: ResultTracker | null = null;
  #clientWalker: PacketWalker | null = null;
  #backendWalker: PacketWalker | null = null;
  /** A command packet being gathered because it must be rewritten before it goes upstream. */
  #held: { need: number; parts: Buffer[]; have: number } | null = null;
  #pendingUser: { user: string; schema: string | null } | null = null;
  /** The route matched on a user tag: COM_CHANGE_USER names are stripped the same way. */
  #stripsUserTag = false;
  #masking: MaskingController | null = null;
  #maskingGuardsStatements = false;
  /** Packet mode on a leg (masking): non-null while that leg is decoded frame by frame. */
  #clientFramer: Framer | null = null;
  #backendFramer: Framer | null = null;
  /** Sequence-id shift of the response being rewritten (a masked row changed its packet count). */
  #seqShift = 0;
  /** The rest of a command whose LOCAL INFILE request was refused: the client already has our ERR. */
  #discardingBackend = false;
  /** The client leg waits for in-flight responses before Sluice answers a rejected statement. */
  #clientBlocked = false;
  #whenIdle: (() => void) | null = null;

  constructor(env: SessionEnv, client: Socket) {
    this.#env = env;
    this.#client = client;
    this.#clientEndpoint = { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 };
    this.#clientAddress = formatEndpoint(this.#clientEndpoint);
    this.#log = env.log.child({ conn: env.conn, client: this.#clientAddress });
    client.setNoDelay(true);
  }

  get state(): SessionState {
    return this.#state;
  }

  /** What hooks see; rebuilt only when a fact changed (hooks run per statement: no allocation there). */
  get facts(): SessionFacts {
    const f = this.#facts;
    if (
      f !== null &&
      f.user === this.#user &&
      f.schema === this.#schema &&
      f.route === this.#route &&
      f.backend === this.#backendName &&
      f.clientAddress === this.#clientAddress &&
      f.clientTls === this.#clientTls
    ) {
      return f;
    }
    this.#facts = {
      conn: this.#env.conn,
      listener: this.#env.listener.name,
      clientAddress: this.#clientAddress,
      clientTls: this.#clientTls,
      user: this.#user,
      schema: this.#schema,
      route: this.#route,
      backend: this.#backendName,
    };
    return this.#facts;
  }

  #facts: SessionFacts | null = null;

  info(): SessionInfo {
    const busy = this.#tracker !== null && this.#tracker.inFlight > 0;
    const state = this.#state.kind === 'ready' ? (busy ? 'query' : 'idle') : this.#state.kind;
    return { ...this.facts, backendTls: this.#backendTls, state, since: this.#since, statements: this.#statements, bytesIn: this.#bytesIn, bytesOut: this.#bytesOut };
  }

  /** Sends an ERR in place of the greeting and closes (max_connections, shutdown). */
  reject(e: SluiceError): void {
    this.#log.info({ err: e.message }, 'connection rejected');
    this.#client.end(errPacketBytes(e, 0));
    this.#finish(e.code.toLowerCase());
  }

  async start(): Promise<void> {
    this.#env.hooks.onConnect?.(this.facts);
    const timeoutMs = this.#env.config.limits.handshake_timeout;
    const timer = setTimeout(() => this.#abortHandshake(new HandshakeTimeout(timeoutMs)), timeoutMs);
    try {
      if (this.#env.listener.proxy_protocol && this.#env.acceptsProxyHeader(this.#client.remoteAddress ?? '')) await this.#readProxyHeader();
      await this.#handshake();
    } catch (e) {
      this.#abortHandshake(e);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Graceful shutdown: close now if nothing runs, else once the running statement/transaction ends. */
  drain(): void {
    if (this.#state.kind === 'closed') return;
    if (this.#state.kind === 'passthrough') return; // no statement boundaries to wait for: the timeout closes it
    if (this.#state.kind !== 'ready') return this.#abortHandshake(new ShuttingDown());
    if (this.#isQuiet()) this.#close('shutdown');
  }

  /** Immediate close (shutdown timeout). */
  destroy(reason: string): void {
    this.#close(reason);
  }

  // ---- connection phase ---------------------------------------------------------------------------

  /** A load balancer in `proxy_protocol_networks` must open with a PROXY v1/v2 header naming the client. */
  async #readProxyHeader(): Promise<void> {
    const header = await readProxyHeader(this.#client);
    if (header.src !== null) {
      this.#clientEndpoint = header.src;
      this.#clientAddress = formatEndpoint(header.src);
      this.#log = this.#env.log.child({ conn: this.#env.conn, client: this.#clientAddress });
    }
  }

  /** The PROXY header for backends that want one: the client's endpoint and the address it dialled. */
  #proxyAddresses(): ProxyAddresses {
    return { src: this.#clientEndpoint, dst: { address: this.#client.localAddress ?? '', port: this.#client.localPort ?? 0 } };
  }

  #backendLeg: HandshakeLeg | null = null;
  /** Sequence id the client expects next during the handshake (for an ERR of our own). */
  #clientSeq = 0;

  async #handshake(): Promise<void> {
    if (this.#env.listener.tls.mode === 'passthrough') return this.#passthrough();
    // listening from the start: a client that closes (or errs) while the backend is dialled is noticed
    const plainLeg = new HandshakeLeg(this.#client, 'client', this.#env.config.limits.max_packet);
    const greeted = await this.#greet();
    const { clientLeg, first, response } = await this.#readHandshakeResponse(plainLeg, greeted.offerTls);
    const { chosen, backendGreeting } = await this.#chooseBackend(response, greeted);
    this.#log = this.#log.child({ route: this.#route, backend: this.#backendName });
    this.#setUpMasking(chosen.route.masking, response);
    this.#stripsUserTag = chosen.user !== response.user;
    const upstream = await this.#sendHandshakeResponse(response, chosen, greeted.greeting, backendGreeting);
    await this.#relayAuthentication(clientLeg, first.seq, upstream);
  }

  /**
   * Step 1: the greeting. When the listener's route is known before the client says anything, the backend
   * is dialled first and its greeting (and scramble) reused: no extra round trip, no forced auth switch.
   */
  async #greet(): Promise<Greeted> {
    const env = this.#env;
    const clientMode = env.listener.tls.mode;
    const pre = env.forceAuthSwitch ? null : env.router.preGreetingRoute(env.listener.name);
    let dialled: Dialled | null = null;
    const unreachable = new Map<string, string>();
    if (pre !== null) {
      this.#setState({ kind: 'connectingBackend' });
      try {
        dialled = { name: pre.backend.name, greeting: await this.#connectBackend(pre.route.name, pre.backend) };
      } catch (e) {
        if (!(e instanceof BackendUnavailable)) throw e;
        unreachable.set(pre.backend.name, e.message);
      }
    }
    const template = dialled?.greeting ?? env.greetingTemplate(env.listener.name);
    const offerTls = clientMode === 'preferred' || clientMode === 'required';
    const greeting: HandshakeV10 = {
      ...template,
      connectionId: dialled !== null ? dialled.greeting.connectionId : env.conn,
      scramble: dialled !== null ? dialled.greeting.scramble : randomScramble(),
      authPluginName: dialled !== null ? dialled.greeting.authPluginName : 'mysql_native_password',
      capabilities: (greetingCapabilities(template.capabilities, { allowLocalInfile: env.config.limits.allow_local_infile }) | (offerTls ? Capability.SSL : 0)) >>> 0,
      mariadbCapabilities: greetingMariaDbCapabilities(template.capabilities, template.mariadbCapabilities),
    };
    this.#setState({ kind: 'greeting' });
    this.#client.write(encodePacket(encodeHandshakeV10(greeting), 0));
    return { greeting, offerTls, dialled, unreachable };
  }

  /** Step 2: the client's HandshakeResponse41, after the client-leg TLS handshake when it sends an SSLRequest. */
  async #readHandshakeResponse(plainLeg: HandshakeLeg, offerTls: boolean): Promise<{ clientLeg: HandshakeLeg; first: Frame; response: HandshakeResponse41 }> {
    const env = this.#env;
    const limits = env.config.limits;
    let clientLeg = plainLeg;
    this.#setState({ kind: 'awaitHandshakeResponse' });
    let first = await clientLeg.next();
    this.#clientSeq = (first.seq + first.nPackets) & 0xff;
    if (isSSLRequest(first.payload())) {
      if (!offerTls || env.clientTls === null) throw new BadHandshake('TLS was requested but is not enabled on this listener');
      // bytes right behind the SSLRequest (mysql2 sends its ClientHello without waiting) go to the TLS
      // layer, never to MySQL framing: plaintext injected there fails the TLS handshake
      const early = clientLeg.detachRaw();
      if (early.length > 0) {
        // paused, so the buffered bytes wait for the TLS socket (which reads them) instead of flowing away
        this.#client.pause();
        this.#client.unshift(early);
      }
      this.#setState({ kind: 'clientTls' });
      const up = await env.clientTls.upgrade(this.#client, limits.handshake_timeout).catch((e: unknown) => {
        tlsFailure('client', e);
        throw new LegClosed('client', `(TLS handshake failed: ${(e as Error).message})`);
      });
      this.#client = up.socket;
      this.#clientTls = { version: up.version, cipher: up.cipher, sni: up.sni };
      tlsHandshake('client', up.version, up.cipher);
      this.#log = this.#log.child({ tls: up.version, sni: up.sni });
      clientLeg = new HandshakeLeg(this.#client, 'client', limits.max_packet);
      this.#setState({ kind: 'awaitHandshakeResponse' });
      first = await clientLeg.next();
      this.#clientSeq = (first.seq + first.nPackets) & 0xff;
    } else if (env.listener.tls.mode === 'required') {
      // before anything of the client's answer goes anywhere
      throw new InsecureTransport();
    }
    let response: HandshakeResponse41;
    try {
      response = parseHandshakeResponse41(first.payload());
    } catch (e) {
      throw new BadHandshake(`unreadable HandshakeResponse41: ${(e as Error).message}`);
    }
    this.#user = response.user;
    this.#schema = response.database;
    this.#log = this.#log.child({ user: response.user });
    return { clientLeg, first, response };
  }

  /** Step 3: the route and its backend; on a connect failure, the next backend in failover order. */
  async #chooseBackend(response: HandshakeResponse41, greeted: Greeted): Promise<{ chosen: Chosen; backendGreeting: HandshakeV10 }> {
    const env = this.#env;
    const { unreachable } = greeted;
    const request = {
      listener: env.listener.name,
      user: response.user,
      schema: response.database,
      clientAddress: this.#clientEndpoint.address,
      sni: this.#clientTls?.sni ?? null,
      serverHost: response.connectAttributes?.find(([k]) => k === '_server_host')?.[1] ?? null,
    };
    let r = env.router.route(request, new Set(unreachable.keys()));
    // a connection dialled before the greeting that the server closed meanwhile (its connect_timeout, a KILL)
    // is not used: the same backend is dialled again (and the client switched to its new scramble)
    let dialled = greeted.dialled !== null && !this.#backendLeg!.failed ? greeted.dialled : null;
    if (greeted.dialled !== null && dialled === null) this.#log.info({ backend: greeted.dialled.name }, 'backend closed the connection dialled before the greeting; dialling again');
    for (;;) {
      if (r.kind === 'no_route') throw new RouteNotFound(response.user, this.#client.remoteAddress ?? '?', r.detail);
      if (r.kind === 'unavailable') {
        const failed = [...unreachable.values()].join('; ');
        throw new BackendUnavailable(r.route.name, failed === '' ? r.reason : `${r.reason}; this connection: ${failed}`);
      }
      // the backend dialled before the greeting is the one routed to: its greeting is the client's
      if (dialled !== null && dialled.name === r.backend.name) return { chosen: r, backendGreeting: dialled.greeting };
      this.#backend?.destroy();
      dialled = null; // its connection is gone: a failover back to it dials again
      this.#setState({ kind: 'connectingBackend' });
      try {
        return { chosen: r, backendGreeting: await this.#connectBackend(r.route.name, r.backend) };
      } catch (e) {
        if (!(e instanceof BackendUnavailable)) throw e;
        this.#log.warn({ backend: r.backend.name, err: e.message }, 'backend unreachable; trying the next in failover order');
        unreachable.set(r.backend.name, e.message);
        r = env.router.route(request, new Set(unreachable.keys()));
      }
    }
  }

  /**
   * Step 4: upstream TLS when the backend's mode asks for it (nothing but the SSLRequest goes before it),
   * then the HandshakeResponse41 with the capabilities both legs share: the client's own auth response when
   * the greeting's scramble was the backend's, else a plugin no account uses, to force an AuthSwitchRequest.
   */
  async #sendHandshakeResponse(response: HandshakeResponse41, r: Chosen, greeting: HandshakeV10, backendGreeting: HandshakeV10): Promise<Upstream> {
    const limits = this.#env.config.limits;
    const clientTls = this.#clientTls !== null;
    const backendMode = r.backend.tls.mode;
    const serverOffersTls = (backendGreeting.capabilities & Capability.SSL) !== 0;
    const upstreamTls =
      backendMode === 'required' || (backendMode === 'as_client' && clientTls) || (backendMode === 'preferred' && serverOffersTls);
    if (upstreamTls && !serverOffersTls) throw new UpstreamTlsError(`server ${r.backend.name} does not offer TLS`);
    const reuse = greeting.scramble.equals(backendGreeting.scramble);
    let caps = (upstreamCapabilities(response.capabilities, greeting.capabilities) & backendGreeting.capabilities) | (response.capabilities & Capability.LONG_PASSWORD);
    // CLIENT_SSL per leg; the plugin name travels only with CLIENT_PLUGIN_AUTH, which the switch needs
    caps = ((upstreamTls ? caps | Capability.SSL : caps & ~Capability.SSL) | Capability.PLUGIN_AUTH) >>> 0;
    const mariadbCaps = upstreamMariaDbCapabilities(response.capabilities, response.mariadbCapabilities, greeting.mariadbCapabilities);
    let backendSeq = 1;
    if (upstreamTls) {
      this.#backend!.write(encodePacket(encodeSSLRequest({ capabilities: caps, maxPacketSize: response.maxPacketSize, charset: response.charset, mariadbCapabilities: mariadbCaps }), 1));
      // downgrade safety: no packet from a server that must switch to TLS is accepted before the switch
      if (this.#backendLeg!.detach().length > 0) throw new UpstreamTlsError(`server ${r.backend.name} sent data instead of starting TLS`);
      this.#setState({ kind: 'backendTls' });
      const tls = this.#env.backendTls(r.backend.name);
      const { host } = splitAddress(r.backend.address);
      const up = await tls.upgrade(this.#backend!, { host, timeoutMs: limits.handshake_timeout }).catch((e: unknown) => {
        tlsFailure('backend', e);
        throw e;
      });
      tlsHandshake('backend', up.version, up.cipher);
      this.#backend = up.socket;
      this.#backendReads = null; // chunks now come from the TLS socket, in buffers of its own
      this.#backend.on('error', () => {});
      this.#backendTls = { version: up.version, cipher: up.cipher };
      this.#backendLeg = new HandshakeLeg(this.#backend, 'backend', 1 << 30);
      backendSeq = 2;
    }
    this.#clientCaps = caps;
    this.#clientMariaDbCaps = mariadbCaps;
    const { connectAttributesRaw: _raw, ...plain } = response; // attributes are re-encoded canonically
    const upstream: HandshakeResponse41 = {
      ...plain,
      connectAttributes: withClientAddress(response.connectAttributes, caps, this.#clientAddress),
      user: r.user,
      capabilities: caps,
      mariadbCapabilities: mariadbCaps,
      authPluginName: reuse ? response.authPluginName ?? FORCE_SWITCH_PLUGIN : FORCE_SWITCH_PLUGIN,
      authResponse: reuse ? response.authResponse : Buffer.alloc(0),
    };
    this.#backend!.write(encodePacket(encodeHandshakeResponse41(upstream), backendSeq));
    return { upstreamTls, backendSeq, authPlugin: reuse ? backendGreeting.authPluginName : null, nonce: reuse ? Buffer.from(backendGreeting.scramble) : null };
  }

  /** Step 5: auth packets relayed both ways until the backend's OK (the command phase starts) or ERR. */
  async #relayAuthentication(clientLeg: HandshakeLeg, clientFirstSeq: number, u: Upstream): Promise<void> {
    const clientTls = this.#clientTls !== null;
    this.#setState({ kind: 'authRelay' });
    const result = await relayAuth({
      client: clientLeg,
      backend: this.#backendLeg!,
      writeClient: (b) => this.#client.write(b),
      writeBackend: (b) => this.#backend!.write(b),
      seqDelta: clientFirstSeq - u.backendSeq,
      bridge: clientTls === u.upstreamTls ? 'none' : clientTls ? 'encrypt_for_server' : 'decrypt_for_server',
      plugin: u.authPlugin,
      nonce: u.nonce,
      clientSeq: (next) => (this.#clientSeq = next),
    });
    if (!result.ok) {
      this.#env.hooks.onAuth?.(this.facts, { ok: false, error: result.err });
      this.#log.info({ code: result.err.code }, 'authentication failed at the backend');
      this.#close('auth_failed');
      return;
    }
    this.#env.hooks.onAuth?.(this.facts, { ok: true, error: null });
    this.#log.info('authenticated');
    const clientRest = clientLeg.detach();
    const backendRest = this.#backendLeg!.detach();
    this.#backendLeg = null;
    this.#startRelay(clientRest, backendRest);
  }

  /**
   * passthrough: the backend's greeting, the client's SSLRequest and every TLS byte go through untouched
   * (end-to-end TLS; Sluice sees ciphertext only, so no statement audit, masking or SNI routing).
   */
  async #passthrough(): Promise<void> {
    const pre = this.#env.router.preGreetingRoute(this.#env.listener.name);
    if (pre === null) throw new RouteNotFound('?', this.#client.remoteAddress ?? '?', `(passthrough listener ${this.#env.listener.name} needs a single route with one usable backend)`);
    this.#setState({ kind: 'connectingBackend' });
    const connectTimeout = Math.min(this.#env.config.limits.handshake_timeout, 10_000);
    const backend = await dialBackend(pre.backend, pre.route.name, connectTimeout, this.#proxyAddresses());
    this.#route = pre.route.name;
    this.#backendName = pre.backend.name;
    this.#backend = backend;
    this.#setState({ kind: 'passthrough' });
    const client = this.#client;
    backend.on('error', () => {});
    client.on('error', () => {});
    client.pipe(backend);
    backend.pipe(client);
    client.on('data', (c: Buffer) => (this.#bytesIn += c.length));
    backend.on('data', (c: Buffer) => (this.#bytesOut += c.length));
    client.on('close', () => this.#close('client_gone'));
    backend.on('close', () => this.#close('backend_gone'));
    this.#env.hooks.onAuth?.(this.facts, { ok: true, error: null });
  }

  async #connectBackend(route: string, backend: BackendConfig): Promise<HandshakeV10> {
    this.#route = route;
    this.#backendName = backend.name;
    const connectTimeout = Math.min(this.#env.config.limits.handshake_timeout, 10_000);
    // a leg that will surely be TLS reads through OpenSSL's buffers: the raw socket's 64 KiB would only
    // hold the handshake and then stay allocated with the idle connection (measured: 80 → 74 KiB RSS per
    // idle TLS connection)
    this.#backendReads = backend.tls.mode === 'required' ? null : new ReadBuffer();
    const socket = await dialBackend(backend, route, connectTimeout, this.#proxyAddresses(), this.#backendReads);
    if (this.#state.kind === 'closed') {
      socket.destroy();
      throw new LegClosed('client', 'while the backend was dialled');
    }
    socket.on('error', () => {}); // errors surface through 'close' handling of the legs
    this.#backend = socket;
    const leg = new HandshakeLeg(socket, 'backend', 1 << 30);
    this.#backendLeg = leg;
    const f = await leg.next().catch((e: unknown) => {
      // the backend died between accept and greeting (killed, health not yet noticed): unreachable like a
      // refused dial, so the next backend in failover order is tried (or the client gets ERR 1429)
      if (e instanceof LegClosed && e.leg === 'backend') {
        socket.destroy();
        throw new BackendUnavailable(route, `backend ${backend.name} closed the connection before its greeting`, { cause: e });
      }
      throw e;
    });
    const p = f.payload();
    if (p[0] === 0xff) {
      // the server refused us before greeting (too many connections, host blocked): relay its ERR as is
      throw new BackendRefused(p);
    }
    const greeting = parseHandshakeV10(p);
    this.#env.greetings.set(backend.name, { ...greeting, scramble: Buffer.from(greeting.scramble) });
    return greeting;
  }

  #abortHandshake(e: unknown): void {
    if (this.#state.kind === 'closed') return;
    if (e instanceof BackendRefused) {
      this.#client.end(encodePacket(e.payload, this.#clientSeq));
      this.#log.warn({ code: e.errno }, 'backend refused the connection');
      this.#env.hooks.onAuth?.(this.facts, { ok: false, error: { code: e.errno, sqlState: e.sqlState, message: e.message } });
      this.#finish('backend_refused');
      return;
    }
    if (e instanceof LegClosed) {
      this.#log.info({ err: e.message }, 'handshake ended');
      // the backend went away mid-handshake (its greeting was read: a close before it is a failover):
      // the client, still there, is told so instead of seeing its connection drop
      if (e.leg === 'backend') return this.#abortHandshake(new BackendLost(`${this.#backendName ?? 'the backend'} closed the connection during the handshake`, { cause: e }));
      this.#close('client_gone');
      return;
    }
    const s = toSluiceError(e);
    if (s === null) this.#log.error({ err: e }, 'handshake failed');
    else if (s.side === 'client') this.#log.info({ err: s.message }, 'handshake failed');
    else this.#log.warn({ err: s.message }, 'handshake failed');
    // an ERR is readable by the client unless its leg is mid-TLS-handshake
    if (this.#state.kind !== 'clientTls') this.#client.write(errPacketBytes(e, this.#clientSeq));
    if (s !== null && this.#state.kind !== 'ready') {
      this.#env.hooks.onAuth?.(this.facts, { ok: false, error: { code: s.errno, sqlState: s.sqlState, message: s.message } });
    }
    this.#close(s?.code.toLowerCase() ?? 'internal_error');
  }

  // ---- command phase ------------------------------------------------------------------------------

  #startRelay(clientRest: Frame[], backendRest: Frame[]): void {
    const env = this.#env;
    const client = this.#client;
    const backend = this.#backend!;
    const masking = this.#masking;
    const tracker = new ResultTracker(
      {
        onCommand: (cmd) => this.#onCommand(cmd),
        onStatement: (r) => this.#onStatement(r),
        onCommandDone: (cmd, idle) => this.#onCommandDone(cmd, idle),
      },
      {
        capabilities: this.#clientCaps,
        cacheMetadata: (this.#clientMariaDbCaps & MariaDbCapability.CACHE_METADATA) !== 0,
        captureSql: env.hooks.wantsSql || masking !== null,
        refuseLocalInfile: !env.config.limits.allow_local_infile,
        // a TLS client answers full authentication with its password in clear: never onto a plaintext leg
        stopAtFullAuth: this.#clientTls !== null && this.#backendTls === null,
      },
    );
    tracker.observer = masking;
    this.#tracker = tracker;
    this.#clientWalker = new PacketWalker(tracker.fromClient, {
      headLimit: env.hooks.wantsSql || masking !== null ? CLIENT_HEAD_SQL : CLIENT_HEAD_NO_SQL,
      maxPacket: env.config.limits.max_packet,
    });
    // with masking, whole column definitions must be seen (they are small; rows are only counted)
    this.#backendWalker = new PacketWalker(tracker.fromBackend, { headLimit: masking !== null ? MASKING_HEAD : BACKEND_HEAD, maxPacket: 2 ** 31 });
    // the bypass guard must see every statement before it goes upstream: frame the client leg
    if (masking !== null && this.#maskingGuardsStatements) this.#clientFramer = new Framer({ maxPacket: env.config.limits.max_packet });
    this.#setState({ kind: 'ready' });

    this.#lendBackendReads();
    client.on('data', this.#onClientData);
    backend.on('data', this.#onBackendData);
    client.on('drain', () => backend.resume());
    backend.on('drain', () => {
      if (this.#hookWaits === 0 && !this.#clientBlocked) client.resume();
    });
    client.on('error', (e) => this.#log.debug({ err: e.message }, 'client socket error'));
    backend.on('error', (e) => this.#log.debug({ err: e.message }, 'backend socket error'));
    client.on('close', () => this.#close(this.#quit ? 'client_quit' : 'client_gone'));
    backend.on('close', () => this.#onBackendClosed());
    const idle = env.config.limits.idle_timeout;
    if (idle !== undefined) {
      client.setTimeout(idle, () => {
        if (this.#isQuiet()) this.#close('idle_timeout');
      });
    }
    for (const f of backendRest) this.#onBackendData(encodePacket(f.payload(), f.seq));
    for (const f of clientRest) this.#onClientData(encodePacket(f.payload(), f.seq));
  }

  // hot path
  readonly #onClientData = (chunk: Buffer): void => {
    if (this.#clientFramer !== null) return this.#onClientFrames(chunk);
    if (this.#held !== null) return this.#holdMore(chunk);
    const tracker = this.#tracker!;
    const walker = this.#clientWalker!;
    // COM_CHANGE_USER is rewritten (forced switch), so it is gathered whole; one byte check when idle
    if (chunk.length >= 5 && chunk[4] === Command.COM_CHANGE_USER && tracker.inFlight === 0 && walker.atBoundary()) {
      const need = 4 + (chunk[0]! | (chunk[1]! << 8) | (chunk[2]! << 16));
      this.#held = { need, parts: [], have: 0 };
      return this.#holdMore(chunk);
    }
    this.#bytesIn += chunk.length;
    this.#forwardToBackend(chunk);
  };

  /** Feeds the client walker (tracking) and writes upstream, pausing the client when the backend is slow. */
  #forwardToBackend(bytes: Buffer): void {
    try {
      this.#clientWalker!.walk(bytes);
    } catch (e) {
      return this.#fatal(e);
    }
    if (!this.#backend!.write(bytes)) this.#client.pause();
  }

  // hot path
  readonly #onBackendData = (chunk: Buffer): void => {
    if (this.#backendFramer !== null) return this.#onBackendFrames(chunk);
    this.#bytesOut += chunk.length;
    let stop: number;
    try {
      stop = this.#backendWalker!.walk(chunk);
    } catch (e) {
      return this.#fatal(e);
    }
    if (stop < 0) {
      const client = this.#client;
      const ok = this.#discardingBackend || client.write(chunk);
      // written in full already: nobody holds the chunk, its read buffer serves the next read
      if (client.writableLength === 0) this.#backendReads?.release();
      if (!ok) this.#backend!.pause();
      return;
    }
    this.#bytesOut -= chunk.length - stop; // counted again below
    const tracker = this.#tracker!;
    const request = tracker.takeRefusedInfileRequest();
    if (request >= 0) {
      // the LOCAL INFILE request is the packet that ends at `stop`: what precedes it goes out, it does not
      const start = stop - 4 - request;
      if (start < 0 && !this.#discardingBackend) return this.#closeOnSplitInfileRequest();
      if (start > 0 && !this.#discardingBackend) this.#client.write(chunk.subarray(0, start));
      this.#refuseLocalInfile(this.#backendWalker!.lastSeq);
    } else if (tracker.takeRefusedCommandEnd()) {
      this.#discardingBackend = false;
      // a masked cursor's FETCH may follow the refused command
      if (this.#masking !== null && this.#masking.rowPlan !== null) return this.#decodeBackendFrom(chunk.subarray(stop));
    } else if (tracker.takeFullAuthRequest()) {
      // the request (a 6-byte packet) ends at `stop`; split across reads, its start already went out
      return this.#refuseFullAuth(stop >= 6 ? chunk.subarray(0, stop - 6) : null, this.#backendWalker!.lastSeq);
    } else {
      // a result set (or a cursor's fetch) whose rows masking rewrites starts right after `stop`
      if (stop > 0 && !this.#discardingBackend) this.#client.write(chunk.subarray(0, stop));
      return this.#decodeBackendFrom(chunk.subarray(stop));
    }
    if (stop < chunk.length) this.#onBackendData(chunk.subarray(stop));
  };

  #decodeBackendFrom(rest: Buffer): void {
    this.#enterBackendPacketMode();
    if (rest.length > 0) this.#onBackendFrames(rest);
  }

  /**
   * limits.allow_local_infile is false and the server asked for a file anyway (the capability is cleared
   * on both legs, so it is misbehaving, or hostile): the client gets our ERR in place of the request, the
   * server an empty packet (no file, as a client that refuses sends), and the rest of the command's
   * response is not relayed.
   */
  #refuseLocalInfile(requestSeq: number): void {
    this.#log.warn('the server asked for a LOCAL INFILE file: refused (limits.allow_local_infile is false)');
    if (!this.#discardingBackend) this.#client.write(errPacketBytes(new LocalInfileRefused(), requestSeq));
    this.#backend!.write(encodePacket(Buffer.alloc(0), (requestSeq + 1) & 0xff));
    this.#discardingBackend = true;
  }

  /**
   * The server asked for caching_sha2 full authentication in a COM_CHANGE_USER between a TLS client and a
   * plaintext server leg. The client would answer with its password in clear, so it gets ERR 1251 in place
   * of the request (`before`: the bytes ahead of it; null when part of the request already went out), and the
   * connection closes: the server's side of the exchange cannot be finished.
   */
  #refuseFullAuth(before: Buffer | null, seq: number): void {
    const e = new ClearPasswordRefused();
    this.#log.warn('COM_CHANGE_USER: caching_sha2_password full authentication refused (the password would cross the plaintext server leg in clear)');
    if (before !== null) {
      if (before.length > 0) this.#client.write(before);
      this.#client.write(errPacketBytes(e, seq));
    }
    const cmd = this.#tracker!.answering;
    if (cmd !== null) this.#env.hooks.onStatement?.(this.facts, refusedStatement(cmd, { code: e.errno, sqlState: e.sqlState, message: e.message }));
    this.#close('clear_password_refused');
  }

  /** The refused request came in two reads and its first part is already relayed: no ERR can follow it. */
  #closeOnSplitInfileRequest(): void {
    this.#log.warn('the server asked for a LOCAL INFILE file, split across reads: refused by closing the connection (limits.allow_local_infile is false)');
    this.#close('local_infile_refused');
  }

  /** Packet mode on the backend leg: rows of a masked result set are decoded, masked and re-encoded. */
  #onBackendFrames(chunk: Buffer): void {
    const framer = this.#backendFramer!;
    const tracker = this.#tracker!;
    const masking = this.#masking!;
    this.#bytesOut += chunk.length;
    framer.push(chunk);
    const client = this.#client;
    client.cork();
    let ok = true;
    try {
      for (let f = framer.next(); f !== null; f = framer.next()) {
        const original = f.payload();
        let out = original;
        const kind = tracker.rowKind(original[0] ?? -1, f.length);
        const plan = masking.rowPlan;
        if (kind !== null && plan !== null) out = kind === 'text' ? plan.maskTextRow(original) : plan.maskBinaryRow(original);
        const stopped = tracker.fromBackend.onPacket(f.seq, f.length, original, 0, Math.min(f.length, MASKING_HEAD), false) === true;
        if (stopped && tracker.takeRefusedInfileRequest() >= 0) {
          this.#refuseLocalInfile(f.seq);
        } else if (stopped && tracker.takeFullAuthRequest()) {
          client.uncork();
          return this.#refuseFullAuth(Buffer.alloc(0), (f.seq + this.#seqShift) & 0xff);
        } else if (stopped && tracker.takeRefusedCommandEnd()) {
          this.#discardingBackend = false;
        } else if (!this.#discardingBackend) {
          // a rewritten row may need another number of 16 MiB packets: later ids of the response shift
          const seq = (f.seq + this.#seqShift) & 0xff;
          if (out !== original) this.#seqShift += packetCount(out.length) - f.nPackets;
          ok = client.write(encodePacket(out, seq));
        }
        if (tracker.inFlight === 0) this.#seqShift = 0;
      }
    } catch (e) {
      client.uncork();
      return this.#fatal(e);
    }
    client.uncork();
    if (!ok) this.#backend!.pause();
    // back to the zero-copy path once nothing masked is streaming and no packet is half read
    if (framer.pending() === 0 && masking.rowPlan === null) {
      this.#backendFramer = null;
      // the framer holds nothing now and rows went out re-encoded: once the bytes before the masked
      // result set (a view of the lent chunk) are written too, its buffer can serve the next read
      if (client.writableLength === 0) this.#backendReads?.release();
      this.#lendBackendReads();
    }
  }

  /** Masked rows (or a masked cursor's fetch) follow: the backend leg is framed packet by packet. */
  #enterBackendPacketMode(): void {
    this.#backendFramer ??= new Framer({ maxPacket: 2 ** 31 });
    this.#lendBackendReads();
  }

  /**
   * Backend reads are lent (views of the connection's own buffer, reused once released) on the zero-copy
   * path, which releases each chunk once the client write went out; in packet mode (masked rows) the framer
   * may keep pieces across reads, so reads are copied out instead.
   */
  #lendBackendReads(): void {
    if (this.#backendReads !== null) this.#backendReads.lend = this.#backendFramer === null;
  }

  /** Packet mode on the client leg (masking guard): every statement is checked before it goes upstream. */
  #onClientFrames(chunk: Buffer): void {
    this.#bytesIn += chunk.length;
    const framer = this.#clientFramer!;
    // the usual chunk is one whole command: checked and forwarded as it came, without framing a copy
    const h = !this.#clientBlocked && framer.pending() === 0 && chunk.length >= 4 ? readHeader(chunk) : null;
    if (h !== null && h.length < 0xffffff && chunk.length === 4 + h.length) {
      try {
        this.#onClientPacket(chunk.subarray(4), h.seq, chunk);
      } catch (e) {
        this.#fatal(e);
      }
      return;
    }
    framer.push(chunk);
    this.#drainClientFrames();
  }

  #drainClientFrames(): void {
    const framer = this.#clientFramer!;
    try {
      for (let f = this.#clientBlocked ? null : framer.next(); f !== null; f = this.#clientBlocked ? null : framer.next()) {
        this.#onClientPacket(f.payload(), f.seq, null);
      }
    } catch (e) {
      this.#fatal(e);
    }
  }

  /** One client packet in packet mode; `wire` is the packet as received when it came in one chunk. */
  #onClientPacket(payload: Buffer, seq: number, wire: Buffer | null): void {
    if (!this.#tracker!.clientStreaming && seq === 0 && payload.length > 0) {
      if (payload[0] === Command.COM_CHANGE_USER) return this.#forwardChangeUser(wire ?? encodePacket(payload, 0));
      const v = this.#masking!.check(payload);
      if (v.kind === 'reject') return this.#rejectStatement(payload, v.err);
    }
    this.#forwardToBackend(wire ?? encodePacket(payload, seq));
  }

  /**
   * A statement the guard refused: the client gets ERR 1142, the backend never sees it. With commands
   * still in flight the ERR must wait for their responses, so the client leg stops until they end.
   */
  #rejectStatement(payload: Buffer, err: { code: number; sqlState: string; message: string }): void {
    const send = (): void => {
      const cmd: CommandStart = {
        seqNo: 0,
        code: payload[0]!,
        name: commandName(payload[0]!),
        sql: payload.toString('utf8', 1),
        sqlTruncated: false,
        statementId: null,
        startedAt: performance.now(),
      };
      this.#env.hooks.onCommand?.(this.facts, cmd);
      this.#client.write(encodePacket(encodeErr(err), 1));
      this.#statements++;
      this.#env.hooks.onStatement?.(this.facts, refusedStatement(cmd, err));
      this.#log.info({ code: err.code, err: err.message }, 'statement rejected by the masking guard');
    };
    if (this.#tracker!.inFlight === 0) return send();
    this.#clientBlocked = true;
    this.#client.pause();
    this.#whenIdle = () => {
      send();
      this.#clientBlocked = false;
      this.#client.resume();
      this.#drainClientFrames();
    };
  }

  #holdMore(chunk: Buffer): void {
    const held = this.#held!;
    held.parts.push(chunk);
    held.have += chunk.length;
    if (held.have < held.need) return;
    const all = held.parts.length === 1 ? chunk : Buffer.concat(held.parts, held.have);
    this.#held = null;
    this.#bytesIn += held.need;
    this.#forwardChangeUser(all.subarray(0, held.need));
    if (all.length > held.need) this.#onClientData(all.subarray(held.need));
  }

  /** COM_CHANGE_USER re-runs the auth relay: same forced switch as at login (A1.3). */
  #forwardChangeUser(packet: Buffer): void {
    let out = packet;
    try {
      const cu = parseComChangeUser(packet.subarray(4), this.#clientCaps);
      // the session stays on its backend (no re-route); a tagged name loses its tag as at login
      const user = this.#stripsUserTag ? splitUserTag(cu.user, this.#env.config.user_tag_separator).rest : cu.user;
      this.#pendingUser = { user: cu.user, schema: cu.database };
      out = encodePacket(encodeComChangeUser({ ...cu, user, authPluginName: FORCE_SWITCH_PLUGIN, authResponse: Buffer.alloc(0) }, this.#clientCaps), packet[3]!);
    } catch (e) {
      this.#log.info({ err: (e as Error).message }, 'COM_CHANGE_USER not understood; forwarded unchanged');
    }
    this.#forwardToBackend(out);
  }

  #setUpMasking(routeRules: readonly string[] | undefined, response: HandshakeResponse41): void {
    const m = this.#env.masking;
    if (m === null) return;
    const rules = m.policy.forRoute(routeRules);
    if (rules.ruleNames.length === 0) return;
    this.#maskingGuardsStatements = rules.columnGlobs(new Set()).length > 0;
    this.#masking = new MaskingController({
      rules,
      onBypass: m.policy.onBypass,
      grants: m.grants,
      cache: m.cache,
      extendedMetadata: (response.capabilities & Capability.LONG_PASSWORD) === 0 && (response.mariadbCapabilities & MariaDbCapability.EXTENDED_METADATA) !== 0,
      cacheMetadata: () => (this.#clientMariaDbCaps & MariaDbCapability.CACHE_METADATA) !== 0,
      user: () => this.#user ?? '',
      schema: () => this.#schema,
      warn: (message) => this.#log.warn(message),
    });
  }

  #onCommand(cmd: CommandStart): void {
    const masking = this.#masking;
    if (masking !== null) {
      masking.onCommand(cmd);
      // nothing in flight: the backend leg is between packets, so a masked cursor's rows can be decoded from
      // the first packet of this FETCH's response (behind other commands, the tracker asks when they end)
      if (cmd.code === Command.COM_STMT_FETCH && this.#tracker!.inFlight === 0 && masking.onFetchStart(cmd)) this.#enterBackendPacketMode();
    }
    if (cmd.code === Command.COM_QUIT) this.#quit = true;
    this.#env.hooks.onCommand?.(this.facts, cmd);
  }

  /** The client said COM_QUIT: its close is the normal end. */
  #quit = false;

  #onStatement(r: StatementResult): void {
    this.#statements++;
    if (r.error === null) {
      if (r.command.code === Command.COM_INIT_DB && r.command.sql !== null) this.#schema = r.command.sql.slice(5, -1);
      if (r.command.code === Command.COM_CHANGE_USER && this.#pendingUser !== null) {
        this.#user = this.#pendingUser.user;
        this.#schema = this.#pendingUser.schema;
        this.#log = this.#env.log.child({ conn: this.#env.conn, client: this.#clientAddress, user: this.#user, route: this.#route, backend: this.#backendName });
      }
    }
    if (r.command.code === Command.COM_CHANGE_USER) this.#pendingUser = null;
    if (r.command.code === Command.COM_RESET_CONNECTION) this.#tracker?.statements.clear();
    const masked = this.#masking?.takeMasked();
    const wait = this.#env.hooks.onStatement?.(this.facts, masked !== undefined && masked.length > 0 ? { ...r, masked } : r);
    if (wait !== undefined) this.#pauseClientUntil(wait);
  }

  /** Back-pressure from a hook (a full audit queue): stop reading the client until it settles. */
  #pauseClientUntil(p: Promise<void>): void {
    this.#hookWaits++;
    this.#client.pause();
    const done = (): void => {
      if (--this.#hookWaits === 0 && this.#state.kind !== 'closed' && !this.#clientBlocked) this.#client.resume();
    };
    p.then(done, (e: unknown) => {
      this.#log.error({ err: e }, 'session hook failed');
      done();
    });
  }

  #hookWaits = 0;

  #onCommandDone(cmd: CommandStart, idle: boolean): void {
    if (cmd.code === Command.COM_QUIT) return;
    this.#masking?.onCommandDone(cmd);
    if (idle && this.#whenIdle !== null) {
      // a rejected statement waited for this response: answer it after the chunk is written
      const run = this.#whenIdle;
      this.#whenIdle = null;
      queueMicrotask(run);
    }
    // called from inside #onBackendData, before the chunk that ends the response is written to the
    // client: close only after that write, or the statement's last packets are lost (write after end)
    if (idle && this.#env.isDraining()) {
      queueMicrotask(() => {
        if (this.#isQuiet()) this.#close('shutdown');
      });
    }
  }

  #isQuiet(): boolean {
    const t = this.#tracker;
    return t !== null && t.inFlight === 0 && !t.inTransaction && this.#held === null && this.#clientWalker!.atBoundary();
  }

  #onBackendClosed(): void {
    if (this.#state.kind === 'closed') return;
    const t = this.#tracker!;
    const w = this.#backendWalker!;
    // mid-response: tell the client why, when the stream to it sits on a packet boundary
    if (t.inFlight > 0 && w.atBoundary()) {
      this.#client.write(errPacketBytes(new BackendLost('the server closed the connection'), this.#errSeq()));
      this.#log.warn('backend closed the connection mid-response');
    }
    this.#close('backend_gone');
  }

  /** The sequence id for an ERR of Sluice's own in the command phase: the next of the awaited response. */
  #errSeq(): number {
    return ((this.#tracker?.responseSeq ?? 1) + this.#seqShift) & 0xff;
  }

  #fatal(e: unknown): void {
    const s = toSluiceError(e);
    this.#log.warn({ err: s?.message ?? String(e) }, 'closing the connection');
    if (this.#backendWalker?.atBoundary() !== false) {
      this.#client.write(errPacketBytes(e, this.#errSeq()));
    }
    this.#close(s?.code.toLowerCase() ?? 'internal_error');
  }

  #close(reason: string): void {
    if (this.#state.kind === 'closed') return;
    this.#client.end();
    this.#client.destroySoon();
    this.#backend?.destroy();
    this.#finish(reason);
  }

  #finish(reason: string): void {
    if (this.#state.kind === 'closed') return;
    this.#setState({ kind: 'closed', reason });
    this.#env.hooks.onDisconnect?.(this.facts, {
      durationMs: Date.now() - this.#since.getTime(),
      statements: this.#statements,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      reason,
    });
    this.#log.debug({ reason }, 'closed');
    this.#env.onClosed(this);
  }

  #setState(s: SessionState): void {
    this.#state = s;
  }
}

/** A backend's ERR in place of its greeting (e.g. 1040, 1129): relayed to the client unchanged. */
class BackendRefused extends Error {
  readonly payload: Buffer;
  readonly errno: number;
  readonly sqlState: string | null;
  constructor(payload: Buffer) {
    const err = parseErr(payload);
    super(err.message);
    this.errno = err.code;
    this.sqlState = err.sqlState;
    this.payload = Buffer.from(payload); // copy out: the view pins the socket chunk
  }
}

/** What the hooks see of a statement Sluice answered with an ERR of its own (nothing of it was relayed). */
function refusedStatement(command: CommandStart, error: StatementError): StatementResult {
  return { command, index: 0, rows: 0, affectedRows: 0, lastInsertId: 0, warnings: 0, error, bytesOut: 0, durationNs: (performance.now() - command.startedAt) * 1e6 };
}

function formatEndpoint(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Adds `_client_addr` to the connect attributes sent upstream (when attributes are negotiated at all). */
function withClientAddress(attrs: Array<[string, string]> | null, caps: number, addr: string): Array<[string, string]> | null {
  if ((caps & Capability.CONNECT_ATTRS) === 0) return attrs;
  return [...(attrs ?? []).filter(([k]) => k !== '_client_addr'), ['_client_addr', addr]];
}

function randomScramble(): Buffer {
  // printable, NUL-free bytes: some clients treat the scramble as a C string
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) b[i] = 0x21 + (b[i]! % 0x5e);
  return b;
}
