// ERR packet (0xFF, u16 code, optional '#' + 5-char SQLSTATE, message = rest) and MariaDB
// progress reports, which share the 0xFF header with code 0xFFFF but are NOT terminal
// (PROTOCOL-NOTES A3.8: 0xFF FFFF, 1 byte count, stage, max_stage, u24 progress, lenenc info).

import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface ErrPacket {
  code: number;
  sqlState: string | null;
  message: string;
}

export interface ProgressReport {
  stage: number;
  maxStage: number;
  /** Thousandths of a percent: 0..100000. */
  progress: number;
  info: string;
}

export const PROGRESS_CODE = 0xffff;

export function isErrPacket(payload: Buffer): boolean {
  return payload.length >= 3 && payload[0] === 0xff;
}

export function isProgressReport(payload: Buffer): boolean {
  return payload.length >= 3 && payload[0] === 0xff && payload[1] === 0xff && payload[2] === 0xff;
}

export function parseErr(payload: Buffer): ErrPacket {
  const r = new Reader(payload);
  const h = r.u8();
  if (h !== 0xff) throw new ProtocolError('not an ERR packet', { header: h });
  const code = r.u16();
  let sqlState: string | null = null;
  if (r.remaining() > 0 && payload[r.pos] === 0x23 /* '#' */) {
    r.skip(1);
    sqlState = r.bytes(5).toString('latin1');
  }
  return { code, sqlState, message: r.restStr() };
}

export function encodeErr(e: ErrPacket): Buffer {
  const w = new Writer(16 + e.message.length);
  w.u8(0xff).u16(e.code);
  if (e.sqlState !== null) {
    const st = Buffer.from(e.sqlState, 'latin1');
    if (st.length !== 5 || e.sqlState.length !== 5) {
      throw new ProtocolError('SQLSTATE must be 5 characters', { sqlState: e.sqlState });
    }
    w.u8(0x23).bytes(st);
  }
  return w.str(e.message).payload();
}

export function parseProgressReport(payload: Buffer): ProgressReport {
  const r = new Reader(payload);
  const h = r.u8();
  const code = r.u16();
  if (h !== 0xff || code !== PROGRESS_CODE) throw new ProtocolError('not a progress report', { header: h, code });
  r.skip(1); // number of strings (always 1)
  const stage = r.u8();
  const maxStage = r.u8();
  const progress = r.u24();
  const info = r.lenencStr();
  if (info === null) throw new ProtocolError('NULL progress info', { at: r.pos });
  return { stage, maxStage, progress, info };
}

export function encodeProgressReport(p: ProgressReport): Buffer {
  return new Writer(16 + p.info.length)
    .u8(0xff)
    .u16(PROGRESS_CODE)
    .u8(1)
    .u8(p.stage)
    .u8(p.maxStage)
    .u24(p.progress)
    .lenencStr(p.info)
    .payload();
}
