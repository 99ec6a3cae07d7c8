// HandshakeV10: the server greeting (first packet, seq 0). MariaDB clears Capability.LONG_PASSWORD
// and puts its extended capabilities in the last 4 of the 10 reserved bytes (PROTOCOL-NOTES A3.1);
// we keep those 4 bytes whatever bit 0 says so a greeting re-encodes byte-for-byte.
// The scramble is returned as a fresh copy (it outlives the packet) without its trailing NUL.

import { ProtocolError } from './errors.ts';
import { Capability } from './constants.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface HandshakeV10 {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  /** The auth-plugin data (normally 20 bytes), no trailing NUL. */
  scramble: Buffer;
  capabilities: number;
  charset: number;
  statusFlags: number;
  /** Reserved bytes 6..9; meaningful only when Capability.LONG_PASSWORD is clear. */
  mariadbCapabilities: number;
  authPluginName: string;
}

export function parseHandshakeV10(payload: Buffer): HandshakeV10 {
  const r = new Reader(payload);
  const protocolVersion = r.u8();
  if (protocolVersion !== 10) throw new ProtocolError('not a HandshakeV10 packet', { protocolVersion });
  const serverVersion = r.nulStr();
  const connectionId = r.u32();
  const part1 = r.bytes(8);
  r.skip(1); // filler
  const capsLow = r.u16();
  // Pre-4.1 servers may end here; we require the 4.1 layout.
  const charset = r.u8();
  const statusFlags = r.u16();
  const capsHigh = r.u16();
  const capabilities = ((capsHigh << 16) | capsLow) >>> 0;
  const authDataLen = r.u8();
  r.skip(6);
  const mariadbCapabilities = r.u32();
  let part2: Buffer = Buffer.alloc(0);
  if (capabilities & Capability.SECURE_CONNECTION) {
    const n = Math.max(13, authDataLen - 8);
    part2 = r.bytes(Math.min(n, r.remaining()));
    if (part2.length > 0 && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
  }
  let authPluginName = '';
  if (capabilities & Capability.PLUGIN_AUTH) {
    // Some servers omit the final NUL: take the rest then.
    authPluginName = payload.indexOf(0, r.pos) >= 0 ? r.nulStr() : r.restStr();
  }
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    scramble: Buffer.concat([part1, part2]),
    capabilities,
    charset,
    statusFlags,
    mariadbCapabilities,
    authPluginName,
  };
}

export function encodeHandshakeV10(h: HandshakeV10): Buffer {
  if (h.scramble.length < 8) throw new ProtocolError('scramble shorter than 8 bytes', { length: h.scramble.length });
  const caps = h.capabilities >>> 0;
  const w = new Writer(128);
  w.u8(h.protocolVersion).nulStr(h.serverVersion).u32(h.connectionId);
  w.bytes(h.scramble.subarray(0, 8)).u8(0);
  w.u16(caps & 0xffff).u8(h.charset).u16(h.statusFlags).u16(caps >>> 16);
  w.u8(caps & Capability.PLUGIN_AUTH ? h.scramble.length + 1 : 0);
  w.zeros(6).u32(h.mariadbCapabilities);
  if (caps & Capability.SECURE_CONNECTION) {
    const rest = h.scramble.subarray(8);
    w.bytes(rest).zeros(Math.max(13, rest.length + 1) - rest.length);
  }
  if (caps & Capability.PLUGIN_AUTH) w.nulStr(h.authPluginName);
  return w.payload();
}
