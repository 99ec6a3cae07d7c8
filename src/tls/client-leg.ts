// The client leg: Sluice is the TLS server (DESIGN §3 step 2, §5.3 `listeners[].tls`). Builds the
// default and per-SNI certificates, optional client-certificate verification and the minimum
// version, and wraps an accepted socket after the SSLRequest. Each listener gets one instance;
// `reload()` swaps the certificates for new handshakes only, live sessions keep theirs.
//
// The socket is handed to a tls.Server that never listens (`server.emit('connection', socket)`),
// not to a bare `new TLSSocket(socket, {isServer: true})`: only tls.Server's connection listener
// checks a client certificate against `ca` (a bare server-side TLSSocket completes the handshake
// with an untrusted client certificate and reports `authorized: false`) and releases control so
// later TLS errors surface as 'error' events. The caller must have detached its own listeners and
// consumed nothing past the SSLRequest (STYLE §4).
import type net from 'node:net';
import tls from 'node:tls';
import type pino from 'pino';
import type { ClientTlsConfig } from '../config/types.ts';
import { HandshakeTimeout } from '../errors.ts';
import { describeTlsError } from './describe-error.ts';
import { TlsFileError, loadCaBundle, loadKeyPair, validityProblem } from './files.ts';
import { generateSelfSigned } from './self-signed.ts';
import type { SelfSignedCert } from './self-signed.ts';
import { compileNameGlob } from './server-name.ts';
import type { NameMatcher } from './server-name.ts';

export { generateSelfSigned } from './self-signed.ts';
export { describeTlsError } from './describe-error.ts';

export interface ClientLegUpgrade {
  socket: tls.TLSSocket;
  /** "TLSv1.3" */
  version: string;
  /** OpenSSL/IANA cipher name, e.g. "TLS_AES_256_GCM_SHA384" */
  cipher: string;
  /** The server name the client sent (SNI), lower-cased; null when it sent none. */
  sni: string | null;
  /** Subject CN of the client certificate when `client_ca` verified one. */
  peerCertificate: string | null;
}

export interface ClientLegTls {
  readonly fingerprint256: string | null;
  /** Wraps an accepted plaintext socket after the SSLRequest; resolves once the TLS handshake is done. */
  upgrade(socket: net.Socket, timeoutMs: number): Promise<ClientLegUpgrade>;
  /** Re-reads cert/key/sni certs/client_ca; throws (naming the file) and keeps the old contexts on failure. */
  reload(): void;
}

/** A failed client-leg handshake; `reason` is short words ("no common TLS version", …). */
export class ClientTlsHandshakeError extends Error {
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`client TLS handshake failed: ${reason}`, options);
    this.name = 'ClientTlsHandshakeError';
    this.reason = reason;
  }
}

interface SniEntry {
  readonly names: readonly string[];
  readonly matchers: readonly NameMatcher[];
  readonly context: tls.SecureContext;
}

interface Material {
  readonly defaultOptions: tls.SecureContextOptions;
  readonly sni: readonly SniEntry[];
}

interface Pending {
  resolve(u: ClientLegUpgrade): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

// Same value on every context: TLS 1.2 session-id resumption with client certificates needs one.
const SESSION_ID_CONTEXT = 'sluice-client-leg';

function subjectCn(cert: tls.PeerCertificate): string | null {
  const cn: unknown = (cert.subject as Record<string, unknown> | undefined)?.['CN'];
  if (typeof cn === 'string') return cn;
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0];
  return null;
}

// Node sets `_parent` to the wrapped net.Socket (lib/_tls_wrap.js); it is how a 'secureConnection'
// or 'tlsClientError' is matched to the upgrade() call that emitted the connection.
function parentOf(s: tls.TLSSocket): unknown {
  return (s as unknown as { _parent?: unknown })._parent;
}

class ClientLeg implements ClientLegTls {
  readonly fingerprint256: string | null;
  readonly #cfg: ClientTlsConfig;
  readonly #log: pino.Logger;
  readonly #generated: SelfSignedCert | null;
  readonly #requireClientCert: boolean;
  readonly #server: tls.Server;
  readonly #pending = new Map<unknown, Pending>();
  #material: Material;

  constructor(cfg: ClientTlsConfig, log: pino.Logger, previous: SelfSignedCert | null = null) {
    this.#cfg = cfg;
    this.#log = log;
    if ((cfg.cert === undefined) !== (cfg.key === undefined)) {
      throw new TlsFileError('client TLS: `cert` and `key` must be given together (or neither, for a generated self-signed certificate)');
    }
    if (cfg.cert === undefined && previous !== null) {
      // a reload keeps the generated certificate: it changes only on a restart (docs/tls.md "Reload")
      this.#generated = previous;
      this.fingerprint256 = previous.fingerprint256;
    } else if (cfg.cert === undefined) {
      this.#generated = generateSelfSigned();
      this.fingerprint256 = this.#generated.fingerprint256;
      log.info({ fingerprint256: this.fingerprint256, names: ['localhost', '127.0.0.1', '::1'] },
        'client TLS: no certificate configured, generated a self-signed one (CN sluice, valid 1 year); pin this SHA-256 fingerprint or use a real certificate');
    } else {
      this.#generated = null;
      this.fingerprint256 = null;
    }
    this.#requireClientCert = cfg.client_ca !== undefined;
    this.#material = this.#load();
    this.#server = tls.createServer({
      ...this.#material.defaultOptions,
      requestCert: this.#requireClientCert,
      rejectUnauthorized: this.#requireClientCert,
      SNICallback: (name, cb) => cb(null, this.#contextFor(name)),
    });
    this.#server.on('secureConnection', (s: tls.TLSSocket) => this.#onSecure(s));
    this.#server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => this.#onError(e, s));
  }

  /** Reads every file; throws a TlsFileError naming the file. Pure apart from logging. */
  #load(): Material {
    const cfg = this.#cfg;
    let cert: string;
    let key: string;
    if (this.#generated !== null) {
      ({ cert, key } = this.#generated);
    } else {
      const pair = loadKeyPair(cfg.cert ?? '', cfg.key ?? '', 'client TLS');
      const problem = validityProblem(pair.x509, cfg.cert ?? '');
      if (problem !== null) this.#log.warn(`client TLS: ${problem}`);
      ({ cert, key } = pair);
    }
    const ca = cfg.client_ca === undefined ? undefined : loadCaBundle(cfg.client_ca, 'client TLS client_ca');
    const defaultOptions: tls.SecureContextOptions = {
      cert,
      key,
      minVersion: cfg.min_version,
      sessionIdContext: SESSION_ID_CONTEXT,
      ...(ca === undefined ? {} : { ca }),
    };
    tls.createSecureContext(defaultOptions); // throws now rather than inside setSecureContext

    const sni = cfg.sni.map((entry, i): SniEntry => {
      const pair = loadKeyPair(entry.cert, entry.key, `client TLS sni[${i}]`);
      const problem = validityProblem(pair.x509, entry.cert);
      if (problem !== null) this.#log.warn(`client TLS sni[${i}]: ${problem}`);
      return {
        names: entry.names,
        matchers: entry.names.map(compileNameGlob),
        // Only cert, key and chain are taken from an SNI context; verification and versions stay the default's.
        context: tls.createSecureContext({ cert: pair.cert, key: pair.key, sessionIdContext: SESSION_ID_CONTEXT }),
      };
    });
    return { defaultOptions, sni };
  }

  /** The generated self-signed certificate in use, if any (handed to the next instance on reload). */
  get generated(): SelfSignedCert | null {
    return this.#generated;
  }

  #contextFor(serverName: string): tls.SecureContext | undefined {
    for (const e of this.#material.sni) {
      if (e.matchers.some((m) => m(serverName))) return e.context;
    }
    return undefined; // the default certificate
  }

  upgrade(socket: net.Socket, timeoutMs: number): Promise<ClientLegUpgrade> {
    return new Promise<ClientLegUpgrade>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending.get(socket)?.timer !== timer) return;
        this.#pending.delete(socket);
        reject(new HandshakeTimeout(timeoutMs));
        socket.destroy();
      }, timeoutMs);
      timer.unref();
      this.#pending.set(socket, { resolve, reject, timer });
      this.#server.emit('connection', socket);
    });
  }

  #take(s: tls.TLSSocket): Pending | undefined {
    const key = parentOf(s);
    const p = this.#pending.get(key);
    if (p !== undefined) {
      clearTimeout(p.timer);
      this.#pending.delete(key);
    }
    return p;
  }

  #onSecure(s: tls.TLSSocket): void {
    const p = this.#take(s);
    if (p === undefined) {
      s.destroy(); // timed out meanwhile
      return;
    }
    const servername = s.servername;
    p.resolve({
      socket: s,
      version: s.getProtocol() ?? 'unknown',
      cipher: s.getCipher().name,
      sni: typeof servername === 'string' && servername !== '' ? servername.toLowerCase() : null,
      peerCertificate: this.#requireClientCert && s.authorized ? subjectCn(s.getPeerCertificate()) : null,
    });
  }

  #onError(e: Error, s: tls.TLSSocket): void {
    const p = this.#take(s);
    if (p === undefined) return;
    // tls.Server destroys a socket whose certificate failed verification without an error of its own.
    const authErr = s.authorizationError;
    const reason = authErr
      ? `client certificate rejected: ${describeTlsError(Object.assign(new Error(String(authErr)), { code: String(authErr) }))}`
      : describeTlsError(e);
    this.#log.info({ reason, err: e.message }, 'client TLS handshake failed');
    p.reject(new ClientTlsHandshakeError(reason, { cause: e }));
    s.destroy();
  }

  reload(): void {
    const next = this.#load(); // throws, naming the file, and leaves everything as it was
    this.#server.setSecureContext(next.defaultOptions);
    this.#material = next;
    this.#log.info({ sni: next.sni.map((e) => e.names) }, 'client TLS certificates reloaded');
  }
}

/**
 * Throws a TlsFileError naming the file for unreadable or mismatched key/cert. `previous` (the instance a
 * reload replaces) passes on its generated self-signed certificate, so that it survives reloads.
 */
export function buildClientLegTls(cfg: ClientTlsConfig, log: pino.Logger, previous: ClientLegTls | null = null): ClientLegTls {
  return new ClientLeg(cfg, log, previous instanceof ClientLeg ? previous.generated : null);
}
