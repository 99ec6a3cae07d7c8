// The codec against a real mariadbd over a raw socket: greeting, mysql_native_password login
// computed here, then a table with one column of every type read through the text protocol
// (COM_QUERY) and the binary protocol (COM_STMT_PREPARE/EXECUTE). Every packet the server sends
// must parse and re-encode byte-identically — that is what lets the gateway rewrite safely.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { startMariaDb, type MariaDbServer } from '../harness/mariadb.ts';
import * as P from '../../src/protocol/index.ts';

let server: MariaDbServer;

before(async () => {
  server = await startMariaDb();
  await server.sql(`
    CREATE TABLE testdb.every_type (
      c_tiny TINYINT, c_utiny TINYINT UNSIGNED, c_short SMALLINT, c_medium MEDIUMINT, c_int INT,
      c_uint INT UNSIGNED, c_big BIGINT, c_ubig BIGINT UNSIGNED, c_float FLOAT, c_double DOUBLE,
      c_dec DECIMAL(12,2), c_year YEAR, c_date DATE, c_dt DATETIME(6), c_ts TIMESTAMP NULL, c_time TIME(6),
      c_char CHAR(5), c_varchar VARCHAR(400), c_text TEXT, c_blob BLOB, c_enum ENUM('a','b'), c_set SET('x','y'),
      c_json JSON, c_bit BIT(8), c_geom POINT, c_bin BINARY(4), c_uuid UUID, c_inet6 INET6
    );
    INSERT INTO testdb.every_type VALUES
      (-128, 255, -32768, -8388608, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
       1.5, -2.25, -1234567890.12, 2024, '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15',
       '-100:02:03.5', 'abc', 'h\u00e9llo', 'some text', 0x00ff, 'b', 'x,y', '{"a": 1}', b'101',
       ST_GeomFromText('POINT(1 2)'), 0x01020304, '123e4567-e89b-12d3-a456-426655440000', '::1'),
      (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (0, 0, 0, 0, 0, 0, 9007199254740993, 9007199254740993, 0, 0, 0, 0, '0000-00-00', '2024-01-01 00:00:00',
       '2024-01-01 10:00:00', '00:00:00', '', REPEAT('v', 300), '', '', 'a', '', '[]', b'0',
       ST_GeomFromText('POINT(0 0)'), 0x00000000, '00000000-0000-0000-0000-000000000000', '::');
  `);
});

after(async () => {
  await server?.stop();
});

/** Pulls frames off a socket through the codec's own Framer. */
class Conn {
  readonly #framer = new P.Framer();
  readonly #waiters: Array<() => void> = [];
  #closed = false;
  constructor(readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.#framer.push(c);
      this.#waiters.splice(0).forEach((w) => w());
    });
    sock.on('close', () => {
      this.#closed = true;
      this.#waiters.splice(0).forEach((w) => w());
    });
  }
  async next(): Promise<P.Frame> {
    for (;;) {
      const f = this.#framer.next();
      if (f !== null) return f;
      if (this.#closed) throw new Error('socket closed');
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }
  send(payload: Buffer, seq: number): void {
    this.sock.write(P.encodePacket(payload, seq));
  }
}

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function nativePassword(password: string, scramble: Buffer): Buffer {
  const s1 = sha1(Buffer.from(password));
  const s3 = sha1(scramble, sha1(s1));
  return Buffer.from(s1.map((b, i) => b ^ (s3[i] as number)));
}

/** Asserts encode(parse(payload)) === payload and returns the parsed value. */
function exact<T>(payload: Buffer, parse: (b: Buffer) => T, encode: (v: T) => Buffer, what: string): T {
  const v = parse(payload);
  assert.deepEqual(encode(v), payload, `${what} re-encodes byte-identically`);
  return v;
}

const CLIENT_CAPS =
  P.Capability.LONG_FLAG |
  P.Capability.CONNECT_WITH_DB |
  P.Capability.PROTOCOL_41 |
  P.Capability.TRANSACTIONS |
  P.Capability.SECURE_CONNECTION |
  P.Capability.MULTI_RESULTS |
  P.Capability.PLUGIN_AUTH |
  P.Capability.CONNECT_ATTRS |
  P.Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  P.Capability.SESSION_TRACK; // bit 0 clear: MariaDB ext caps honoured

async function login(): Promise<{ conn: Conn; caps: number }> {
  const sock = connect({ host: server.host, port: server.port });
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  const conn = new Conn(sock);
  const g = await conn.next();
  assert.equal(g.seq, 0);
  const hello = exact(g.payload(), P.parseHandshakeV10, P.encodeHandshakeV10, 'greeting');
  assert.equal(hello.protocolVersion, 10);
  assert.equal(hello.scramble.length, 20);
  assert.equal(hello.authPluginName, 'mysql_native_password');
  assert.equal(hello.capabilities & P.Capability.LONG_PASSWORD, 0);
  const caps = CLIENT_CAPS & hello.capabilities;
  const resp: P.HandshakeResponse41 = {
    capabilities: caps,
    maxPacketSize: 0x1000000,
    charset: 45,
    mariadbCapabilities: P.MariaDbCapability.EXTENDED_METADATA & hello.mariadbCapabilities,
    user: 'nat',
    authResponse: nativePassword('natpw', hello.scramble),
    database: 'testdb',
    authPluginName: 'mysql_native_password',
    connectAttributes: [['_client_name', 'sluice-protocol-test']],
  };
  const enc = P.encodeHandshakeResponse41(resp);
  assert.deepEqual(P.parseHandshakeResponse41(enc), resp);
  conn.send(enc, 1);
  const okf = await conn.next();
  assert.equal(okf.seq, 2);
  const ok = exact(okf.payload(), (b) => P.parseOk(b, caps), (v) => P.encodeOk(v, caps), 'login OK');
  assert.deepEqual(ok.sessionStateChanges, [{ type: 'schema', schema: 'testdb' }]);
  return { conn, caps };
}

async function readColumns(conn: Conn, n: number): Promise<P.ColumnDefinition41[]> {
  const opts = { extendedMetadata: true };
  const cols: P.ColumnDefinition41[] = [];
  for (let i = 0; i < n; i++) {
    const f = await conn.next();
    cols.push(exact(f.payload(), (b) => P.parseColumnDefinition41(b, opts), (c) => P.encodeColumnDefinition41(c, opts), `column ${i}`));
  }
  const eof = await conn.next();
  assert.ok(P.isEofPacket(eof.payload()), 'EOF after column definitions (no DEPRECATE_EOF)');
  exact(eof.payload(), P.parseEof, P.encodeEof, 'EOF');
  return cols;
}

const COLS = 28;

test('greeting, native login, text and binary result sets re-encode byte-identically', async () => {
  const { conn } = await login();
  try {
    // --- text protocol
    conn.send(P.encodeComQuery('SELECT * FROM every_type'), 0);
    const cc = await conn.next();
    assert.deepEqual(P.parseColumnCount(cc.payload()), { count: COLS, metadataFollows: true });
    const cols = await readColumns(conn, COLS);
    assert.equal(cols[0]?.name, 'c_tiny');
    assert.equal(cols[7]?.flags && cols[7].flags & P.ColumnFlag.UNSIGNED, P.ColumnFlag.UNSIGNED);
    const byName = new Map(cols.map((c) => [c.name, c]));
    assert.deepEqual(byName.get('c_json')?.extendedMetadata, [{ type: 1, value: 'json' }]);
    assert.deepEqual(byName.get('c_uuid')?.extendedMetadata, [{ type: 0, value: 'uuid' }]);
    assert.deepEqual(byName.get('c_inet6')?.extendedMetadata, [{ type: 0, value: 'inet6' }]);
    const textRows: Array<Array<Buffer | null>> = [];
    for (;;) {
      const f = await conn.next();
      if (P.isEofPacket(f.payload())) break;
      textRows.push(exact(f.payload(), (b) => P.parseTextRow(b, COLS), P.encodeTextRow, 'text row'));
    }
    assert.equal(textRows.length, 3);
    assert.equal(textRows[0]?.[0]?.toString(), '-128');
    assert.equal(textRows[0]?.[7]?.toString(), '18446744073709551615');
    assert.equal(textRows[0]?.[17]?.toString(), 'h\u00e9llo');
    assert.ok(textRows[1]?.every((v) => v === null));

    // --- binary protocol
    conn.send(P.encodeComStmtPrepare('SELECT * FROM every_type'), 0);
    const pf = await conn.next();
    const prep = exact(pf.payload(), P.parseStmtPrepareOk, P.encodeStmtPrepareOk, 'prepare OK');
    assert.equal(prep.numColumns, COLS);
    assert.equal(prep.numParams, 0);
    await readColumns(conn, COLS);
    conn.send(P.encodeComStmtExecute({ statementId: prep.statementId, flags: 0, iterationCount: 1 }), 0);
    const ecc = await conn.next();
    assert.equal(P.parseColumnCount(ecc.payload()).count, COLS);
    const bcols = await readColumns(conn, COLS);
    const rows: P.BinaryValue[][] = [];
    for (;;) {
      const f = await conn.next();
      if (P.isEofPacket(f.payload())) break;
      rows.push(exact(f.payload(), (b) => P.parseBinaryRow(b, bcols), (v) => P.encodeBinaryRow(v, bcols), 'binary row'));
    }
    assert.equal(rows.length, 3);
    const [r1, r2, r3] = rows as [P.BinaryValue[], P.BinaryValue[], P.BinaryValue[]];
    assert.deepEqual(r1.slice(0, 8), [-128, 255, -32768, -8388608, -2147483648, 4294967295, -(2n ** 63n), 2n ** 64n - 1n]);
    assert.deepEqual(r1.slice(8, 12), [1.5, -2.25, '-1234567890.12', 2024]);
    assert.deepEqual(r1[12], { kind: 'date', year: 2024, month: 2, day: 29, hour: 0, minute: 0, second: 0, microsecond: 0 });
    assert.deepEqual(r1[13], { kind: 'date', year: 2024, month: 2, day: 29, hour: 13, minute: 14, second: 15, microsecond: 123456 });
    assert.deepEqual(r1[15], { kind: 'time', negative: true, days: 4, hours: 4, minutes: 2, seconds: 3, microseconds: 500000 });
    assert.deepEqual(r1[17], Buffer.from('h\u00e9llo'));
    assert.ok(r2.every((v) => v === null));
    assert.deepEqual(r3.slice(6, 8), [9007199254740993n, 9007199254740993n]);
    assert.deepEqual(r3[12], { kind: 'date', year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, microsecond: 0 });
    assert.deepEqual(r3[15], { kind: 'time', negative: false, days: 0, hours: 0, minutes: 0, seconds: 0, microseconds: 0 });

    conn.send(P.encodeComStmtClose({ statementId: prep.statementId }), 0);
    conn.send(P.encodeSimpleCommand(P.Command.COM_QUIT), 0);
  } finally {
    conn.sock.destroy();
  }
});

test('ERR and OK from real statements re-encode byte-identically', async () => {
  const { conn, caps } = await login();
  try {
    conn.send(P.encodeComQuery('SELECT * FROM no_such_table'), 0);
    const ef = await conn.next();
    assert.ok(P.isErrPacket(ef.payload()));
    const err = exact(ef.payload(), P.parseErr, P.encodeErr, 'ERR');
    assert.equal(err.code, 1146);
    assert.equal(err.sqlState, '42S02');
    conn.send(P.encodeComQuery("SET time_zone = '+01:00'"), 0);
    const okf = await conn.next();
    const ok = exact(okf.payload(), (b) => P.parseOk(b, caps), (v) => P.encodeOk(v, caps), 'OK');
    assert.ok(ok.sessionStateChanges?.some((s) => s.type === 'system_variable' && s.name === 'time_zone' && s.value === '+01:00'));
    conn.send(P.encodeComQuery('CREATE TEMPORARY TABLE tt (a INT)'), 0);
    await conn.next();
    conn.send(P.encodeComQuery('INSERT INTO tt VALUES (1),(2),(3)'), 0);
    const ins = await conn.next();
    const iok = exact(ins.payload(), (b) => P.parseOk(b, caps), (v) => P.encodeOk(v, caps), 'INSERT OK');
    assert.equal(iok.affectedRows, 3);
    assert.equal(iok.info, 'Records: 3  Duplicates: 0  Warnings: 0');
  } finally {
    conn.sock.destroy();
  }
});
