// A raw MySQL-protocol client on a plain `net` socket for robustness tests: it reads whole frames with the
// protocol Framer, sends arbitrary bytes, and every wait has a deadline that fails the test instead of
// hanging. `login()` speaks mysql_native_password (also after an AuthSwitchRequest), enough to reach the
// command phase of a MariaDB backend through Sluice.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  Capability,
  Framer,
  encodeHandshakeResponse41,
  encodePacket,
  isErrPacket,
  parseAuthSwitchRequest,
  parseErr,
  parseHandshakeV10,
  type ErrPacket,
  type Frame,
  type HandshakeV10,
} from '../../src/protocol/index.ts';

export const RAW_CLIENT_CAPS =
  Capability.LONG_PASSWORD |
  Capability.LONG_FLAG |
  Capability.CONNECT_WITH_DB |
  Capability.PROTOCOL_41 |
  Capability.TRANSACTIONS |
  Capability.SECURE_CONNECTION |
  Capability.MULTI_RESULTS |
  Capability.PLUGIN_AUTH |
  Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA;

const sha1 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** mysql_native_password: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw))). */
export function nativeScramble(password: string, nonce: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const s1 = sha1(Buffer.from(password));
  const s2 = sha1(nonce.subarray(0, 20), sha1(s1));
  for (let i = 0; i < s1.length; i++) s1[i] = s1[i]! ^ s2[i]!;
  return s1;
}

export function handshakeResponse(user: string, authResponse: Buffer, opts: { database?: string | null; plugin?: string; caps?: number } = {}): Buffer {
  return encodeHandshakeResponse41({
    capabilities: opts.caps ?? RAW_CLIENT_CAPS,
    maxPacketSize: 1 << 24,
    charset: 45,
    mariadbCapabilities: 0,
    user,
    authResponse,
    database: opts.database ?? null,
    authPluginName: opts.plugin ?? 'mysql_native_password',
    connectAttributes: null,
  });
}

export class RawClient {
  readonly socket: Socket;
  readonly #framer = new Framer();
  readonly #frames: Frame[] = [];
  #closed = false;
  #error: unknown = null;
  #wake: (() => void) | null = null;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#framer.push(chunk);
      try {
        for (let f = this.#framer.next(); f !== null; f = this.#framer.next()) this.#frames.push(f);
      } catch (e) {
        this.#error = e;
      }
      this.#poke();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#closed = true;
        this.#poke();
        resolve();
      });
    });
  }

  static open(port: number, host = '127.0.0.1', timeoutMs = 3000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** The next frame, or null when the peer closed first; rejects after `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.#frames.shift();
      if (f !== undefined) return f;
      if (this.#error !== null) throw this.#error;
      if (this.#closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet and no close within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async greeting(timeoutMs = 3000): Promise<HandshakeV10> {
    const f = await this.next(timeoutMs);
    if (f === null) throw new Error('closed before the greeting');
    const p = f.payload();
    if (isErrPacket(p)) throw new Error(`ERR in place of the greeting: ${JSON.stringify(parseErr(p))}`);
    return parseHandshakeV10(p);
  }

  /** Reads the next frame, which must be an ERR; returns it with its sequence id. */
  async expectErr(timeoutMs = 3000): Promise<ErrPacket & { seq: number }> {
    const f = await this.next(timeoutMs);
    if (f === null) throw new Error('closed without an ERR packet');
    const p = f.payload();
    if (!isErrPacket(p)) throw new Error(`expected an ERR packet, got 0x${p.toString('hex', 0, Math.min(p.length, 16))}`);
    return { ...parseErr(p), seq: f.seq };
  }

  /** Waits for the peer to close; fails on a deadline. Returns the frames that came before the close. */
  async expectClose(timeoutMs = 3000): Promise<Frame[]> {
    const seen: Frame[] = [];
    for (;;) {
      const f = await this.next(timeoutMs);
      if (f === null) return seen;
      seen.push(f);
    }
  }

  send(payload: Buffer, seq: number): void {
    this.socket.write(encodePacket(payload, seq));
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Full mysql_native_password login; resolves after the OK, rejects with the ERR. */
  async login(user: string, password: string, database: string | null = null, opts: { caps?: number } = {}): Promise<void> {
    const g = await this.greeting();
    return this.authenticate(user, password, g.scramble, database, opts);
  }

  /** The rest of login() once the greeting is read: the HandshakeResponse41 for `nonce`, then any auth switch. */
  async authenticate(user: string, password: string, nonce: Buffer, database: string | null = null, opts: { caps?: number } = {}): Promise<void> {
    this.send(handshakeResponse(user, nativeScramble(password, nonce), { database, ...opts }), 1);
    for (;;) {
      const f = await this.next();
      if (f === null) throw new Error('closed during login');
      const p = f.payload();
      if (p[0] === 0x00) return;
      if (p[0] === 0xff) throw Object.assign(new Error(parseErr(p).message), parseErr(p));
      if (p[0] === 0xfe) {
        const sw = parseAuthSwitchRequest(p);
        if (sw.pluginName !== 'mysql_native_password') throw new Error(`cannot do ${sw.pluginName}`);
        this.send(nativeScramble(password, sw.pluginData), (f.seq + 1) & 0xff);
        continue;
      }
      throw new Error(`unexpected auth packet 0x${p.toString('hex', 0, Math.min(p.length, 8))}`);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
