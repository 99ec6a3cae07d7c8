// Command-phase packets from the client (COM_*) and the small server responses tied to them
// (COM_STMT_PREPARE OK, LOCAL INFILE request, result-set column count). Each parse* checks the
// command byte; each encode* is its inverse. COM_STMT_EXECUTE is decoded up to the fixed header:
// parameter values need the statement's parameter count and types (see parseStmtExecuteParams).

import { Capability, Command } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';
import { readConnectAttributes, writeConnectAttributes } from './handshake-response41.ts';

function expectCommand(r: Reader, cmd: number): void {
  const c = r.u8();
  if (c !== cmd) throw new ProtocolError('unexpected command byte', { expected: cmd, got: c });
}

function simple(cmd: number, body: Buffer | string): Buffer {
  const w = new Writer(typeof body === 'string' ? body.length * 3 + 1 : body.length + 1).u8(cmd);
  if (typeof body === 'string') w.str(body);
  else w.bytes(body);
  return w.payload();
}

/** The command byte of a command packet (throws on an empty payload). */
export function commandCode(payload: Buffer): number {
  return new Reader(payload).u8();
}

/** Any command without arguments (COM_QUIT, COM_PING, COM_RESET_CONNECTION, COM_STATISTICS …). */
export function encodeSimpleCommand(cmd: number): Buffer {
  return Buffer.from([cmd & 0xff]);
}

export interface ComQuery {
  sql: string;
  /** The raw statement bytes (a view into the payload). */
  sqlBytes: Buffer;
}

export function parseComQuery(payload: Buffer): ComQuery {
  const r = new Reader(payload);
  expectCommand(r, Command.COM_QUERY);
  const sqlBytes = r.rest();
  return { sql: sqlBytes.toString('utf8'), sqlBytes };
}
export function encodeComQuery(sql: string | Buffer): Buffer {
  return simple(Command.COM_QUERY, sql);
}

export function parseComStmtPrepare(payload: Buffer): ComQuery {
  const r = new Reader(payload);
  expectCommand(r, Command.COM_STMT_PREPARE);
  const sqlBytes = r.rest();
  return { sql: sqlBytes.toString('utf8'), sqlBytes };
}
export function encodeComStmtPrepare(sql: string | Buffer): Buffer {
  return simple(Command.COM_STMT_PREPARE, sql);
}

export function parseComInitDb(payload: Buffer): { schema: string } {
  const r = new Reader(payload);
  expectCommand(r, Command.COM_INIT_DB);
  return { schema: r.restStr() };
}
export function encodeComInitDb(schema: string): Buffer {
  return simple(Command.COM_INIT_DB, schema);
}

export interface ComStmtExecute {
  statementId: number;
  flags: number;
  iterationCount: number;
  /** Everything after the 10-byte header: NULL bitmap, new-params-bound flag, types, values. */
  params: Buffer;
}

export function parseComStmtExecute(payload: Buffer): ComStmtExecute {
  const r = new Reader(payload);
  expectCommand(r, Command.COM_STMT_EXECUTE);
  const statementId = r.u32();
  const flags = r.u8();
  const iterationCount = r.u32();
  return { statementId, flags, iterationCount, params: r.rest() };
}
export function encodeComStmtExecute(e: { statementId: number; flags: number; iterationCount: number; params?: Buffer }): Buffer {
  const w = new Writer(16 + (e.params?.length ?? 0));
  w.u8(Command.COM_STMT_EXECUTE).u32(e.statementId).u8(e.flags).u32(e.iterationCount);
  if (e.params !== undefined) w.bytes(e.params);
  return w.payload();
}

export function parseComStmtFetch(payload: Buffer): { statementId: number; numRows: number } {
  const r = new Reader(payload);
  expectCommand(r, Command.COM_STMT_FETCH);
  const statementId = r.u32();
  const numRows = r.u32();
  r.expectEnd('COM_STMT_FETCH');
  return { statementId, numRows };
}
export function encodeComStmtFetch(f: { statementId: number; numRows: number }): Buffer {
  return new Writer(9).u8(Command.COM_STMT_FETCH).u32(f.statementId).u32(f.numRows).payload();
}

function parseStmtIdOnly(payload: Buffer, cmd: number, what: string): { statementId: number } {
  const r = new Reader(payload);
  expectCommand(r, cmd);
  const statementId = r.u32();
  r.expectEnd(what);
  return { statementId };
}
export function parseComStmtClose(payload: Buffer): { statementId: number } {
  return parseStmtIdOnly(payload, Command.COM_STMT_CLOSE, 'COM_STMT_CLOSE');
}
export function encodeComStmtClose(c: { statementId: number }): Buffer {
  return new Writer(5).u8(Command.COM_STMT_CLOSE).u32(c.statementId).payload();
}
export function parseComStmtReset(payload: Buffer): { statementId: number } {
  return parseStmtIdOnly(payload, Command.COM_STMT_RESET, 'COM_STMT_RESET');
}
export function encodeComStmtReset(c: { statementId: number }): Buffer {
  return new Writer(5).u8(Command.COM_STMT_RESET).u32(c.statementId).payload();
}

export interface ComStmtSendLongData {
  statementId: number;
  paramId: number;
  data: Buffer;
}
export function parseComStmtSendLongData(payload: Buffer): ComStmtSendLongData {
  const r = new Reader(payload);
  expectCommand(r, Command.COM_STMT_SEND_LONG_DATA);
  const statementId = r.u32();
  const paramId = r.u16();
  return { statementId, paramId, data: r.rest() };
}
export function encodeComStmtSendLongData(d: ComStmtSendLongData): Buffer {
  return new Writer(7 + d.data.length)
    .u8(Command.COM_STMT_SEND_LONG_DATA)
    .u32(d.statementId)
    .u16(d.paramId)
    .bytes(d.data)
    .payload();
}

export interface ComChangeUser {
  user: string;
  authResponse: Buffer;
  database: string;
  /** Absent in very old clients. */
  charset: number | null;
  authPluginName: string | null;
  connectAttributes: Array<[string, string]> | null;
  /** As in HandshakeResponse41: raw attribute tail, present only when not canonical. */
  connectAttributesRaw?: Buffer;
}

export function parseComChangeUser(payload: Buffer, clientCapabilities: number): ComChangeUser {
  const r = new Reader(payload);
  expectCommand(r, Command.COM_CHANGE_USER);
  const user = r.nulStr();
  const authResponse = Buffer.from(
    clientCapabilities & Capability.SECURE_CONNECTION ? r.bytes(r.u8()) : r.nulBytes(),
  );
  const database = r.nulStr();
  let charset: number | null = null;
  let authPluginName: string | null = null;
  let connectAttributes: Array<[string, string]> | null = null;
  let raw: Buffer | null = null;
  if (r.remaining() > 0) {
    charset = r.u16();
    if (clientCapabilities & Capability.PLUGIN_AUTH && r.remaining() > 0) authPluginName = r.nulStr();
    if (clientCapabilities & Capability.CONNECT_ATTRS && r.remaining() > 0) {
      const a = readConnectAttributes(r);
      connectAttributes = a.attrs;
      raw = a.raw;
    }
  }
  const out: ComChangeUser = { user, authResponse, database, charset, authPluginName, connectAttributes };
  if (raw !== null) out.connectAttributesRaw = raw;
  return out;
}

export function encodeComChangeUser(c: ComChangeUser, clientCapabilities: number): Buffer {
  const w = new Writer(128);
  w.u8(Command.COM_CHANGE_USER).nulStr(c.user);
  if (clientCapabilities & Capability.SECURE_CONNECTION) {
    if (c.authResponse.length > 255) throw new ProtocolError('auth response too long for 1-byte length');
    w.u8(c.authResponse.length).bytes(c.authResponse);
  } else {
    if (c.authResponse.includes(0)) throw new ProtocolError('NUL inside NUL-terminated auth response');
    w.bytes(c.authResponse).u8(0);
  }
  w.nulStr(c.database);
  const plugin = clientCapabilities & Capability.PLUGIN_AUTH && c.authPluginName !== null;
  const attrs = clientCapabilities & Capability.CONNECT_ATTRS && (c.connectAttributes !== null || c.connectAttributesRaw !== undefined);
  if (c.charset !== null || plugin || attrs) w.u16(c.charset ?? 0);
  if (plugin) w.nulStr(c.authPluginName ?? '');
  if (attrs) {
    if (c.connectAttributesRaw !== undefined) w.bytes(c.connectAttributesRaw);
    else writeConnectAttributes(w, c.connectAttributes ?? []);
  }
  return w.payload();
}

export interface StmtPrepareOk {
  statementId: number;
  numColumns: number;
  numParams: number;
  warnings: number;
}

export function isStmtPrepareOk(payload: Buffer): boolean {
  return payload.length >= 9 && payload[0] === 0x00;
}

export function parseStmtPrepareOk(payload: Buffer): StmtPrepareOk {
  const r = new Reader(payload);
  const h = r.u8();
  if (h !== 0x00) throw new ProtocolError('not a COM_STMT_PREPARE OK', { header: h });
  const statementId = r.u32();
  const numColumns = r.u16();
  const numParams = r.u16();
  let warnings = 0;
  if (r.remaining() > 0) {
    r.skip(1); // reserved
    if (r.remaining() > 0) warnings = r.u16();
  }
  return { statementId, numColumns, numParams, warnings };
}

export function encodeStmtPrepareOk(p: StmtPrepareOk): Buffer {
  return new Writer(12).u8(0).u32(p.statementId).u16(p.numColumns).u16(p.numParams).u8(0).u16(p.warnings).payload();
}

export function isLocalInfileRequest(payload: Buffer): boolean {
  return payload.length >= 1 && payload[0] === 0xfb;
}

export function parseLocalInfileRequest(payload: Buffer): { filename: string } {
  const r = new Reader(payload);
  const h = r.u8();
  if (h !== 0xfb) throw new ProtocolError('not a LOCAL INFILE request', { header: h });
  return { filename: r.restStr() };
}

export function encodeLocalInfileRequest(l: { filename: string }): Buffer {
  return simple(0xfb, l.filename);
}

export interface ColumnCount {
  count: number;
  /** MariaDB CACHE_METADATA: false means "column definitions skipped, reuse the cached ones". */
  metadataFollows: boolean;
}

export function parseColumnCount(payload: Buffer, mariadbCacheMetadata = false): ColumnCount {
  const r = new Reader(payload);
  const count = r.lenencNumber();
  let metadataFollows = true;
  if (mariadbCacheMetadata) {
    const b = r.u8();
    if (b > 1) throw new ProtocolError('bad metadata-follows byte', { value: b });
    metadataFollows = b === 1;
  }
  r.expectEnd('column count');
  return { count, metadataFollows };
}

export function encodeColumnCount(c: ColumnCount, mariadbCacheMetadata = false): Buffer {
  const w = new Writer(10).lenencInt(c.count);
  if (mariadbCacheMetadata) w.u8(c.metadataFollows ? 1 : 0);
  return w.payload();
}
