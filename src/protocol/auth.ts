// Auth-phase packets: AuthSwitchRequest (0xFE, plugin name NUL, plugin data = rest, kept
// byte-exact incl. a trailing NUL: native sends scramble+NUL, ed25519 a bare 32-byte nonce) and
// AuthMoreData (0x01 + data, e.g. caching_sha2 `01 03`/`01 04`). These predicates are only
// meaningful during the connection phase; in the command phase 0x01/0xFE mean other things.

import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface AuthSwitchRequest {
  pluginName: string;
  pluginData: Buffer;
}

export interface AuthMoreData {
  data: Buffer;
}

export function isAuthSwitchRequest(payload: Buffer): boolean {
  return payload.length >= 1 && payload[0] === 0xfe;
}

export function isAuthMoreData(payload: Buffer): boolean {
  return payload.length >= 1 && payload[0] === 0x01;
}

export function parseAuthSwitchRequest(payload: Buffer): AuthSwitchRequest {
  const r = new Reader(payload);
  const h = r.u8();
  if (h !== 0xfe) throw new ProtocolError('not an AuthSwitchRequest', { header: h });
  // A lone 0xFE is the pre-4.1 "switch to old password" request.
  if (r.remaining() === 0) return { pluginName: 'mysql_old_password', pluginData: Buffer.alloc(0) };
  const pluginName = r.nulStr();
  return { pluginName, pluginData: Buffer.from(r.rest()) };
}

export function encodeAuthSwitchRequest(a: AuthSwitchRequest): Buffer {
  return new Writer(a.pluginName.length + a.pluginData.length + 2)
    .u8(0xfe)
    .nulStr(a.pluginName)
    .bytes(a.pluginData)
    .payload();
}

export function parseAuthMoreData(payload: Buffer): AuthMoreData {
  const r = new Reader(payload);
  const h = r.u8();
  if (h !== 0x01) throw new ProtocolError('not an AuthMoreData packet', { header: h });
  return { data: Buffer.from(r.rest()) };
}

export function encodeAuthMoreData(a: AuthMoreData): Buffer {
  return new Writer(a.data.length + 1).u8(0x01).bytes(a.data).payload();
}
