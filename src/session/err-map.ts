// The one place that turns an error into the ERR packet a client sees (STYLE §6). SluiceErrors map by
// their catalogue entry; protocol errors become 1156/1153; anything unknown becomes a generic 1105 whose
// detail is only logged. A backend's own ERR never passes through here: it is relayed verbatim.
import { encodeErr, type ErrPacket } from '../protocol/err.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { encodePacket } from '../protocol/packet.ts';
import { MalformedPacket, PacketTooLarge, SluiceError } from '../errors.ts';

const FALLBACK = encodeErr({ code: 1105, sqlState: 'HY000', message: 'Unknown error (sluice: internal error, see the gateway log)' });

/** Normalises any thrown value to a SluiceError (or null for an unknown internal error). */
export function toSluiceError(e: unknown): SluiceError | null {
  if (e instanceof SluiceError) return e;
  if (e instanceof ProtocolError) {
    const d = e.detail as { length?: number; max?: number } | undefined;
    if (e.message === 'packet too large' && d?.length !== undefined && d.max !== undefined) return new PacketTooLarge(d.length, d.max);
    return new MalformedPacket(e.message, 'client', { cause: e });
  }
  return null;
}

export function toErrPacket(e: unknown): ErrPacket {
  const s = toSluiceError(e);
  if (s === null) return { code: 1105, sqlState: 'HY000', message: 'Unknown error (sluice: internal error, see the gateway log)' };
  return { code: s.errno, sqlState: s.sqlState, message: s.message };
}

/** The whole ERR packet with header, never throwing (a prebuilt ERR if encoding fails). */
export function errPacketBytes(e: unknown, seq: number): Buffer {
  try {
    return encodePacket(encodeErr(toErrPacket(e)), seq);
  } catch {
    return encodePacket(FALLBACK, seq);
  }
}
