// OK packet (header 0x00, or 0xFE as the result-set terminator under CLIENT_DEPRECATE_EOF).
// With CLIENT_SESSION_TRACK the info is lenenc and a session-state block follows only when
// ServerStatus.SESSION_STATE_CHANGED is set (PROTOCOL-NOTES A3.4). Without it the MySQL docs say
// "string<EOF>", but MariaDB 10.11 (and MySQL's net_send_ok) still write a lenenc string (measured:
// `00 03 00 02 00 00 00 26 "Records: 3…"`), so we decode lenenc when the rest is exactly one and
// fall back to the raw rest otherwise. Session items whose body does not parse exactly are kept as
// {type:'unknown'} so that encodeOk(parseOk(x)) is byte-identical.

import { Capability, ServerStatus, SessionTrackType } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export type SessionStateChange =
  | { type: 'system_variable'; name: string; value: string }
  | { type: 'schema'; schema: string }
  | { type: 'state_change'; changed: boolean }
  | { type: 'gtids'; data: Buffer }
  | { type: 'transaction_characteristics'; value: string }
  | { type: 'transaction_state'; value: string }
  | { type: 'unknown'; code: number; data: Buffer };

export interface OkPacket {
  header: 0x00 | 0xfe;
  affectedRows: number | bigint;
  lastInsertId: number | bigint;
  statusFlags: number;
  warnings: number;
  info: string;
  sessionStateChanges: SessionStateChange[] | null;
}

/** Shape check: 0x00 header (≥ 7 bytes), or 0xFE header with 7 ≤ length < 0xFFFFFF (DEPRECATE_EOF terminator). */
export function isOkPacket(payload: Buffer): boolean {
  const h = payload[0];
  if (h === 0x00) return payload.length >= 7;
  return h === 0xfe && payload.length >= 7 && payload.length < 0xffffff;
}

function lenencIntNotNull(r: Reader): number | bigint {
  const at = r.pos;
  const v = r.lenencInt();
  if (v === null) throw new ProtocolError('unexpected NULL in OK packet', { at });
  return v;
}

function parseItem(code: number, data: Buffer): SessionStateChange {
  const r = new Reader(data);
  try {
    let item: SessionStateChange;
    switch (code) {
      case SessionTrackType.SYSTEM_VARIABLES: {
        const name = r.lenencStr();
        const value = r.lenencStr();
        if (name === null || value === null) return { type: 'unknown', code, data };
        item = { type: 'system_variable', name, value };
        break;
      }
      case SessionTrackType.SCHEMA: {
        const schema = r.lenencStr();
        if (schema === null) return { type: 'unknown', code, data };
        item = { type: 'schema', schema };
        break;
      }
      case SessionTrackType.STATE_CHANGE: {
        // The body is the bare byte '1' (or '0'), not a lenenc string: `02 01 31`.
        const b = r.u8();
        if (b !== 0x31 && b !== 0x30) return { type: 'unknown', code, data };
        item = { type: 'state_change', changed: b === 0x31 };
        break;
      }
      case SessionTrackType.GTIDS:
        return { type: 'gtids', data };
      case SessionTrackType.TRANSACTION_CHARACTERISTICS:
      case SessionTrackType.TRANSACTION_STATE: {
        const value = r.lenencStr();
        if (value === null) return { type: 'unknown', code, data };
        item =
          code === SessionTrackType.TRANSACTION_STATE
            ? { type: 'transaction_state', value }
            : { type: 'transaction_characteristics', value };
        break;
      }
      default:
        return { type: 'unknown', code, data };
    }
    return r.remaining() === 0 ? item : { type: 'unknown', code, data };
  } catch (e) {
    if (e instanceof ProtocolError) return { type: 'unknown', code, data };
    throw e;
  }
}

export function parseSessionStateChanges(block: Buffer): SessionStateChange[] {
  const r = new Reader(block);
  const out: SessionStateChange[] = [];
  while (r.remaining() > 0) {
    const code = r.u8();
    const data = r.lenencBytes();
    if (data === null) throw new ProtocolError('NULL session-state item', { at: r.pos });
    out.push(parseItem(code, Buffer.from(data)));
  }
  return out;
}

function encodeItem(w: Writer, s: SessionStateChange): void {
  const inner = new Writer(64);
  let code: number;
  switch (s.type) {
    case 'system_variable':
      code = SessionTrackType.SYSTEM_VARIABLES;
      inner.lenencStr(s.name).lenencStr(s.value);
      break;
    case 'schema':
      code = SessionTrackType.SCHEMA;
      inner.lenencStr(s.schema);
      break;
    case 'state_change':
      code = SessionTrackType.STATE_CHANGE;
      inner.u8(s.changed ? 0x31 : 0x30);
      break;
    case 'gtids':
      code = SessionTrackType.GTIDS;
      inner.bytes(s.data);
      break;
    case 'transaction_characteristics':
      code = SessionTrackType.TRANSACTION_CHARACTERISTICS;
      inner.lenencStr(s.value);
      break;
    case 'transaction_state':
      code = SessionTrackType.TRANSACTION_STATE;
      inner.lenencStr(s.value);
      break;
    case 'unknown':
      code = s.code;
      inner.bytes(s.data);
      break;
    default:
      return assertNever(s);
  }
  w.u8(code).lenencBytes(inner.payload());
}

function assertNever(x: never): never {
  throw new ProtocolError('unknown session-state item', { item: x as unknown });
}

export function encodeSessionStateChanges(items: readonly SessionStateChange[]): Buffer {
  const w = new Writer(64);
  for (const s of items) encodeItem(w, s);
  return w.payload();
}

/** The rest as one lenenc string if it is exactly that, else the raw rest (docs' string<EOF>). */
function lenencRest(r: Reader): string {
  const at = r.pos;
  try {
    const b = r.lenencBytes();
    if (b !== null && r.remaining() === 0) return b.toString('utf8');
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
  r.pos = at;
  return r.restStr();
}

export function parseOk(payload: Buffer, capabilities: number): OkPacket {
  const r = new Reader(payload);
  const header = r.u8();
  if (header !== 0x00 && header !== 0xfe) throw new ProtocolError('not an OK packet', { header });
  const affectedRows = lenencIntNotNull(r);
  const lastInsertId = lenencIntNotNull(r);
  let statusFlags = 0;
  let warnings = 0;
  if (capabilities & Capability.PROTOCOL_41) {
    statusFlags = r.u16();
    warnings = r.u16();
  } else if (capabilities & Capability.TRANSACTIONS) {
    statusFlags = r.u16();
  }
  let info = '';
  let sessionStateChanges: SessionStateChange[] | null = null;
  if (capabilities & Capability.SESSION_TRACK) {
    if (r.remaining() > 0) info = r.lenencStr() ?? '';
    if (statusFlags & ServerStatus.SESSION_STATE_CHANGED && r.remaining() > 0) {
      const block = r.lenencBytes();
      if (block === null) throw new ProtocolError('NULL session-state block', { at: r.pos });
      sessionStateChanges = parseSessionStateChanges(block);
    }
    r.expectEnd('OK packet');
  } else if (r.remaining() > 0) {
    info = lenencRest(r);
  }
  return { header, affectedRows, lastInsertId, statusFlags, warnings, info, sessionStateChanges };
}

export function encodeOk(ok: OkPacket, capabilities: number): Buffer {
  const w = new Writer(32 + ok.info.length);
  w.u8(ok.header).lenencInt(ok.affectedRows).lenencInt(ok.lastInsertId);
  if (capabilities & Capability.PROTOCOL_41) w.u16(ok.statusFlags).u16(ok.warnings);
  else if (capabilities & Capability.TRANSACTIONS) w.u16(ok.statusFlags);
  if (capabilities & Capability.SESSION_TRACK) {
    const stateChanged = (ok.statusFlags & ServerStatus.SESSION_STATE_CHANGED) !== 0;
    const block = stateChanged && ok.sessionStateChanges !== null;
    if (ok.info !== '' || block) w.lenencStr(ok.info);
    if (block) w.lenencBytes(encodeSessionStateChanges(ok.sessionStateChanges ?? []));
  } else if (ok.info !== '') {
    w.lenencStr(ok.info); // what servers send, see header
  }
  return w.payload();
}
