// Conversations for ResultTracker tests: byte scripts of a client and a server, built with the
// src/protocol encoders and the captures of PROTOCOL-NOTES A1.3/A3, and a runner that feeds them
// through two PacketWalkers exactly as the session does, with any chunking of each leg's bytes.
import { PacketWalker } from '../../src/protocol/packet-walker.ts';
import { Capability, ColumnType, Command, ServerStatus } from '../../src/protocol/constants.ts';
import { encodePacket } from '../../src/protocol/packet.ts';
import { encodeOk } from '../../src/protocol/ok.ts';
import { encodeErr, encodeProgressReport } from '../../src/protocol/err.ts';
import { encodeEof } from '../../src/protocol/eof.ts';
import { encodeColumnDefinition41 } from '../../src/protocol/column-definition.ts';
import { encodeTextRow } from '../../src/protocol/text-row.ts';
import { encodeBinaryRow, type BinaryColumn, type BinaryValue } from '../../src/protocol/binary-row.ts';
import {
  encodeColumnCount,
  encodeComChangeUser,
  encodeComQuery,
  encodeComStmtClose,
  encodeComStmtExecute,
  encodeComStmtFetch,
  encodeComStmtPrepare,
  encodeComStmtSendLongData,
  encodeLocalInfileRequest,
  encodeSimpleCommand,
  encodeStmtPrepareOk,
} from '../../src/protocol/commands.ts';
import { encodeAuthSwitchRequest } from '../../src/protocol/auth.ts';
import { ResultTracker } from '../../src/session/result-tracker.ts';

export const CAPS_EOF =
  (Capability.PROTOCOL_41 |
    Capability.TRANSACTIONS |
    Capability.SECURE_CONNECTION |
    Capability.MULTI_STATEMENTS |
    Capability.MULTI_RESULTS |
    Capability.PS_MULTI_RESULTS |
    Capability.PLUGIN_AUTH |
    Capability.LOCAL_FILES) >>>
  0;
export const CAPS_DEPRECATE_EOF = (CAPS_EOF | Capability.DEPRECATE_EOF) >>> 0;

export type Dir = 'c' | 's';
export interface Step {
  readonly from: Dir;
  readonly bytes: Buffer;
}
export interface Script {
  readonly name: string;
  readonly caps: number;
  readonly steps: readonly Step[];
  /** MARIADB_CLIENT_CACHE_METADATA negotiated (column counts carry a "metadata follows" byte). */
  readonly cacheMetadata?: boolean;
}

/** What the tracker reported, without timings. */
export interface Seen {
  commands: string[];
  statements: Array<{ cmd: string; index: number; rows: number; affected: number; warnings: number; err: number | null; sqlState: string | null; bytesOut: number; sql: string | null; stmtId: number | null }>;
  done: Array<{ cmd: string; idle: boolean }>;
  /** inFlight after each step. */
  inFlight: number[];
  /** clientStreaming after each step. */
  streaming: boolean[];
}

/** Chunker: how one step's bytes are cut into socket chunks. */
export type Chunker = (b: Buffer, stepIndex: number) => Buffer[];
export const whole: Chunker = (b) => [b];
export const byteByByte: Chunker = (b) => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1));

export function run(script: Script, chunker: Chunker = whole, opts: { captureSql?: boolean; headLimit?: number } = {}): Seen {
  const seen: Seen = { commands: [], statements: [], done: [], inFlight: [], streaming: [] };
  const tracker = new ResultTracker(
    {
      onCommand: (c) => seen.commands.push(c.name),
      onStatement: (r) =>
        seen.statements.push({
          cmd: r.command.name,
          index: r.index,
          rows: r.rows,
          affected: r.affectedRows,
          warnings: r.warnings,
          err: r.error?.code ?? null,
          sqlState: r.error?.sqlState ?? null,
          bytesOut: r.bytesOut,
          sql: r.command.sql,
          stmtId: r.command.statementId,
        }),
      onCommandDone: (c, idle) => seen.done.push({ cmd: c.name, idle }),
    },
    { capabilities: script.caps, cacheMetadata: script.cacheMetadata ?? false, captureSql: opts.captureSql ?? true, refuseLocalInfile: false },
  );
  // the same walker settings as src/session/session.ts
  const client = new PacketWalker(tracker.fromClient, { headLimit: opts.headLimit ?? 64 * 1024, maxPacket: 1024 ** 3 });
  const backend = new PacketWalker(tracker.fromBackend, { headLimit: 1024, maxPacket: 2 ** 31 });
  script.steps.forEach((s, i) => {
    for (const chunk of chunker(s.bytes, i)) (s.from === 'c' ? client : backend).walk(chunk);
    seen.inFlight.push(tracker.inFlight);
    seen.streaming.push(tracker.clientStreaming);
  });
  return seen;
}

// ---- payload builders -------------------------------------------------------------------------------

export function ok(caps: number, o: { affected?: number; insertId?: number; status?: number; warnings?: number; info?: string; header?: 0 | 0xfe } = {}): Buffer {
  return encodeOk(
    {
      header: o.header ?? 0,
      affectedRows: o.affected ?? 0,
      lastInsertId: o.insertId ?? 0,
      statusFlags: o.status ?? ServerStatus.AUTOCOMMIT,
      warnings: o.warnings ?? 0,
      info: o.info ?? '',
      sessionStateChanges: null,
    },
    caps,
  );
}
export const err = (code: number, sqlState: string, message: string): Buffer => encodeErr({ code, sqlState, message });
export const eof = (status: number = ServerStatus.AUTOCOMMIT, warnings = 0): Buffer => encodeEof({ statusFlags: status, warnings });

export function colDef(name: string, type: number = ColumnType.VAR_STRING): Buffer {
  return encodeColumnDefinition41({
    catalog: 'def',
    schema: 'testdb',
    table: 't',
    orgTable: 't',
    name,
    orgName: name,
    extendedMetadata: null,
    charset: 45,
    columnLength: 255,
    type,
    flags: 0,
    decimals: 0,
  });
}

/** Payloads of one result set: column count, definitions, [EOF], rows, terminator (EOF or 0xFE-OK). */
export function resultSet(caps: number, columns: Buffer[], rows: Buffer[], status: number = ServerStatus.AUTOCOMMIT, warnings = 0): Buffer[] {
  const dep = (caps & Capability.DEPRECATE_EOF) !== 0;
  const out = [encodeColumnCount({ count: columns.length, metadataFollows: true }), ...columns];
  if (!dep) out.push(eof(status));
  out.push(...rows);
  out.push(dep ? ok(caps, { header: 0xfe, status, warnings }) : eof(status, warnings));
  return out;
}

/** The PREPARE response for `SELECT id, name, d FROM t WHERE id > ?`: one parameter, the three binCols(). */
export function prepareOkSelect(caps: number, statementId: number): Buffer[] {
  const eofIf = (caps & Capability.DEPRECATE_EOF) === 0 ? [eof()] : [];
  return [encodeStmtPrepareOk({ statementId, numColumns: 3, numParams: 1, warnings: 0 }), colDef('?'), ...eofIf, ...binCols(), ...eofIf];
}

/** A result set under MARIADB_CLIENT_CACHE_METADATA: without metadata no column definitions follow the column
 * count, but the EOF after them still does unless DEPRECATE_EOF (PROTOCOL-NOTES A3.6, measured). */
export function cachedMetadataResultSet(caps: number, columns: Buffer[], rows: Buffer[], metadataFollows: boolean): Buffer[] {
  const dep = (caps & Capability.DEPRECATE_EOF) !== 0;
  const out = [encodeColumnCount({ count: columns.length, metadataFollows }, true)];
  if (metadataFollows) out.push(...columns);
  if (!dep) out.push(eof());
  out.push(...rows);
  out.push(dep ? ok(caps, { header: 0xfe }) : eof());
  return out;
}

/** Packets with consecutive sequence ids from `seq` (each payload may span several physical packets). */
export function packets(payloads: readonly Buffer[], seq: number): Buffer {
  const out: Buffer[] = [];
  for (const p of payloads) {
    out.push(encodePacket(p, seq));
    seq = (seq + Math.floor(p.length / 0xffffff) + 1) & 0xff;
  }
  return Buffer.concat(out);
}

export const c = (...payloads: Buffer[]): Step => ({ from: 'c', bytes: packets(payloads, 0) });
export const cSeq = (seq: number, ...payloads: Buffer[]): Step => ({ from: 'c', bytes: packets(payloads, seq) });
export const s = (seq: number, ...payloads: Buffer[]): Step => ({ from: 's', bytes: packets(payloads, seq) });
export const raw = (from: Dir, hex: string): Step => ({ from, bytes: Buffer.from(hex.replace(/[^0-9a-f]/gi, ''), 'hex') });
export const query = (sql: string): Buffer => encodeComQuery(sql);

const BIN_COLS: BinaryColumn[] = [
  { type: ColumnType.LONGLONG, flags: 0 },
  { type: ColumnType.VAR_STRING, flags: 0 },
  { type: ColumnType.DOUBLE, flags: 0 },
];
export const binRow = (values: BinaryValue[]): Buffer => encodeBinaryRow(values, BIN_COLS);
export const binCols = (): Buffer[] => [colDef('id', ColumnType.LONGLONG), colDef('name'), colDef('d', ColumnType.DOUBLE)];

const switchNative = encodeAuthSwitchRequest({ pluginName: 'mysql_native_password', pluginData: Buffer.from('6379593026685d7a6e386b3564774b502f3b7a7400', 'hex') /* greeting scramble + NUL */ });
/** COM_CHANGE_USER as Sluice sends it upstream (forced switch, A1.3). */
const changeUser = (user: string): Buffer =>
  encodeComChangeUser(
    { user, authResponse: Buffer.alloc(0), database: 'testdb', charset: 45, authPluginName: 'proxy_force_switch', connectAttributes: null },
    CAPS_EOF,
  );

// ---- the conversations ------------------------------------------------------------------------------

/** Small conversations (every byte boundary is affordable). */
export function smallScripts(): Script[] {
  const out: Script[] = [];
  for (const caps of [CAPS_EOF, CAPS_DEPRECATE_EOF]) {
    const tag = caps === CAPS_EOF ? 'EOF' : 'DEPRECATE_EOF';
    const rs = (cols: Buffer[], rows: Buffer[], status?: number) => resultSet(caps, cols, rows, status);
    out.push(
      { name: `${tag}: OK`, caps, steps: [c(query('UPDATE t SET a=1')), s(1, ok(caps, { affected: 3, warnings: 1 }))] },
      { name: `${tag}: ERR`, caps, steps: [c(query('SELECT * FROM nope')), s(1, err(1146, '42S02', "Table 'testdb.nope' doesn't exist"))] },
      {
        name: `${tag}: text result set`,
        caps,
        steps: [c(query("SELECT 1 AS a, 'x' AS b")), s(1, ...rs([colDef('a'), colDef('b')], [encodeTextRow(['1', 'x']), encodeTextRow([null, 'y']), encodeTextRow(['', null])]))],
      },
      { name: `${tag}: empty result set`, caps, steps: [c(query('SELECT 1 FROM DUAL WHERE 0')), s(1, ...rs([colDef('1')], []))] },
      {
        // A3.3: status 0x000a on every intermediate terminator, seq ids keep counting
        name: `${tag}: multi-results SELECT 1; SELECT 2; DO 1`,
        caps,
        steps: [
          c(query('SELECT 1; SELECT 2; DO 1')),
          s(1, ...rs([colDef('1')], [encodeTextRow(['1'])], 0x0a), ...rs([colDef('2')], [encodeTextRow(['2'])], 0x0a), ok(caps, { status: 2 })),
        ],
      },
      {
        name: `${tag}: multi-statement with an error in the middle`,
        caps,
        steps: [
          c(query('INSERT INTO t VALUES (1),(2); SELECT * FROM t; SELECT * FROM nope; SELECT 3')),
          s(1, ok(caps, { affected: 2, status: 0x0a }), ...rs([colDef('a')], [encodeTextRow(['1']), encodeTextRow(['2'])], 0x0a), err(1146, '42S02', 'no such table')),
          c(query('SELECT 4')),
          s(1, ...rs([colDef('4')], [encodeTextRow(['4'])])),
        ],
      },
      {
        // A3.3: CALL returning a result set ends with an extra OK
        name: `${tag}: CALL with a result set and the trailing OK`,
        caps,
        steps: [c(query('CALL p()')), s(1, ...rs([colDef('x')], [encodeTextRow(['1']), encodeTextRow(['2']), encodeTextRow(['3'])], 0x0a), ok(caps, { status: 2 }))],
      },
      {
        name: `${tag}: COM_STMT_PREPARE with params and columns, then EXECUTE with binary rows, then CLOSE`,
        caps,
        steps: [
          c(encodeComStmtPrepare('SELECT id, name, d FROM t WHERE id > ?')),
          s(1, ...prepareOkSelect(caps, 7)),
          c(encodeComStmtExecute({ statementId: 7, flags: 0, iterationCount: 1, params: Buffer.from('00010800' + '0100000000000000', 'hex') })),
          // the binary row of A3.7 (header 0x00, NULL bitmap offset 2) plus a NULL and a 0xFE-looking value
          s(1, ...rs(binCols(), [binRow([42n, 'x', 2.5]), binRow([43n, null, null]), binRow([0xfen, 'fe', -1])])),
          c(encodeComStmtClose({ statementId: 7 })),
          c(query('SELECT 1')),
          s(1, ...rs([colDef('1')], [encodeTextRow(['1'])])),
        ],
      },
      {
        // MariaDB 10.6+: a prepared statement's columns are sent again only when they change
        name: `${tag}: MARIADB_CLIENT_CACHE_METADATA: EXECUTE with metadata, EXECUTE without, a text result set`,
        caps,
        cacheMetadata: true,
        steps: [
          c(encodeComStmtPrepare('SELECT id, name, d FROM t WHERE id > ?')),
          s(1, ...prepareOkSelect(caps, 9)),
          c(encodeComStmtExecute({ statementId: 9, flags: 0, iterationCount: 1, params: Buffer.from('00010800' + '0100000000000000', 'hex') })),
          s(1, ...cachedMetadataResultSet(caps, binCols(), [binRow([42n, 'x', 2.5]), binRow([43n, null, null])], true)),
          c(encodeComStmtExecute({ statementId: 9, flags: 0, iterationCount: 1, params: Buffer.from('00010800' + '0200000000000000', 'hex') })),
          // no definitions (and under DEPRECATE_EOF no EOF): a row may even start with the bytes of one (0x03 'def' is a binary row here)
          s(1, ...cachedMetadataResultSet(caps, binCols(), [binRow([1n, 'def', 0]), binRow([0xfen, 'fe', -1]), binRow([3n, null, 1])], false)),
          c(query('SELECT 1')),
          s(1, ...cachedMetadataResultSet(caps, [colDef('1')], [encodeTextRow(['1'])], true)),
        ],
      },
      {
        name: `${tag}: COM_STMT_PREPARE params only / columns only / neither`,
        caps,
        steps: [
          c(encodeComStmtPrepare('DO ?')),
          s(1, encodeStmtPrepareOk({ statementId: 1, numColumns: 0, numParams: 2, warnings: 0 }), colDef('?'), colDef('?'), ...(caps === CAPS_EOF ? [eof()] : [])),
          c(encodeComStmtPrepare('SELECT 1')),
          s(1, encodeStmtPrepareOk({ statementId: 2, numColumns: 1, numParams: 0, warnings: 0 }), colDef('1'), ...(caps === CAPS_EOF ? [eof()] : [])),
          c(encodeComStmtPrepare('DO 1')),
          s(1, encodeStmtPrepareOk({ statementId: 3, numColumns: 0, numParams: 0, warnings: 0 })),
          c(encodeComStmtPrepare('SELECT nope')),
          s(1, err(1054, '42S22', "Unknown column 'nope' in 'field list'")),
          c(encodeComStmtExecute({ statementId: 1, flags: 0, iterationCount: 1, params: Buffer.from('00010801' + '0100000000000000', 'hex') })),
          s(1, ok(caps)),
        ],
      },
      {
        // cursor: the EXECUTE answer stops after the column definitions (CURSOR_EXISTS); rows come per FETCH
        name: `${tag}: cursor EXECUTE + COM_STMT_FETCH`,
        caps,
        steps: [
          c(encodeComStmtPrepare('SELECT id, name, d FROM t')),
          s(1, encodeStmtPrepareOk({ statementId: 9, numColumns: 3, numParams: 0, warnings: 0 }), ...binCols(), ...(caps === CAPS_EOF ? [eof()] : [])),
          c(encodeComStmtExecute({ statementId: 9, flags: 1 /* CURSOR_TYPE_READ_ONLY */, iterationCount: 1 })),
          // MariaDB sends the metadata, then send_eof(): EOF, or under DEPRECATE_EOF a 0xFE-OK, with CURSOR_EXISTS
          s(
            1,
            encodeColumnCount({ count: 3, metadataFollows: true }),
            ...binCols(),
            caps === CAPS_EOF ? eof(ServerStatus.AUTOCOMMIT | ServerStatus.CURSOR_EXISTS) : ok(caps, { header: 0xfe, status: ServerStatus.AUTOCOMMIT | ServerStatus.CURSOR_EXISTS }),
          ),
          c(encodeComStmtFetch({ statementId: 9, numRows: 2 })),
          s(
            1,
            binRow([1n, 'a', 1]),
            binRow([2n, 'b', 2]),
            caps === CAPS_EOF ? eof(ServerStatus.AUTOCOMMIT | ServerStatus.CURSOR_EXISTS) : ok(caps, { header: 0xfe, status: ServerStatus.AUTOCOMMIT | ServerStatus.CURSOR_EXISTS }),
          ),
          c(encodeComStmtFetch({ statementId: 9, numRows: 2 })),
          s(
            1,
            binRow([3n, 'c', 3]),
            caps === CAPS_EOF
              ? eof(ServerStatus.AUTOCOMMIT | ServerStatus.CURSOR_EXISTS | ServerStatus.LAST_ROW_SENT)
              : ok(caps, { header: 0xfe, status: ServerStatus.AUTOCOMMIT | ServerStatus.CURSOR_EXISTS | ServerStatus.LAST_ROW_SENT }),
          ),
          c(encodeComStmtFetch({ statementId: 12345, numRows: 1 })),
          s(1, err(1243, 'HY000', 'Unknown prepared statement handler (12345) given to mysqld_stmt_fetch')),
        ],
      },
      {
        // A3.8: 0xFB request, file packets seq 2.., empty packet, OK; file bytes that look like commands
        name: `${tag}: LOAD DATA LOCAL INFILE`,
        caps,
        steps: [
          c(query("LOAD DATA LOCAL INFILE '/any/path/on/client.csv' INTO TABLE t")),
          s(1, encodeLocalInfileRequest({ filename: '/any/path/on/client.csv' })),
          cSeq(2, Buffer.from('1\n2\n'), Buffer.from([Command.COM_CHANGE_USER, 0x6e, 0x61, 0x74, 0x00]), Buffer.from([Command.COM_QUIT])),
          cSeq(5, Buffer.from([Command.COM_QUERY, 0x33, 0x0a]), Buffer.alloc(0)),
          s(7, ok(caps, { affected: 3, info: 'Records: 3  Deleted: 0  Skipped: 0  Warnings: 0' })),
          c(query('SELECT 1')),
          s(1, ...rs([colDef('1')], [encodeTextRow(['1'])])),
        ],
      },
      {
        name: `${tag}: LOAD DATA LOCAL refused by the client (empty packet at once) and by the server (4166)`,
        caps,
        steps: [
          c(query("LOAD DATA LOCAL INFILE 'x' INTO TABLE t")),
          s(1, encodeLocalInfileRequest({ filename: 'x' })),
          cSeq(2, Buffer.alloc(0)),
          s(3, err(2, 'HY000', "File 'x' not found")),
          c(query("LOAD DATA LOCAL INFILE 'x' INTO TABLE t")),
          s(1, err(4166, 'HY000', 'The used command is not allowed because the MariaDB server or client has disabled the local infile capability')),
        ],
      },
      {
        // no response to SEND_LONG_DATA and CLOSE; a pipelined EXECUTE right behind them
        name: `${tag}: COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE have no response`,
        caps,
        steps: [
          c(encodeComStmtPrepare('INSERT INTO t VALUES (?)')),
          s(1, encodeStmtPrepareOk({ statementId: 4, numColumns: 0, numParams: 1, warnings: 0 }), colDef('?'), ...(caps === CAPS_EOF ? [eof()] : [])),
          {
            from: 'c',
            bytes: Buffer.concat([
              packets([encodeComStmtSendLongData({ statementId: 4, paramId: 0, data: Buffer.from([0xff, 0x00, 0xfe, 0x03]) })], 0),
              packets([encodeComStmtSendLongData({ statementId: 4, paramId: 0, data: Buffer.alloc(300, 0xfe) })], 0),
              packets([encodeComStmtExecute({ statementId: 0xffffffff, flags: 0, iterationCount: 1, params: Buffer.from('00 01 fc 00', 'hex') })], 0),
            ]),
          },
          s(1, ok(caps, { affected: 1 })),
          c(encodeComStmtClose({ statementId: 4 })),
          c(encodeSimpleCommand(Command.COM_PING)),
          s(1, ok(caps)),
        ],
      },
      {
        // A3.8 capture bytes: two progress reports (0xFF, code 0xFFFF) are not terminal; the OK at seq 3 is
        name: `${tag}: progress reports`,
        caps,
        steps: [
          c(query('ALTER TABLE t ADD INDEX (a)')),
          raw('s', '1b 00 00 01 ff ff ff 01 01 02 9a 02 00 11 636f707920746f20746d70207461626c65'),
          s(2, encodeProgressReport({ stage: 2, maxStage: 2, progress: 0, info: 'Enabling keys' })),
          s(3, ok(caps, { affected: 5 })),
        ],
      },
      {
        name: `${tag}: pipelined commands answered in one write`,
        caps,
        steps: [
          { from: 'c', bytes: Buffer.concat([packets([query('SELECT 1')], 0), packets([query('UPDATE t SET a=2')], 0), packets([query('SELECT nope')], 0), packets([encodeSimpleCommand(Command.COM_PING)], 0)]) },
          {
            from: 's',
            bytes: Buffer.concat([
              packets(rs([colDef('1')], [encodeTextRow(['1'])]), 1),
              packets([ok(caps, { affected: 4 })], 1),
              packets([err(1054, '42S22', 'Unknown column')], 1),
              packets([ok(caps)], 1),
            ]),
          },
        ],
      },
      {
        // A1.3: MariaDB answers every COM_CHANGE_USER with an AuthSwitchRequest; seq 0/1/2/3
        name: `${tag}: COM_CHANGE_USER native, ed25519, wrong password`,
        caps,
        steps: [
          // the A1.3 capture: garbage auth, plugin mysql_native_password
          raw('c', '39 00 00 00 11 6e617400 14 0000000000000000000000000000000000000000 74657374646200 2d00 6d7973716c5f6e61746976655f70617373776f726400'),
          s(1, switchNative),
          // the client's answer starts with bytes that look like a command (0x03)
          raw('c', '14 00 00 02 03 bd 3c 21 7a 2f 6b d0 78 6c 52 4a c2 e9 0f 3c 3a 84 84 55'),
          raw('s', '07 00 00 03 00 00 00 02 00 00 00'),
          c(changeUser('ed')),
          s(1, encodeAuthSwitchRequest({ pluginName: 'client_ed25519', pluginData: Buffer.from('c81a940b0c3471f4a621559e7143ca9d70569c0f89aa40cbabac4c424ed568c3', 'hex') })),
          cSeq(2, Buffer.alloc(64, 0x11)),
          raw('s', '07 00 00 03 00 00 00 02 00 00 00'),
          c(changeUser('nat')),
          s(1, switchNative),
          cSeq(2, Buffer.alloc(20, 0)),
          s(3, err(1045, '28000', "Access denied for user 'nat'@'localhost' (using password: YES)")),
        ],
      },
      {
        // caching_sha2 fast path through COM_CHANGE_USER: AuthMoreData 01 03 then OK with no client packet
        name: `${tag}: COM_CHANGE_USER with AuthMoreData fast-auth-success`,
        caps,
        steps: [
          c(changeUser('nat')),
          s(1, Buffer.concat([Buffer.from([0xfe]), Buffer.from('caching_sha2_password\0'), Buffer.alloc(21, 0x41)])),
          cSeq(2, Buffer.alloc(32, 0x01)),
          s(3, Buffer.from([0x01, 0x03]), ok(caps)),
          c(query('SELECT 1')),
          s(1, ...rs([colDef('1')], [encodeTextRow(['1'])])),
        ],
      },
      {
        name: `${tag}: simple commands (INIT_DB, STATISTICS, SET_OPTION, FIELD_LIST, PROCESS_INFO, RESET_CONNECTION, QUIT)`,
        caps,
        steps: [
          c(Buffer.concat([Buffer.from([Command.COM_INIT_DB]), Buffer.from('testdb')])),
          s(1, ok(caps)),
          c(encodeSimpleCommand(Command.COM_STATISTICS)),
          s(1, Buffer.from('Uptime: 5  Threads: 1  Questions: 3')),
          c(Buffer.from([Command.COM_SET_OPTION, 0, 0])),
          s(1, eof()),
          c(Buffer.concat([Buffer.from([Command.COM_FIELD_LIST]), Buffer.from('t\0')])),
          // MariaDB's net_send_eof(): a 0xFE-OK under DEPRECATE_EOF, here one of 9+ bytes (with info)
          s(1, colDef('a'), colDef('b'), caps === CAPS_EOF ? eof() : ok(caps, { header: 0xfe, info: 'fields' })),
          // COM_PROCESS_INFO (deprecated, still served) answers with a text result set
          c(encodeSimpleCommand(Command.COM_PROCESS_INFO)),
          s(1, ...rs([colDef('Id'), colDef('User')], [encodeTextRow(['5', 'nat']), encodeTextRow(['6', 'ed'])])),
          c(encodeSimpleCommand(Command.COM_RESET_CONNECTION)),
          s(1, ok(caps)),
          c(encodeSimpleCommand(Command.COM_QUIT)),
        ],
      },
    );
  }
  return out;
}

/** A result set with rows of 16 MiB and more: continuation packets, a first byte 0xFE that is not an EOF. */
export function bigRowScripts(): Script[] {
  const out: Script[] = [];
  // 17 MiB value: lenenc 0xFE + 8-byte length, the row spans two physical packets (A3.8)
  const big = Buffer.alloc(17 * 1024 * 1024, 0x62);
  // a row of exactly 0xFFFFFF bytes: followed by an empty continuation packet
  const exact = Buffer.alloc(0xffffff - 4, 0xfe); // lenenc 0xFD + 3 bytes + value = 0xFFFFFF
  for (const caps of [CAPS_EOF, CAPS_DEPRECATE_EOF]) {
    const tag = caps === CAPS_EOF ? 'EOF' : 'DEPRECATE_EOF';
    out.push({
      name: `${tag}: rows of 16 MiB and more`,
      caps,
      steps: [
        c(query("SELECT REPEAT('b', 17825792)")),
        s(1, ...resultSet(caps, [colDef('r')], [encodeTextRow([big]), encodeTextRow([exact]), encodeTextRow(['small'])])),
        c(query('SELECT 1')),
        s(1, ...resultSet(caps, [colDef('1')], [encodeTextRow(['1'])])),
      ],
    });
  }
  // a ≥ 16 MiB command from the client: its continuation is not a second command
  out.push({
    name: 'client packet of 17 MiB',
    caps: CAPS_EOF,
    steps: [c(query(`INSERT INTO t VALUES ('${'\u0003'.repeat(17 * 1024 * 1024)}')`)), s(2, ok(CAPS_EOF, { affected: 1 })), c(query('SELECT 1')), s(1, ...resultSet(CAPS_EOF, [colDef('1')], [encodeTextRow(['1'])]))],
  });
  return out;
}
