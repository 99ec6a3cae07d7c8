// The server leg: Sluice is the TLS client (DESIGN §3 step 4, §5.3 `backends[].tls`). One instance
// per backend holds its SecureContext (CA, CRL, optional client certificate) and verifies per
// `verify`: none (encrypt only), ca (chain and CRL, any name) or identity (chain, CRL and the
// name: `server_name`, else the host of the address; IP literals are checked against IP SANs and
// never sent as SNI). Every failure rejects with UpstreamTlsError naming the cause in words.
// TLS sessions are cached per identity for resumption and dropped on reload.
import type net from 'node:net';
import tls from 'node:tls';
import type pino from 'pino';
import type { BackendTlsConfig } from '../config/types.ts';
import { UpstreamTlsError } from '../errors.ts';
import { describeTlsError } from './describe-error.ts';
import { TlsFileError, loadCaBundle, loadCrl, loadKeyPair, validityProblem } from './files.ts';
import { bareHost, isIpLiteral } from './server-name.ts';

export { describeTlsError } from './describe-error.ts';
export { generateSelfSigned } from './self-signed.ts';

export interface BackendLegUpgrade {
  socket: tls.TLSSocket;
  version: string;
  cipher: string;
}

export interface BackendLegTls {
  /** After the upstream SSLRequest was written: wraps the socket and verifies; rejects with UpstreamTlsError. */
  upgrade(socket: net.Socket, opts: { host: string; timeoutMs: number }): Promise<BackendLegUpgrade>;
  /** Re-reads ca/crl/cert/key; throws (naming the file) and keeps the old context on failure. */
  reload(): void;
}

const MAX_CACHED_SESSIONS = 64;

class BackendLeg implements BackendLegTls {
  readonly #cfg: BackendTlsConfig;
  readonly #log: pino.Logger;
  #context: tls.SecureContext;
  readonly #sessions = new Map<string, Buffer>();

  constructor(cfg: BackendTlsConfig, log: pino.Logger) {
    this.#cfg = cfg;
    this.#log = log;
    if ((cfg.cert === undefined) !== (cfg.key === undefined)) {
      throw new TlsFileError('backend TLS: client certificate `cert` and `key` must be given together');
    }
    if (cfg.verify !== 'none' && cfg.ca === undefined) {
      log.warn(`backend TLS: verify ${cfg.verify} without \`ca\` uses the system's default CA store`);
    }
    this.#context = this.#load();
  }

  #load(): tls.SecureContext {
    const cfg = this.#cfg;
    const opts: tls.SecureContextOptions = {};
    if (cfg.ca !== undefined) opts.ca = loadCaBundle(cfg.ca, 'backend TLS ca');
    if (cfg.crl !== undefined) opts.crl = loadCrl(cfg.crl, 'backend TLS crl');
    if (cfg.cert !== undefined && cfg.key !== undefined) {
      const pair = loadKeyPair(cfg.cert, cfg.key, 'backend TLS client');
      const problem = validityProblem(pair.x509, cfg.cert);
      if (problem !== null) this.#log.warn(`backend TLS client certificate: ${problem}`);
      opts.cert = pair.cert;
      opts.key = pair.key;
    }
    try {
      return tls.createSecureContext(opts);
    } catch (e) {
      const files = [cfg.ca, cfg.crl, cfg.cert, cfg.key].filter((f) => f !== undefined).join(', ');
      throw new TlsFileError(`backend TLS: OpenSSL rejected ${files}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  upgrade(socket: net.Socket, opts: { host: string; timeoutMs: number }): Promise<BackendLegUpgrade> {
    const verify = this.#cfg.verify;
    const host = bareHost(opts.host);
    const identity = this.#cfg.server_name ?? host;
    const sessionKey = `${verify}|${identity}|${host}`;
    const connectOpts: tls.ConnectionOptions = {
      socket,
      secureContext: this.#context,
      rejectUnauthorized: verify !== 'none',
      // Node's own check runs against `servername`/`host`; use ours so IP identities work without SNI.
      checkServerIdentity: verify === 'identity' ? (_h, cert) => tls.checkServerIdentity(identity, cert) : () => undefined,
    };
    // RFC 6066: SNI carries DNS names only.
    if (!isIpLiteral(identity)) connectOpts.servername = identity;
    const cached = this.#sessions.get(sessionKey);
    if (cached !== undefined) connectOpts.session = cached;

    return new Promise<BackendLegUpgrade>((resolve, reject) => {
      let settled = false;
      const tlsSocket = tls.connect(connectOpts);
      const fail = (reason: string, cause?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#sessions.delete(sessionKey);
        this.#log.warn({ reason, host: opts.host, identity, verify }, 'backend TLS handshake failed');
        reject(new UpstreamTlsError(reason, { cause }));
        tlsSocket.destroy();
      };
      const timer = setTimeout(() => fail(`TLS handshake not completed within ${opts.timeoutMs} ms`), opts.timeoutMs);
      timer.unref();
      const onError = (e: Error): void => fail(describeTlsError(e), e);
      const onClose = (): void => fail('connection closed during the TLS handshake (the server may not support TLS)');
      tlsSocket.on('session', (s: Buffer) => {
        if (this.#sessions.size >= MAX_CACHED_SESSIONS && !this.#sessions.has(sessionKey)) {
          const oldest = this.#sessions.keys().next();
          if (oldest.done !== true) this.#sessions.delete(oldest.value);
        }
        this.#sessions.set(sessionKey, s);
      });
      tlsSocket.once('error', onError);
      tlsSocket.once('close', onClose);
      tlsSocket.once('secureConnect', () => {
        if (settled) return;
        // With rejectUnauthorized Node destroys the socket before 'secureConnect' on failure; this
        // is a second guard in case the verification result is ever reported without an error.
        if (verify !== 'none' && !tlsSocket.authorized) {
          const code = String(tlsSocket.authorizationError ?? 'CERT_REJECTED');
          fail(describeTlsError(Object.assign(new Error(code), { code })));
          return;
        }
        settled = true;
        clearTimeout(timer);
        tlsSocket.off('error', onError);
        tlsSocket.off('close', onClose);
        resolve({ socket: tlsSocket, version: tlsSocket.getProtocol() ?? 'unknown', cipher: tlsSocket.getCipher().name });
      });
    });
  }

  reload(): void {
    const next = this.#load(); // throws, naming the file, and keeps the old context
    this.#context = next;
    this.#sessions.clear(); // a session from before a CA/CRL change must not skip the new checks
    this.#log.info('backend TLS material reloaded');
  }
}

export function buildBackendLegTls(cfg: BackendTlsConfig, log: pino.Logger): BackendLegTls {
  return new BackendLeg(cfg, log);
}
