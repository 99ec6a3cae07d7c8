// TEST-ONLY scripted server peer speaking MySQL 8's caching_sha2_password exchanges (no MySQL 8 here).
// It greets, forces an AuthSwitchRequest(caching_sha2_password, fresh nonce) whenever the response's
// plugin is another one (what a real server does to the gateway's forced switch), then runs the fast
// path (`01 03` + OK) or full auth (`01 04`; `02` → `01`+PEM → RSA-OAEP(SHA1) of (pw+NUL)⊕nonce, or
// cleartext when `trustCleartext`). Like the real server, the cache fills on a successful full auth.
// COM_CHANGE_USER runs the same exchange after a switch.
// With `tls`, the greeting offers CLIENT_SSL and an SSLRequest switches the link to TLS (then seq 2);
// a TLS link counts as secure, so full auth accepts the cleartext password on it.
import { createHash, generateKeyPair, privateDecrypt, constants as cryptoConstants, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import {
  Capability,
  Framer,
  ServerStatus,
  encodePacket,
  encodeHandshakeV10,
  parseHandshakeResponse41,
  parseComChangeUser,
  encodeAuthSwitchRequest,
  encodeAuthMoreData,
  encodeOk,
  encodeErr,
  encodeColumnDefinition41,
  encodeTextRow,
  encodeEof,
} from '../../src/protocol/index.ts';

export const CACHING_SHA2 = 'caching_sha2_password';
export const SERVER_VERSION = '8.0.36-sluice-test';

export type CachingSha2Event = 'fast-auth-ok' | 'full-auth-rsa-ok' | 'full-auth-cleartext-ok' | 'auth-failed';

export interface CachingSha2ServerOptions {
  /** user → password */
  users: Record<string, string>;
  /** every user starts in the server's cache, so the fast path is possible (default false: first login does full auth) */
  cached?: boolean;
  /** plugin named in the greeting (default caching_sha2_password) */
  defaultPlugin?: 'caching_sha2_password' | 'mysql_native_password';
  /** treat the link as secure (like a unix socket): accept a cleartext password in full auth (default false) */
  trustCleartext?: boolean;
  /** PEM files: offer TLS (CLIENT_SSL) and accept an SSLRequest; a TLS link is secure (cleartext full auth ok) */
  tls?: { cert: string; key: string };
}

export interface CachingSha2Server {
  port: number;
  host: '127.0.0.1';
  /** one entry per finished authentication: 'fast-auth-ok' | 'full-auth-rsa-ok' | 'full-auth-cleartext-ok' | 'auth-failed' */
  events: string[];
  /** PEM of the server's RSA public key (what `02` returns) */
  publicKeyPem: string;
  /** TLS protocol version of each connection that switched to TLS, in order ('TLSv1.3') */
  tlsVersions: string[];
  stop(): Promise<void>;
}

const SERVER_CAPS =
  Capability.LONG_PASSWORD |
  Capability.FOUND_ROWS |
  Capability.LONG_FLAG |
  Capability.CONNECT_WITH_DB |
  Capability.PROTOCOL_41 |
  Capability.TRANSACTIONS |
  Capability.SECURE_CONNECTION |
  Capability.MULTI_STATEMENTS |
  Capability.MULTI_RESULTS |
  Capability.PLUGIN_AUTH |
  Capability.CONNECT_ATTRS |
  Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA;

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i % b.length] as number);
  return out;
}

/** 20 printable bytes (MySQL's salts never contain NUL or '$'). */
function nonce(): Buffer {
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) b[i] = 0x21 + ((b[i] as number) % 0x5d);
  return b;
}

let keyPair: Promise<{ publicKey: KeyObject; privateKey: KeyObject }> | null = null;
function rsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  // one 2048-bit key per process is plenty for tests (generation costs ~100 ms)
  keyPair ??= new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    });
  });
  return keyPair;
}

type State =
  | { kind: 'greeted'; scramble: Buffer }
  | { kind: 'switched'; user: string; nonce: Buffer }
  | { kind: 'fullAuth'; user: string; nonce: Buffer }
  | { kind: 'command'; user: string }
  | { kind: 'closed' };

export async function startCachingSha2Server(opts: CachingSha2ServerOptions): Promise<CachingSha2Server> {
  const { publicKey, privateKey } = await rsaKeyPair();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const events: string[] = [];
  // the server's cache: user → SHA256(SHA256(password))
  const cache = new Map<string, Buffer>();
  if (opts.cached === true) {
    for (const [u, pw] of Object.entries(opts.users)) cache.set(u, sha256(sha256(Buffer.from(pw))));
  }
  const sockets = new Set<Socket>();
  const tlsVersions: string[] = [];
  const secureContext = opts.tls === undefined ? null : tls.createSecureContext({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) });
  const greetingCaps = (SERVER_CAPS | (secureContext !== null ? Capability.SSL : 0)) >>> 0;
  let nextConnId = 1;

  const server = createServer((raw) => {
    let sock: Socket = raw;
    let secure = opts.trustCleartext === true;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let framer = new Framer();
    /** bytes received before any switch to TLS (the SSLRequest is the first packet: what follows it is TLS) */
    const plain: Buffer[] = [];
    let caps = SERVER_CAPS;
    const remote = (sock.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const send = (payload: Buffer, seq: number): void => {
      sock.write(encodePacket(payload, seq));
    };
    const ok = (seq: number): void =>
      send(
        encodeOk(
          { header: 0x00, affectedRows: 0, lastInsertId: 0, statusFlags: ServerStatus.AUTOCOMMIT, warnings: 0, info: '', sessionStateChanges: null },
          caps,
        ),
        seq,
      );
    const deny = (user: string, seq: number, usedPassword: boolean): void => {
      events.push('auth-failed');
      const message = `Access denied for user '${user}'@'${remote}' (using password: ${usedPassword ? 'YES' : 'NO'})`;
      send(encodeErr({ code: 1045, sqlState: '28000', message }), seq);
      state = { kind: 'closed' };
      sock.end();
    };
    const granted = (user: string, seq: number, event: CachingSha2Event): void => {
      events.push(event);
      ok(seq);
      state = { kind: 'command', user };
    };

    /** The scramble answer (fast-path attempt) against `n`; `seq` is the next server seq. */
    const onScramble = (user: string, data: Buffer, n: Buffer, seq: number): void => {
      const password = opts.users[user];
      if (data.length === 0) {
        // empty password: no fast/full exchange at all
        if (password === '') granted(user, seq, 'fast-auth-ok');
        else deny(user, seq, false);
        return;
      }
      const stored = cache.get(user);
      if (password !== undefined && stored !== undefined && data.length === 32) {
        const candidate = xor(data, sha256(stored, n));
        if (timingSafeEqual(sha256(candidate), stored)) {
          send(encodeAuthMoreData({ data: Buffer.from([0x03]) }), seq);
          granted(user, seq + 1, 'fast-auth-ok');
          return;
        }
      }
      send(encodeAuthMoreData({ data: Buffer.from([0x04]) }), seq);
      state = { kind: 'fullAuth', user, nonce: n };
    };

    const onFullAuth = (user: string, n: Buffer, data: Buffer, seq: number): void => {
      if (data.length === 1 && data[0] === 0x02) {
        send(encodeAuthMoreData({ data: Buffer.from(publicKeyPem) }), seq);
        return;
      }
      const password = opts.users[user];
      if (secure && data.length > 0 && data[data.length - 1] === 0 && data.length < 256) {
        const given = data.subarray(0, data.length - 1).toString('utf8');
        if (password !== undefined && given === password) {
          cache.set(user, sha256(sha256(Buffer.from(password))));
          granted(user, seq, 'full-auth-cleartext-ok');
        } else deny(user, seq, true);
        return;
      }
      let plain: Buffer;
      try {
        plain = xor(
          privateDecrypt({ key: privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, data),
          n,
        );
      } catch {
        deny(user, seq, true);
        return;
      }
      const end = plain.indexOf(0);
      const given = plain.subarray(0, end < 0 ? plain.length : end).toString('utf8');
      if (password !== undefined && given === password) {
        cache.set(user, sha256(sha256(Buffer.from(password))));
        granted(user, seq, 'full-auth-rsa-ok');
      } else deny(user, seq, true);
    };

    const onCommand = (user: string, payload: Buffer): void => {
      const cmd = payload[0];
      if (cmd === 0x01) {
        // COM_QUIT
        state = { kind: 'closed' };
        sock.end();
      } else if (cmd === 0x0e || cmd === 0x02 || cmd === 0x1f) {
        // COM_PING, COM_INIT_DB, COM_RESET_CONNECTION
        ok(1);
      } else if (cmd === 0x11) {
        // COM_CHANGE_USER: a switch to caching_sha2_password with a fresh nonce (what the server does to the
        // gateway's forced switch), then the fast path or full authentication as at login
        const cu = parseComChangeUser(payload, caps);
        const n = nonce();
        send(encodeAuthSwitchRequest({ pluginName: CACHING_SHA2, pluginData: Buffer.concat([n, Buffer.from([0])]) }), 1);
        state = { kind: 'switched', user: cu.user, nonce: n };
      } else if (cmd === 0x03) {
        // COM_QUERY: one row, one column, the value is the logged-in user; `… AS name` names the column
        const sql = payload.toString('utf8', 1);
        const name = /\bAS\s+`?(\w+)`?\s*;?\s*$/i.exec(sql)?.[1] ?? 'user';
        const col = encodeColumnDefinition41({
          catalog: 'def', schema: '', table: '', orgTable: '', name, orgName: '', extendedMetadata: null,
          charset: 45, columnLength: 1024, type: 0xfd /* VAR_STRING */, flags: 0, decimals: 0x1f,
        });
        const eof = encodeEof({ warnings: 0, statusFlags: ServerStatus.AUTOCOMMIT });
        sock.write(
          Buffer.concat([
            encodePacket(Buffer.from([1]), 1),
            encodePacket(col, 2),
            encodePacket(eof, 3),
            encodePacket(encodeTextRow([user]), 4),
            encodePacket(eof, 5),
          ]),
        );
      } else {
        send(encodeErr({ code: 1047, sqlState: '08S01', message: 'Unknown command' }), 1);
      }
    };

    const greetingScramble = nonce();
    let state: State = { kind: 'greeted', scramble: greetingScramble };
    send(
      encodeHandshakeV10({
        protocolVersion: 10,
        serverVersion: SERVER_VERSION,
        connectionId: nextConnId++,
        scramble: greetingScramble,
        capabilities: greetingCaps,
        charset: 255,
        statusFlags: ServerStatus.AUTOCOMMIT,
        mariadbCapabilities: 0,
        authPluginName: opts.defaultPlugin ?? CACHING_SHA2,
      }),
      0,
    );

    const onData = (chunk: Buffer): void => {
      if (sock === raw) plain.push(chunk);
      framer.push(chunk);
      for (;;) {
        let f;
        try {
          f = framer.next();
        } catch {
          sock.destroy();
          return;
        }
        if (f === null || state.kind === 'closed') return;
        const payload = f.payload();
        const seq = (f.seq + 1) & 0xff;
        switch (state.kind) {
          case 'greeted': {
            if (secureContext !== null && payload.length === 32 && (payload.readUInt32LE(0) & Capability.SSL) !== 0 && sock === raw) {
              // SSLRequest: the TLS handshake follows on the same socket; the response comes at seq 2 inside it
              raw.off('data', onData);
              // a client may send its ClientHello right behind the SSLRequest: hand those bytes to TLS
              raw.pause();
              const early = Buffer.concat(plain).subarray(4 + payload.length);
              if (early.length > 0) raw.unshift(early);
              framer = new Framer();
              const t = new tls.TLSSocket(raw, { isServer: true, secureContext });
              t.on('error', () => {});
              t.once('secure', () => {
                secure = true;
                tlsVersions.push(t.getProtocol() ?? 'unknown');
              });
              t.on('data', onData);
              sock = t;
              return;
            }
            let hr;
            try {
              hr = parseHandshakeResponse41(payload);
            } catch {
              send(encodeErr({ code: 1043, sqlState: '08S01', message: 'Bad handshake' }), seq);
              state = { kind: 'closed' };
              sock.end();
              return;
            }
            caps = (SERVER_CAPS & hr.capabilities) >>> 0;
            if ((hr.capabilities & Capability.SSL) !== 0 && sock === raw) {
              // CLIENT_SSL in a plaintext response (we never offered TLS, or no SSLRequest came first): a client bug
              send(encodeErr({ code: 1043, sqlState: '08S01', message: 'Bad handshake' }), seq);
              state = { kind: 'closed' };
              sock.end();
              return;
            }
            if (hr.authPluginName === CACHING_SHA2) {
              onScramble(hr.user, hr.authResponse, state.scramble, seq);
            } else {
              const n = nonce();
              send(encodeAuthSwitchRequest({ pluginName: CACHING_SHA2, pluginData: Buffer.concat([n, Buffer.from([0])]) }), seq);
              state = { kind: 'switched', user: hr.user, nonce: n };
            }
            break;
          }
          case 'switched':
            onScramble(state.user, payload, state.nonce, seq);
            break;
          case 'fullAuth':
            onFullAuth(state.user, state.nonce, payload, seq);
            break;
          case 'command':
            onCommand(state.user, payload);
            break;
          default: {
            const never: never = state;
            throw new Error(`unexpected state ${JSON.stringify(never)}`);
          }
        }
      }
    };
    sock.on('data', onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | null = null;
  return {
    port,
    host: '127.0.0.1',
    events,
    publicKeyPem,
    tlsVersions,
    stop(): Promise<void> {
      stopped ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return stopped;
    },
  };
}
