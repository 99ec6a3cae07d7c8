// EOF packet (0xFE, warnings, status): the pre-DEPRECATE_EOF terminator of column definitions and
// rows. A 0xFE first byte means EOF only when the payload is < 9 bytes: a row whose first value has
// an 8-byte lenenc length also starts with 0xFE (PROTOCOL-NOTES A3.2/A3.8).

import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface EofPacket {
  warnings: number;
  statusFlags: number;
}

export function isEofPacket(payload: Buffer): boolean {
  return payload.length >= 1 && payload.length < 9 && payload[0] === 0xfe;
}

export function parseEof(payload: Buffer): EofPacket {
  const r = new Reader(payload);
  const h = r.u8();
  if (h !== 0xfe) throw new ProtocolError('not an EOF packet', { header: h });
  const warnings = r.u16();
  const statusFlags = r.u16();
  return { warnings, statusFlags };
}

export function encodeEof(e: EofPacket): Buffer {
  return new Writer(5).u8(0xfe).u16(e.warnings).u16(e.statusFlags).payload();
}
