// Test helpers for the protocol codec: build byte captures from hex fragments and ASCII pieces,
// and strip the 4-byte packet header the way PROTOCOL-NOTES prints captures.

/** Concatenate hex strings (spaces/`|` ignored) and Buffers. */
export function bytes(...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p.replace(/[^0-9a-fA-F]/g, ''), 'hex') : p)));
}

/** ASCII/UTF-8 literal. */
export function a(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** A capture `LL LL LL SS | payload` → payload, checking the header length. */
export function payloadOf(packet: Buffer): Buffer {
  const len = packet.readUIntLE(0, 3);
  if (len !== packet.length - 4) throw new Error(`capture length ${len} != ${packet.length - 4}`);
  return packet.subarray(4);
}
