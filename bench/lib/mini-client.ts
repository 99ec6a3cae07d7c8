// A deliberately tiny MySQL client for the load generators: handshake (plain or TLS),
// mysql_native_password (also after an AuthSwitchRequest), hold idle, COM_QUIT, and
// a byte-counting COM_QUERY reader that frames by offsets and never decodes rows.
// Contract: light enough that 10,000 of them fit in the bench process and the
// relay, not this client, is what a streaming run measures. Not a general client.
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { HOST } from './proc.ts';

const CAP = {
  LONG_PASSWORD: 0x1,
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
} as const;

export interface ClientOpts {
  port: number;
  user: string;
  password: string;
  db: string;
  ssl: boolean;
  timeoutMs?: number;
}

export interface Conn {
  socket: net.Socket | tls.TLSSocket;
  close(): void;
}

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function nativeToken(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const s1 = sha1(Buffer.from(password, 'utf8'));
  const s3 = sha1(scramble.subarray(0, 20), sha1(s1));
  for (let i = 0; i < s1.length; i++) s1[i] = (s1[i] as number) ^ (s3[i] as number);
  return s1;
}

function packet(seq: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(4 + payload.length);
  b.writeUIntLE(payload.length, 0, 3);
  b[3] = seq & 0xff;
  payload.copy(b, 4);
  return b;
}

/** Pulls whole packets from a socket (handshake phase only: small packets, copies fine). */
class PacketReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((p: { seq: number; payload: Buffer }) => void) | null = null;
  private failed: Error | null = null;
  private fail: ((e: Error) => void) | null = null;
  private readonly onData = (b: Buffer): void => {
    this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
    this.pump();
  };
  private readonly onErr = (e: Error): void => this.abort(e);
  private readonly onClose = (): void => this.abort(new Error('connection closed during handshake'));

  constructor(private sock: net.Socket) {
    this.attach(sock);
  }

  attach(sock: net.Socket): void {
    this.sock.off('data', this.onData).off('error', this.onErr).off('close', this.onClose);
    this.sock = sock;
    sock.on('data', this.onData).on('error', this.onErr).on('close', this.onClose);
  }

  detach(): Buffer {
    this.sock.off('data', this.onData).off('error', this.onErr).off('close', this.onClose);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  private abort(e: Error): void {
    this.failed ??= e;
    const f = this.fail;
    this.fail = null;
    this.waiting = null;
    f?.(e);
  }

  private pump(): void {
    if (this.waiting === null || this.buf.length < 4) return;
    const len = this.buf.readUIntLE(0, 3);
    if (this.buf.length < 4 + len) return;
    const seq = this.buf[3] as number;
    const payload = this.buf.subarray(4, 4 + len);
    this.buf = this.buf.subarray(4 + len);
    const w = this.waiting;
    this.waiting = null;
    this.fail = null;
    w({ seq, payload });
  }

  next(): Promise<{ seq: number; payload: Buffer }> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.fail = reject;
      this.pump();
    });
  }
}

function errText(p: Buffer): string {
  const code = p.readUInt16LE(1);
  const msg = p.subarray(p[3] === 0x23 ? 9 : 3).toString('utf8');
  return `ERR ${code}: ${msg}`;
}

function cstr(b: Buffer, off: number): [string, number] {
  const end = b.indexOf(0, off);
  const e = end < 0 ? b.length : end;
  return [b.toString('latin1', off, e), e + 1];
}

/** Connect, authenticate, resolve with the open connection (idle, ready for commands). */
export async function connect(o: ClientOpts): Promise<Conn> {
  const timeoutMs = o.timeoutMs ?? 15000;
  const raw = net.connect({ host: HOST, port: o.port, noDelay: true });
  let sock: net.Socket | tls.TLSSocket = raw;
  const timer = setTimeout(() => raw.destroy(new Error(`handshake timeout after ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    const rd = new PacketReader(raw);
    const g = await rd.next();
    const gp = g.payload;
    if (gp[0] === 0xff) throw new Error(errText(gp));
    if (gp[0] !== 10) throw new Error(`unexpected greeting protocol ${String(gp[0])}`);
    let off = gp.indexOf(0, 1) + 1 + 4;
    const part1 = gp.subarray(off, off + 8);
    off += 8 + 1;
    const capLo = gp.readUInt16LE(off);
    const charset = gp[off + 2] as number;
    const capHi = gp.readUInt16LE(off + 5);
    const authLen = gp[off + 7] as number;
    off += 8 + 10;
    const serverCaps = capLo | (capHi << 16);
    const part2Len = Math.max(13, authLen - 8) - 1;
    const part2 = gp.subarray(off, off + part2Len);
    off += part2Len + 1;
    const [plugin] = cstr(gp, off);
    let scramble: Buffer = Buffer.concat([part1, part2]);

    let caps =
      CAP.LONG_PASSWORD |
      CAP.CONNECT_WITH_DB |
      CAP.PROTOCOL_41 |
      CAP.TRANSACTIONS |
      CAP.SECURE_CONNECTION |
      CAP.MULTI_RESULTS |
      CAP.PLUGIN_AUTH;
    const head = Buffer.alloc(32);
    let seq = g.seq + 1;
    if (o.ssl) {
      if ((serverCaps & CAP.SSL) === 0) throw new Error('its greeting does not offer TLS (no CLIENT_SSL capability)');
      caps |= CAP.SSL;
      head.writeUInt32LE(caps >>> 0, 0);
      head.writeUInt32LE(1 << 24, 4);
      head[8] = charset || 45;
      raw.write(packet(seq++, head));
      rd.detach();
      const t = tls.connect({ socket: raw, rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) => {
        t.once('secureConnect', resolve);
        t.once('error', reject);
      });
      sock = t;
      rd.attach(t);
    }
    head.writeUInt32LE(caps >>> 0, 0);
    head.writeUInt32LE(1 << 24, 4);
    head[8] = charset || 45;
    const token = plugin === 'mysql_native_password' ? nativeToken(o.password, scramble) : Buffer.alloc(0);
    const resp = Buffer.concat([
      head,
      Buffer.from(`${o.user}\0`, 'utf8'),
      Buffer.from([token.length]),
      token,
      Buffer.from(`${o.db}\0`, 'utf8'),
      Buffer.from(`${plugin === '' ? 'mysql_native_password' : plugin}\0`, 'latin1'),
    ]);
    sock.write(packet(seq, resp));
    for (let round = 0; round < 6; round++) {
      const r = await rd.next();
      const p = r.payload;
      if (p[0] === 0x00) {
        rd.detach();
        clearTimeout(timer);
        const s = sock;
        return { socket: s, close: () => s.destroy() };
      }
      if (p[0] === 0xff) throw new Error(errText(p));
      if (p[0] === 0xfe) {
        const [name, o2] = cstr(p, 1);
        if (name !== 'mysql_native_password') throw new Error(`auth switch to unsupported plugin ${name}`);
        scramble = p.subarray(o2, o2 + 20);
        sock.write(packet(r.seq + 1, nativeToken(o.password, scramble)));
        continue;
      }
      if (p[0] === 0x01 && p[1] === 0x03) continue; // caching_sha2 fast auth ok: OK follows
      throw new Error(`unexpected auth packet 0x${(p[0] ?? 0).toString(16)}`);
    }
    throw new Error('auth did not finish');
  } catch (e) {
    clearTimeout(timer);
    sock.destroy();
    raw.destroy();
    throw e;
  }
}

/** COM_QUIT then close (what a polite client does). */
export function quit(c: Conn): void {
  c.socket.end(packet(0, Buffer.from([0x01])));
}

/**
 * Send one COM_QUERY whose result is a single text result set and count the bytes
 * received until its terminating EOF. Frames by offsets; keeps no row data.
 */
export function streamQuery(c: Conn, sql: string, timeoutMs: number): Promise<{ bytes: number; rows: number }> {
  const s = c.socket;
  return new Promise((resolve, reject) => {
    const hdr = Buffer.alloc(4);
    let hdrLen = 0;
    let remaining = 0; // payload bytes left in the current packet
    let curLen = 0;
    let firstPending = false;
    let first = 0;
    let bytes = 0;
    let rows = 0;
    let phase: 'count' | 'cols' | 'rows' = 'count';
    const timer = setTimeout(() => finish(new Error(`stream timeout after ${timeoutMs} ms`)), timeoutMs);
    const finish = (e: Error | null): void => {
      clearTimeout(timer);
      s.off('data', onData).off('error', onErr).off('close', onClose);
      if (e) reject(e);
      else resolve({ bytes, rows });
    };
    const onErr = (e: Error): void => finish(e);
    const onClose = (): void => finish(new Error('closed during result set'));
    // returns true when the result set is complete
    const done = (): boolean => {
      if (first === 0xff) {
        finish(new Error('ERR packet in result'));
        return true;
      }
      if (phase === 'count') {
        phase = 'cols';
        return false;
      }
      if (phase === 'cols') {
        if (first === 0xfe && curLen < 9) phase = 'rows';
        return false;
      }
      if (first === 0xfe && curLen < 9) {
        finish(null);
        return true;
      }
      rows++;
      return false;
    };
    // hot path
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      let off = 0;
      const n = chunk.length;
      while (off < n) {
        if (remaining > 0) {
          if (firstPending) {
            first = chunk[off] as number;
            firstPending = false;
          }
          const take = Math.min(remaining, n - off);
          off += take;
          remaining -= take;
          if (remaining === 0 && done()) return;
          continue;
        }
        hdr[hdrLen++] = chunk[off++] as number;
        if (hdrLen < 4) continue;
        hdrLen = 0;
        curLen = hdr.readUIntLE(0, 3);
        remaining = curLen;
        firstPending = true;
        if (curLen === 0) {
          first = 0;
          firstPending = false;
          if (done()) return;
        }
      }
    };
    s.on('data', onData).on('error', onErr).on('close', onClose);
    const q = Buffer.from(`\x03${sql}`, 'utf8');
    s.write(packet(0, q));
  });
}
