// Packet headers: 3-byte little-endian payload length + 1-byte sequence id. encodePacket splits
// payloads ≥ 0xFFFFFF into 0xFFFFFF chunks (seq+1 each) and appends the empty terminator packet
// when the length is an exact multiple of 0xFFFFFF (incl. 0 → one empty packet), which is what
// tells the peer the logical packet is over.

import { ProtocolError } from './errors.ts';
import { MAX_PAYLOAD } from './constants.ts';

export interface PacketHeader {
  length: number;
  seq: number;
}

export function readHeader(buf: Buffer, off = 0): PacketHeader {
  if (off < 0 || buf.length - off < 4) {
    throw new ProtocolError('short packet', { at: off, need: 4, have: Math.max(0, buf.length - off) });
  }
  return {
    length: (buf[off] as number) | ((buf[off + 1] as number) << 8) | ((buf[off + 2] as number) << 16),
    seq: buf[off + 3] as number,
  };
}

export function writeHeader(out: Buffer, off: number, length: number, seq: number): void {
  out[off] = length & 0xff;
  out[off + 1] = (length >> 8) & 0xff;
  out[off + 2] = (length >> 16) & 0xff;
  out[off + 3] = seq & 0xff;
}

/** Number of physical packets a payload of `length` bytes needs. */
export function packetCount(length: number): number {
  return Math.floor(length / MAX_PAYLOAD) + 1;
}

function encodeInto(out: Buffer, at: number, payload: Buffer, seq: number): { at: number; seq: number } {
  const n = packetCount(payload.length);
  let src = 0;
  for (let i = 0; i < n; i++) {
    const len = Math.min(MAX_PAYLOAD, payload.length - src);
    writeHeader(out, at, len, seq);
    payload.copy(out, at + 4, src, src + len);
    at += 4 + len;
    src += len;
    seq = (seq + 1) & 0xff;
  }
  return { at, seq };
}

/** Header(s) + payload; the result is a fresh buffer. */
export function encodePacket(payload: Buffer, seq: number): Buffer {
  const out = Buffer.allocUnsafe(payload.length + 4 * packetCount(payload.length));
  encodeInto(out, 0, payload, seq & 0xff);
  return out;
}

/** Several logical packets back to back, sequence ids continuing from `firstSeq`. */
export function encodePackets(payloads: readonly Buffer[], firstSeq: number): Buffer {
  let total = 0;
  for (const p of payloads) total += p.length + 4 * packetCount(p.length);
  const out = Buffer.allocUnsafe(total);
  let st = { at: 0, seq: firstSeq & 0xff };
  for (const p of payloads) st = encodeInto(out, st.at, p, st.seq);
  return out;
}
