// HandshakeResponse41: the client's answer to the greeting. Parsing honours exactly the capability
// bits the client sent (auth data as lenenc / 1-byte length / NUL-terminated; db, plugin and
// connect attributes only when their bit is set); encoding writes exactly what the caps say.
// Filler bytes 19..22 carry MariaDB extended caps (honoured by servers only when bit 0 is clear).

import { Capability } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface HandshakeResponse41 {
  capabilities: number;
  maxPacketSize: number;
  charset: number;
  /** Filler bytes 19..22. */
  mariadbCapabilities: number;
  user: string;
  authResponse: Buffer;
  database: string | null;
  authPluginName: string | null;
  connectAttributes: Array<[string, string]> | null;
  /**
   * Only present when the bytes from the attributes' length to the end of the packet are not what
   * re-encoding `connectAttributes` would give (wrong declared length, trailing bytes): encode then
   * writes these bytes verbatim so a proxy forwards exactly what the client sent. Delete it after
   * changing `connectAttributes`.
   */
  connectAttributesRaw?: Buffer;
}

function readPairs(sub: Reader, out: Array<[string, string]>): void {
  while (sub.remaining() > 0) {
    const k = sub.lenencStr();
    const v = sub.lenencStr();
    if (k === null || v === null) throw new ProtocolError('NULL in connect attributes', { at: sub.pos });
    out.push([k, v]);
  }
}

/**
 * Reads the connect-attributes block, which is the last field of the packet. Strict parse in the
 * declared length first; if that fails or bytes follow, keep the raw tail and parse the pairs
 * best-effort over the rest of the packet (servers ignore malformed attributes, so must we).
 */
export function readConnectAttributes(r: Reader): { attrs: Array<[string, string]>; raw: Buffer | null } {
  const start = r.pos;
  const total = r.lenencNumber();
  const end = r.pos + total;
  let attrs: Array<[string, string]> = [];
  let clean = end <= r.end;
  if (clean) {
    try {
      readPairs(new Reader(r.buf, r.pos, end), attrs);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      clean = false;
    }
  }
  if (clean && end === r.end) {
    r.pos = end;
    return { attrs, raw: null };
  }
  const raw = Buffer.from(r.buf.subarray(start, r.end));
  attrs = [];
  try {
    readPairs(new Reader(r.buf, r.pos, clean ? end : r.end), attrs);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e; // keep the pairs read so far
  }
  r.pos = r.end;
  return { attrs, raw };
}

export function writeConnectAttributes(w: Writer, attrs: ReadonlyArray<readonly [string, string]>): void {
  const inner = new Writer(64);
  for (const [k, v] of attrs) inner.lenencStr(k).lenencStr(v);
  w.lenencBytes(inner.payload());
}

export function parseHandshakeResponse41(payload: Buffer): HandshakeResponse41 {
  const r = new Reader(payload);
  const capabilities = r.u32();
  const maxPacketSize = r.u32();
  const charset = r.u8();
  r.skip(19);
  const mariadbCapabilities = r.u32();
  const user = r.nulStr();
  let authResponse: Buffer;
  if (capabilities & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    const b = r.lenencBytes();
    if (b === null) throw new ProtocolError('NULL auth response', { at: r.pos });
    authResponse = b;
  } else if (capabilities & Capability.SECURE_CONNECTION) {
    authResponse = r.bytes(r.u8());
  } else {
    authResponse = r.nulBytes();
  }
  // Lenient on truncation: a set bit with nothing left reads as absent (some clients do this).
  let database: string | null = null;
  if (capabilities & Capability.CONNECT_WITH_DB && r.remaining() > 0) database = r.nulStr();
  let authPluginName: string | null = null;
  if (capabilities & Capability.PLUGIN_AUTH && r.remaining() > 0) authPluginName = r.nulStr();
  let connectAttributes: Array<[string, string]> | null = null;
  let raw: Buffer | null = null;
  if (capabilities & Capability.CONNECT_ATTRS && r.remaining() > 0) {
    const a = readConnectAttributes(r);
    connectAttributes = a.attrs;
    raw = a.raw;
  }
  const out: HandshakeResponse41 = {
    capabilities,
    maxPacketSize,
    charset,
    mariadbCapabilities,
    user,
    authResponse: Buffer.from(authResponse),
    database,
    authPluginName,
    connectAttributes,
  };
  if (raw !== null) out.connectAttributesRaw = raw;
  return out;
}

export function encodeHandshakeResponse41(h: HandshakeResponse41): Buffer {
  const caps = h.capabilities >>> 0;
  const w = new Writer(128);
  w.u32(caps).u32(h.maxPacketSize).u8(h.charset).zeros(19).u32(h.mariadbCapabilities);
  w.nulStr(h.user);
  if (caps & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    w.lenencBytes(h.authResponse);
  } else if (caps & Capability.SECURE_CONNECTION) {
    if (h.authResponse.length > 255) throw new ProtocolError('auth response too long for 1-byte length');
    w.u8(h.authResponse.length).bytes(h.authResponse);
  } else {
    if (h.authResponse.includes(0)) throw new ProtocolError('NUL inside NUL-terminated auth response');
    w.bytes(h.authResponse).u8(0);
  }
  if (caps & Capability.CONNECT_WITH_DB) w.nulStr(h.database ?? '');
  if (caps & Capability.PLUGIN_AUTH) w.nulStr(h.authPluginName ?? '');
  if (caps & Capability.CONNECT_ATTRS) {
    if (h.connectAttributesRaw !== undefined) w.bytes(h.connectAttributesRaw);
    else writeConnectAttributes(w, h.connectAttributes ?? []);
  }
  return w.payload();
}
