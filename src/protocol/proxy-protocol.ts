// PROXY protocol v1 (text) and v2 (binary) headers, sans-I/O (haproxy's proxy-protocol.txt). Sluice
// writes one in front of the MySQL bytes towards backends with `proxy_protocol: v1|v2` (MariaDB's
// `proxy_protocol_networks` then sees the real client address) and reads one from load balancers on
// listeners with `proxy_protocol: true`. Only TCP over IPv4/IPv6 is produced; LOCAL (v2) and UNKNOWN
// (v1) headers carry no addresses (health checks send those) and parse to `src: null`. v2 TLVs are
// skipped. Also the IP text <-> 16-byte helpers the router's CIDR matcher shares.
import { isIP } from 'node:net';
import { ProtocolError } from './errors.ts';

export interface ProxyEndpoint {
  /** IPv4 dotted quad or IPv6 text (no brackets, no zone). */
  readonly address: string;
  readonly port: number;
}

/** Both endpoints, or both null for a LOCAL (v2) / UNKNOWN (v1) header. */
export interface ProxyAddresses {
  readonly src: ProxyEndpoint | null;
  readonly dst: ProxyEndpoint | null;
}

export type ProxyHeader =
  | { readonly kind: 'v1' | 'v2'; readonly src: ProxyEndpoint | null; readonly dst: ProxyEndpoint | null; readonly consumed: number }
  | { readonly kind: 'incomplete' };

/** v2's 12-byte signature. */
export const PROXY_V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** Longest v1 line, CRLF included. */
export const PROXY_V1_MAX_LENGTH = 107;
const V2_HEADER = 16;

// ---- IP helpers ------------------------------------------------------------------------------------

/** IPv4 or IPv6 text (an IPv6 zone "%eth0" is ignored) → 4 or 16 bytes; null when not an address. */
export function ipToBytes(address: string): Buffer | null {
  const pct = address.indexOf('%');
  const a = pct >= 0 ? address.slice(0, pct) : address;
  const family = isIP(a);
  if (family === 4) return Buffer.from(a.split('.').map(Number));
  if (family !== 6) return null;
  const out = Buffer.alloc(16);
  let head = a;
  let tail = '';
  const dbl = a.indexOf('::');
  if (dbl >= 0) {
    head = a.slice(0, dbl);
    tail = a.slice(dbl + 2);
  }
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const parts = s.split(':');
    const words: number[] = [];
    for (const p of parts) {
      if (p.includes('.')) {
        const v4 = p.split('.').map(Number);
        words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        words.push(parseInt(p, 16));
      }
    }
    return words;
  };
  const h = groups(head);
  const t = groups(tail);
  h.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  t.forEach((w, i) => out.writeUInt16BE(w, 16 - (t.length - i) * 2));
  return out;
}

/** 16 bytes → IPv4-mapped (::ffff:a.b.c.d) as the dotted quad, else null. */
export function unmapIpv4(bytes: Buffer): Buffer | null {
  if (bytes.length !== 16) return null;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return null;
  return bytes[10] === 0xff && bytes[11] === 0xff ? bytes.subarray(12) : null;
}

/** 4 bytes → dotted quad; 16 bytes → RFC 5952 text (IPv4-mapped addresses as ::ffff:a.b.c.d). */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new ProtocolError('an IP address has 4 or 16 bytes', { length: bytes.length });
  const v4 = unmapIpv4(bytes);
  if (v4 !== null) return `::ffff:${formatIp(v4)}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes.readUInt16BE(i));
  // longest run (>= 2) of zero words, the first one on ties
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

// ---- encoding --------------------------------------------------------------------------------------

function checkEndpoint(e: ProxyEndpoint, what: string): Buffer {
  const bytes = ipToBytes(e.address);
  if (bytes === null) throw new ProtocolError(`PROXY ${what} is not an IP address`, { address: e.address });
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) throw new ProtocolError(`PROXY ${what} port out of range`, { port: e.port });
  return bytes;
}

/**
 * Both addresses in one family: IPv4 when both are IPv4 (IPv4-mapped IPv6 counts as IPv4, which is what
 * Node reports on dual-stack sockets), else both as IPv6.
 */
function addressPair(a: ProxyAddresses): { family: 4 | 6; src: Buffer; dst: Buffer; sport: number; dport: number } | null {
  if (a.src === null || a.dst === null) {
    if (a.src !== a.dst) throw new ProtocolError('PROXY header needs both addresses or neither');
    return null;
  }
  let src = checkEndpoint(a.src, 'source');
  let dst = checkEndpoint(a.dst, 'destination');
  const s4 = src.length === 4 ? src : unmapIpv4(src);
  const d4 = dst.length === 4 ? dst : unmapIpv4(dst);
  if (s4 !== null && d4 !== null) return { family: 4, src: s4, dst: d4, sport: a.src.port, dport: a.dst.port };
  if (src.length === 4) src = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), src]);
  if (dst.length === 4) dst = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), dst]);
  return { family: 6, src, dst, sport: a.src.port, dport: a.dst.port };
}

/** "PROXY TCP4 src dst sport dport\r\n", or "PROXY UNKNOWN\r\n" without addresses. */
export function encodeProxyV1(a: ProxyAddresses): Buffer {
  const p = addressPair(a);
  if (p === null) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const line = `PROXY TCP${p.family} ${formatIp(p.src)} ${formatIp(p.dst)} ${p.sport} ${p.dport}\r\n`;
  return Buffer.from(line, 'latin1');
}

/** Binary header: command PROXY with TCP4/TCP6 addresses, or LOCAL (family UNSPEC) without. */
export function encodeProxyV2(a: ProxyAddresses): Buffer {
  const p = addressPair(a);
  const body = p === null ? 0 : p.family === 4 ? 12 : 36;
  const out = Buffer.alloc(V2_HEADER + body);
  PROXY_V2_SIGNATURE.copy(out, 0);
  if (p === null) {
    out[12] = 0x20; // version 2, LOCAL
    out[13] = 0x00; // UNSPEC
    return out;
  }
  out[12] = 0x21; // version 2, PROXY
  out[13] = p.family === 4 ? 0x11 : 0x21; // TCP over INET / INET6
  out.writeUInt16BE(body, 14);
  let off = V2_HEADER;
  off += p.src.copy(out, off);
  off += p.dst.copy(out, off);
  out.writeUInt16BE(p.sport, off);
  out.writeUInt16BE(p.dport, off + 2);
  return out;
}

// ---- parsing ---------------------------------------------------------------------------------------

/** Whether `buf` is `full` or a prefix of it (so more bytes may still make it `full`). */
function startsLike(buf: Buffer, full: Buffer): boolean {
  const n = Math.min(buf.length, full.length);
  return buf.subarray(0, n).equals(full.subarray(0, n));
}

/**
 * Reads a PROXY header at the start of `buf`: `incomplete` when more bytes are needed, else the
 * addresses (null for LOCAL/UNKNOWN or non-TCP families) and the header's length. Throws
 * ProtocolError when the bytes are not a PROXY header.
 */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (startsLike(buf, PROXY_V2_SIGNATURE)) {
    return buf.length < V2_HEADER ? { kind: 'incomplete' } : parseV2(buf);
  }
  if (startsLike(buf, V1_PREFIX)) {
    return buf.length < V1_PREFIX.length ? { kind: 'incomplete' } : parseV1(buf);
  }
  throw new ProtocolError('not a PROXY protocol header', { first: buf.subarray(0, 16).toString('hex') });
}

function parseV1(buf: Buffer): ProxyHeader {
  const limit = Math.min(buf.length, PROXY_V1_MAX_LENGTH);
  const lf = buf.subarray(0, limit).indexOf(0x0a);
  if (lf < 0) {
    if (buf.length >= PROXY_V1_MAX_LENGTH) throw new ProtocolError('PROXY v1 line longer than 107 bytes');
    return { kind: 'incomplete' };
  }
  if (lf === 0 || buf[lf - 1] !== 0x0d) throw new ProtocolError('PROXY v1 line must end with CRLF');
  const line = buf.subarray(0, lf - 1).toString('latin1');
  const consumed = lf + 1;
  const fields = line.split(' ');
  const proto = fields[1];
  if (proto === 'UNKNOWN') return { kind: 'v1', src: null, dst: null, consumed };
  if ((proto !== 'TCP4' && proto !== 'TCP6') || fields.length !== 6) {
    throw new ProtocolError('bad PROXY v1 line', { line });
  }
  const family = proto === 'TCP4' ? 4 : 6;
  const [, , sa = '', da = '', sp = '', dp = ''] = fields;
  const src = { address: v1Address(sa, family, line), port: v1Port(sp, line) };
  const dst = { address: v1Address(da, family, line), port: v1Port(dp, line) };
  return { kind: 'v1', src, dst, consumed };
}

function v1Address(text: string, family: 4 | 6, line: string): string {
  if (isIP(text) !== family) throw new ProtocolError(`bad TCP${family} address in PROXY v1 line`, { line });
  const bytes = ipToBytes(text);
  return bytes === null ? text : formatIp(bytes); // canonical text, like v2 gives
}

function v1Port(text: string, line: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(text) || Number(text) > 65535) throw new ProtocolError('bad port in PROXY v1 line', { line });
  return Number(text);
}

function parseV2(buf: Buffer): ProxyHeader {
  const verCmd = buf[12] ?? 0;
  const fam = buf[13] ?? 0;
  const length = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) throw new ProtocolError('unsupported PROXY v2 version', { version: verCmd >> 4 });
  const cmd = verCmd & 0x0f;
  if (cmd > 1) throw new ProtocolError('unknown PROXY v2 command', { command: cmd });
  const consumed = V2_HEADER + length;
  if (buf.length < consumed) return { kind: 'incomplete' };
  if (cmd === 0) return { kind: 'v2', src: null, dst: null, consumed }; // LOCAL: ignore the address block
  const transport = fam & 0x0f;
  const af = fam >> 4;
  if (af > 3 || transport > 2) throw new ProtocolError('unknown PROXY v2 address family', { family: fam });
  // UNSPEC, UNIX and UDP are accepted but carry no TCP addresses for us
  if (transport !== 1 || (af !== 1 && af !== 2)) return { kind: 'v2', src: null, dst: null, consumed };
  const size = af === 1 ? 4 : 16;
  if (length < size * 2 + 4) throw new ProtocolError('PROXY v2 address block too short', { length, family: fam });
  let off = V2_HEADER;
  const sa = formatIp(buf.subarray(off, off + size));
  off += size;
  const da = formatIp(buf.subarray(off, off + size));
  off += size;
  const src = { address: sa, port: buf.readUInt16BE(off) };
  const dst = { address: da, port: buf.readUInt16BE(off + 2) };
  return { kind: 'v2', src, dst, consumed };
}
