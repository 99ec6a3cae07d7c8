// SSLRequest: the 32-byte prefix of a HandshakeResponse41 with Capability.SSL set, sent (seq 1)
// before the TLS handshake. After it the framer must be empty: any leftover plaintext bytes
// would be an injection (session layer's job to check).

import { Capability } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface SSLRequest {
  capabilities: number;
  maxPacketSize: number;
  charset: number;
  /** Filler bytes 19..22 (MariaDB extended caps). */
  mariadbCapabilities: number;
}

export const SSL_REQUEST_LENGTH = 32;

export function isSSLRequest(payload: Buffer): boolean {
  return payload.length === SSL_REQUEST_LENGTH && (payload.readUInt32LE(0) & Capability.SSL) !== 0;
}

export function parseSSLRequest(payload: Buffer): SSLRequest {
  if (payload.length !== SSL_REQUEST_LENGTH) {
    throw new ProtocolError('SSLRequest must be 32 bytes', { length: payload.length });
  }
  const r = new Reader(payload);
  const capabilities = r.u32();
  const maxPacketSize = r.u32();
  const charset = r.u8();
  r.skip(19);
  const mariadbCapabilities = r.u32();
  return { capabilities, maxPacketSize, charset, mariadbCapabilities };
}

export function encodeSSLRequest(s: SSLRequest): Buffer {
  return new Writer(SSL_REQUEST_LENGTH)
    .u32(s.capabilities >>> 0)
    .u32(s.maxPacketSize)
    .u8(s.charset)
    .zeros(19)
    .u32(s.mariadbCapabilities)
    .payload();
}
