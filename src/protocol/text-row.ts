// Text-protocol result row: one lenenc string per column, 0xFB for NULL. Values are views into
// the payload (copy them to keep them). Strict: the row must hold exactly `columnCount` values.

import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

// hot path
export function parseTextRow(payload: Buffer, columnCount: number): Array<Buffer | null> {
  if (!Number.isInteger(columnCount) || columnCount < 0) throw new ProtocolError('bad column count', { columnCount });
  const r = new Reader(payload);
  const out: Array<Buffer | null> = [];
  for (let i = 0; i < columnCount; i++) out.push(r.lenencBytes());
  if (r.remaining() !== 0) {
    throw new ProtocolError('trailing bytes after text row', { columnCount, extra: r.remaining() });
  }
  return out;
}

export function encodeTextRow(values: ReadonlyArray<Buffer | string | null>): Buffer {
  const w = new Writer(16 * values.length + 16);
  for (const v of values) {
    if (v === null) w.writeNull();
    else if (typeof v === 'string') w.lenencStr(v);
    else w.lenencBytes(v);
  }
  return w.payload();
}
