// Masking through the gateway against a real mariadbd (issue 5): exact masked outputs of the `crm.users`
// fixture through mysql2 (query and execute), the mariadb connector (query and execute), the mariadb CLI
// (batch) and mariadb-dump; aliases and SELECT * covered by origin; per-route rules vs masking.default;
// every bypass form rejected with ERR 1142 (and masked under mask_expression); fail-closed on an
// unparseable statement; a rejected statement (also pipelined) leaves the session usable; binary rows
// with NULLs and typed masks; COM_STMT_FETCH cursors over the raw protocol; `masked` in audit events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import * as mariadb from 'mariadb';
import { startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';
import { runMariaDbCli } from '../harness/cli.ts';
import { RAW_CLIENT_CAPS, RawClient } from '../harness/raw-client.ts';
import { Capability } from '../../src/protocol/constants.ts';
import {
  encodeComQuery,
  encodeComStmtClose,
  encodeComStmtExecute,
  encodeComStmtFetch,
  encodeComStmtPrepare,
  encodePacket,
  isEofPacket,
  isErrPacket,
  parseBinaryRow,
  parseColumnDefinition41,
  parseErr,
  parseStmtPrepareOk,
  type BinaryValue,
  type ColumnDefinition41,
} from '../../src/protocol/index.ts';
import type { SluiceHandle } from '../../src/main.ts';
import { FIXTURE_SQL, MASKED, RULES, RULE_NAMES, readResponse, sendQuery, textRows, within, until, auditEvents, type Row } from './fixtures/masking.ts';

const { user, password } = USERS.native;
type Sluice = SluiceHandle & { port: number };

let db: MariaDbServer;
let dir: string;
let auditPath: string;
/** on_bypass: reject, two routes: `light.*` users get [id_card] only, everyone else masking.default */
let gw: Sluice;
/** on_bypass: mask_expression */
let gwExpr: Sluice;

const ALL_COLS = 'id, name, phone, id_card, email, card, notes, phone_num, birthday';

function maskingConfig(onBypass: 'reject' | 'mask_expression', grantsFile: string): Record<string, unknown> {
  return { default: RULE_NAMES, rules: RULES, exempt_users: [], on_bypass: onBypass, grants_file: grantsFile };
}

before(async () => {
  db = await startMariaDb();
  await db.sql(FIXTURE_SQL);
  dir = await mkdtemp(join(tmpdir(), 'sluice-masking-'));
  auditPath = join(dir, 'audit.jsonl');
  const routes = [
    { name: 'light', match: { user_tag: 'light' }, backends: ['db1'], masking: ['id_card'] },
    { name: 'default', backends: ['db1'] },
  ];
  [gw, gwExpr] = await Promise.all([
    startTestSluice(db.port, {
      config: {
        routes,
        masking: maskingConfig('reject', join(dir, 'grants-reject.json')),
        audit: { sinks: [{ type: 'file', path: auditPath, fsync: '10ms' }], events: ['query'] },
      },
    }),
    startTestSluice(db.port, { config: { masking: maskingConfig('mask_expression', join(dir, 'grants-expr.json')) } }),
  ]);
});
after(async () => {
  await gw?.stop(1000);
  await gwExpr?.stop(1000);
  await db?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const my = (port: number, u: string = user) =>
  mysql.createConnection({ host: '127.0.0.1', port, user: u, password, database: 'crm', charset: 'utf8mb4_general_ci', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
const maria = (port: number) => mariadb.createConnection({ host: '127.0.0.1', port, user, password, database: 'crm', dateStrings: true, bigIntAsNumber: false });

/** Normalizes a driver row (id as number, every other value string or null). */
const norm = (r: unknown[]): Row => r.map((v, i) => (i === 0 ? Number(v) : v === null ? null : String(v))) as Row;

function isBypassErr(column: string) {
  return (e: { errno?: number; sqlState?: string; message: string; sqlMessage?: string }) => {
    const message = e.sqlMessage ?? e.message; // the mariadb connector prefixes `message`
    assert.equal(e.errno, 1142, message);
    assert.equal(e.sqlState, '42000');
    assert.match(message, /^SELECT command denied/);
    assert.ok(message.includes(`(sluice: masked column ${column}`), message);
    return true;
  };
}

// ---- exact outputs per client -------------------------------------------------------------------

test('mysql2 text query: every column masked exactly (partial in characters, fixed, detectors, typed)', async () => {
  const c = await my(gw.port);
  try {
    const [rows] = await c.query({ sql: `SELECT ${ALL_COLS} FROM users ORDER BY id`, rowsAsArray: true });
    assert.deepEqual((rows as unknown[][]).map(norm), MASKED);
  } finally {
    await c.end();
  }
});

test('mysql2 prepared execute: binary rows with NULLs, BIGINT → NULL and DATE → fixed decode', async () => {
  const c = await my(gw.port);
  try {
    const [rows] = await c.execute({ sql: `SELECT ${ALL_COLS} FROM users WHERE id >= ? ORDER BY id`, rowsAsArray: true }, [1]);
    assert.deepEqual((rows as unknown[][]).map(norm), MASKED);
    // the typed slots really are typed: a NULL BIGINT and a DATE string
    const [objs] = await c.execute<mysql.RowDataPacket[]>('SELECT phone_num, birthday FROM users WHERE id = ?', [3]);
    assert.deepEqual(objs[0], { phone_num: null, birthday: '1970-01-01' });
  } finally {
    await c.end();
  }
});

test('mariadb connector: query and execute give the same masked rows', async () => {
  const c = await maria(gw.port);
  try {
    const q: unknown[][] = await c.query({ sql: `SELECT ${ALL_COLS} FROM users ORDER BY id`, rowsAsArray: true });
    assert.deepEqual(q.map(norm), MASKED);
    const x: unknown[][] = await c.execute({ sql: `SELECT ${ALL_COLS} FROM users WHERE id > ? ORDER BY id`, rowsAsArray: true }, [0]);
    assert.deepEqual(x.map(norm), MASKED);
  } finally {
    await c.end();
  }
});

test('mariadb CLI batch output is masked', async () => {
  const r = await runMariaDbCli(['-h127.0.0.1', `-P${gw.port}`, `-u${user}`, `-p${password}`, '--default-character-set=utf8mb4', '-B', 'crm', '-e', `SELECT ${ALL_COLS} FROM users ORDER BY id`]);
  assert.equal(r.code, 0, r.stderr);
  const expected = [ALL_COLS.split(', ').join('\t'), ...MASKED.map((row) => row.map((v) => (v === null ? 'NULL' : String(v))).join('\t'))];
  assert.deepEqual(r.stdout.trimEnd().split('\n'), expected);
});

test('mariadb-dump through Sluice writes masked INSERT values', async () => {
  const r = await within(
    30_000,
    'mariadb-dump',
    new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn('/usr/bin/mariadb-dump', ['--no-defaults', '-h127.0.0.1', `-P${gw.port}`, `-u${user}`, `-p${password}`, 'crm', 'users'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
    }),
  );
  assert.equal(r.code, 0, r.err);
  const sqlValue = (v: string | number | null): string => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`);
  // mariadb-dump 10.11 writes one row per line after the INSERT header
  const values = MASKED.map((row) => `(${row.map((v, i) => (i === 0 ? String(v) : sqlValue(v))).join(',')})`).join(',\n');
  const lines = r.out.split('\n');
  const at = lines.findIndex((l) => l.startsWith('INSERT INTO'));
  assert.ok(at >= 0, r.out);
  assert.equal(lines.slice(at, at + MASKED.length + 1).join('\n'), `INSERT INTO \`users\` VALUES\n${values};`);
  assert.ok(!r.out.includes('13812345678'), 'no clear phone in the dump');
  assert.match(r.out, /CREATE TABLE `users`/);
});

// ---- origin: aliases, SELECT *, views of the same table under another name ---------------------

test('aliases and SELECT * are covered by the original column', async () => {
  const c = await my(gw.port);
  try {
    const [star] = await c.query({ sql: 'SELECT * FROM users ORDER BY id', rowsAsArray: true });
    assert.deepEqual((star as unknown[][]).map(norm), MASKED);
    const [aliased] = await c.query<mysql.RowDataPacket[]>('SELECT u.phone AS p, u.id_card AS `身份证`, u.email AS e FROM crm.users AS u WHERE u.id = 1');
    assert.deepEqual(aliased[0], { p: '138****5678', 身份证: '1101************2X', e: 'hidden@example.invalid' });
    // a join with an unmasked table: only the users columns are masked
    const [joined] = await c.query<mysql.RowDataPacket[]>('SELECT o.label, u.phone FROM crm.other o JOIN crm.users u ON u.id = o.id');
    assert.deepEqual(joined[0], { label: 'one', phone: '138****5678' });
    // COUNT carries no value and passes
    const [cnt] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(phone) AS n FROM users');
    assert.equal(Number(cnt[0]!['n']), 2);
  } finally {
    await c.end();
  }
});

test('a result set without masked columns is untouched (expressions on other tables, detectors still apply)', async () => {
  const c = await my(gw.port);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT label, CONCAT(label, '!') AS x, 'ring 13912345678 now' AS t FROM other");
    assert.deepEqual(rows[0], { label: 'one', x: 'one!', t: 'ring 139****5678 now' });
  } finally {
    await c.end();
  }
});

test('per-route rules: routes[].masking replaces masking.default', async () => {
  const c = await my(gw.port, `light.${user}`);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT phone, id_card, notes, birthday FROM users WHERE id = 1');
    assert.deepEqual(rows[0], { phone: '13812345678', id_card: '1101************2X', notes: 'call 13900001111 or 13700002222 after 6pm', birthday: '1990-05-17' });
    // the guard follows the route's rules too
    const [ok] = await c.query<mysql.RowDataPacket[]>("SELECT CONCAT(phone, '') AS p FROM users WHERE id = 1");
    assert.equal(ok[0]!['p'], '13812345678');
    await assert.rejects(c.query("SELECT CONCAT(id_card, '') FROM users"), isBypassErr('crm.users.id_card'));
  } finally {
    await c.end();
  }
});

// ---- the bypass guard ----------------------------------------------------------------------------

const BYPASSES: Array<[string, string, string]> = [
  ['CONCAT', "SELECT CONCAT(phone, '') AS p FROM users", 'phone'],
  ['SUBSTR', 'SELECT SUBSTR(phone, 1, 11) AS p FROM users', 'phone'],
  ['HEX', 'SELECT HEX(id_card) AS p FROM crm.users', 'id_card'],
  ['CAST', 'SELECT CAST(phone AS CHAR) AS p FROM users', 'phone'],
  ['arithmetic', 'SELECT phone_num + 0 AS p FROM users', 'phone_num'],
  ['UNION mixing', 'SELECT label AS p FROM other UNION ALL SELECT phone FROM users', 'phone'],
  ['scalar subquery', 'SELECT (SELECT phone FROM users WHERE id = 1) AS p', 'phone'],
  ['derived table', 'SELECT d.p FROM (SELECT phone AS p FROM users) AS d', 'phone'],
  ['CTE', 'WITH c AS (SELECT phone AS p FROM users) SELECT p FROM c', 'phone'],
];
const ALWAYS_REJECTED: Array<[string, string, string]> = [
  ['INTO OUTFILE', "SELECT phone FROM users INTO OUTFILE '/tmp/sluice-masking-out.txt'", 'phone'],
  ['INTO DUMPFILE', "SELECT phone FROM users WHERE id = 1 INTO DUMPFILE '/tmp/sluice-masking-dump.bin'", 'phone'],
  ['INTO @var', 'SELECT phone INTO @p FROM users WHERE id = 1', 'phone'],
  ['CREATE TABLE … AS SELECT', 'CREATE TABLE crm.copy AS SELECT phone FROM users', ''],
  ['INSERT … SELECT', 'INSERT INTO crm.other (id, label) SELECT id + 100, phone FROM users', ''],
];

for (const [name, sql, col] of [...BYPASSES, ...ALWAYS_REJECTED]) {
  test(`bypass rejected with ERR 1142 naming the column: ${name}`, async () => {
    const c = await my(gw.port);
    try {
      await assert.rejects(c.query(sql), isBypassErr(`crm.users.${col}`));
      // the session goes on
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT phone FROM users WHERE id = 1');
      assert.equal(rows[0]!['phone'], '138****5678');
    } finally {
      await c.end();
    }
  });
}

test('bypasses never reached the server (no copy table, no exported file)', async () => {
  assert.equal((await db.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'crm' AND table_name = 'copy'")).trim(), '0');
  assert.equal((await db.sql('SELECT COUNT(*) FROM crm.other')).trim(), '1');
});

test('prepared statements are checked at COM_STMT_PREPARE (mysql2 and mariadb connector)', async () => {
  const c = await my(gw.port);
  try {
    await assert.rejects(c.prepare("SELECT CONCAT(phone, ?) FROM users"), isBypassErr('crm.users.phone'));
    await assert.rejects(c.execute('SELECT HEX(phone) FROM users WHERE id = ?', [1]), isBypassErr('crm.users.phone'));
    const [rows] = await c.execute<mysql.RowDataPacket[]>('SELECT phone FROM users WHERE id = ?', [2]);
    assert.equal(rows[0]!['phone'], '159****4321');
  } finally {
    await c.end();
  }
  const m = await maria(gw.port);
  try {
    await assert.rejects(m.prepare('SELECT SUBSTR(phone, ?) FROM users'), isBypassErr('crm.users.phone'));
    const rows: Array<{ phone: string }> = await m.execute('SELECT phone FROM users WHERE id = ?', [1]);
    assert.equal(rows[0]!.phone, '138****5678');
  } finally {
    await m.end();
  }
});

test('fail closed: an unparseable statement naming a masked table is rejected, not passed', async () => {
  const c = await my(gw.port);
  try {
    await assert.rejects(c.query('SELECT phone FROM users WHERE id = 1 AND ((('), isBypassErr('crm.users.phone'));
    // a statement naming no masked table is not judged by Sluice: the server's own syntax error
    await assert.rejects(c.query('SELECT label FROM other WHERE ((('), (e: { errno?: number }) => e.errno === 1064);
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT 1 AS one');
    assert.equal(rows[0]!['one'], 1);
  } finally {
    await c.end();
  }
});

test('mask_expression: expression outputs come back NULL, direct columns masked, exports still rejected', async () => {
  const c = await my(gwExpr.port);
  try {
    for (const [name, sql] of BYPASSES) {
      const [rows] = await c.query<mysql.RowDataPacket[]>(`${sql} LIMIT 1`);
      assert.equal(rows.length, 1, name);
      assert.equal(rows[0]!['p'], null, `${name}: ${JSON.stringify(rows[0])}`);
    }
    const [mixed] = await c.query<mysql.RowDataPacket[]>("SELECT id, CONCAT(phone, '-x') AS p, phone, UPPER(name) AS n FROM users WHERE id = 1");
    assert.deepEqual(mixed[0], { id: 1, p: null, phone: '138****5678', n: null });
    for (const [name, sql, col] of ALWAYS_REJECTED) {
      await assert.rejects(c.query(sql), isBypassErr(`crm.users.${col}`), name);
    }
    // prepared: the expression output is masked in binary rows too
    const [bin] = await c.execute<mysql.RowDataPacket[]>("SELECT id, CONCAT(phone, ?) AS p FROM users WHERE id = 1", ['']);
    assert.deepEqual(bin[0], { id: 1, p: null });
  } finally {
    await c.end();
  }
});

// ---- the session after a rejection ---------------------------------------------------------------

test('pipelined: a rejected statement between two others gets its ERR in order, the rest are answered', async () => {
  const c = await RawClient.open(gw.port);
  try {
    await c.login(user, password, 'crm');
    // one write: a slow statement, a bypass (its ERR must wait for the first response), then a normal one
    c.write(
      Buffer.concat([
        encodePacket(encodeComQuery('SELECT SLEEP(0.2) AS s, phone FROM users WHERE id = 1'), 0),
        encodePacket(encodeComQuery("SELECT CONCAT(phone, '') FROM users"), 0),
        encodePacket(encodeComQuery('SELECT phone FROM users WHERE id = 2'), 0),
      ]),
    );
    assert.deepEqual(textRows(await readResponse(c)), [['0', '138****5678']]);
    const r2 = await readResponse(c);
    assert.equal(r2.kind, 'err');
    if (r2.kind === 'err') {
      assert.equal(r2.err.code, 1142);
      assert.equal(r2.err.sqlState, '42000');
      assert.match(r2.err.message, /\(sluice: masked column crm\.users\.phone/);
    }
    assert.deepEqual(textRows(await readResponse(c)), [['159****4321']]);
    // and again, sequentially
    sendQuery(c, 'SELECT HEX(phone) FROM users');
    assert.equal((await readResponse(c)).kind, 'err');
    sendQuery(c, 'SELECT phone FROM users WHERE id = 1');
    assert.deepEqual(textRows(await readResponse(c)), [['138****5678']]);
  } finally {
    c.destroy();
  }
});

// ---- cursors (COM_STMT_FETCH) over the raw protocol ----------------------------------------------

// Under DEPRECATE_EOF the definitions of a cursor end with an OK (0xFE) carrying CURSOR_EXISTS instead of an
// EOF, and the PREPARE response has no EOFs. Status flags sit at bytes 3-4 of both (affected rows and insert
// id are single zero bytes in these OKs).
interface CursorCase {
  readonly deprecateEof: boolean;
  /** the first COM_STMT_FETCH goes out in the same write as the EXECUTE that opens the cursor */
  readonly pipelined?: boolean;
  /** the EXECUTE goes out with the id -1 in the same write as its PREPARE (as the mariadb connector does) */
  readonly executeLastPrepared?: boolean;
  readonly port?: number;
  readonly sql?: string;
  readonly expected?: BinaryValue[][];
}

const CURSOR_DATE = { kind: 'date', year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, microsecond: 0 };
const CURSOR_ROWS: BinaryValue[][] = [
  [1, '138****5678', null, CURSOR_DATE, 'call 139****1111 or 137****2222 after 6pm'],
  [2, '159****4321', null, null, 'no numbers here 😀'],
  [3, null, null, CURSOR_DATE, 'tel:135****5678;'],
] as BinaryValue[][];

async function cursorFetchIsMasked(k: CursorCase): Promise<void> {
  const { deprecateEof } = k;
  const c = await RawClient.open(k.port ?? gw.port);
  const next = async (): Promise<Buffer> => {
    const f = await c.next(5000);
    if (f === null) throw new Error('closed');
    return f.payload();
  };
  try {
    await c.login(user, password, 'crm', deprecateEof ? { caps: (RAW_CLIENT_CAPS | Capability.DEPRECATE_EOF) >>> 0 } : {});
    const executeOf = (statementId: number): Buffer =>
      encodePacket(encodeComStmtExecute({ statementId, flags: 1 /* CURSOR_TYPE_READ_ONLY */, iterationCount: 1 }), 0);
    const prepare = encodePacket(encodeComStmtPrepare(k.sql ?? 'SELECT id, phone, phone_num, birthday, notes FROM users ORDER BY id'), 0);
    c.write(k.executeLastPrepared === true ? Buffer.concat([prepare, executeOf(0xffffffff)]) : prepare);
    const okp = await next();
    if (isErrPacket(okp)) throw new Error(parseErr(okp).message);
    const prep = parseStmtPrepareOk(okp);
    assert.equal(prep.numParams, 0);
    for (let i = 0; i < prep.numColumns; i++) await next();
    if (!deprecateEof) assert.ok(isEofPacket(await next()));

    const fetch = (): Buffer => encodePacket(encodeComStmtFetch({ statementId: prep.statementId, numRows: 2 }), 0);
    if (k.executeLastPrepared !== true) {
      const execute = executeOf(prep.statementId);
      c.write(k.pipelined === true ? Buffer.concat([execute, fetch()]) : execute);
    }
    const count = await next();
    assert.equal(count[0], prep.numColumns);
    const cols: ColumnDefinition41[] = [];
    for (let i = 0; i < prep.numColumns; i++) cols.push(parseColumnDefinition41(await next()));
    const eof = await next();
    assert.ok(isEofPacket(eof));
    assert.ok((eof.readUInt16LE(3) & 0x40) !== 0, 'a cursor was opened');

    const rows: BinaryValue[][] = [];
    let fetches = 0;
    for (;;) {
      if (k.pipelined !== true || fetches > 0) c.write(fetch());
      fetches++;
      let status = 0;
      for (;;) {
        const p = await next();
        if (isErrPacket(p)) throw new Error(parseErr(p).message);
        if (isEofPacket(p)) {
          status = p.readUInt16LE(3);
          break;
        }
        rows.push(parseBinaryRow(p, cols).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)));
      }
      if ((status & 0x80) !== 0 || fetches > 5) break; // LAST_ROW_SENT
    }
    assert.equal(fetches, 2);
    assert.deepEqual(rows, k.expected ?? CURSOR_ROWS);
    c.send(encodeComStmtClose({ statementId: prep.statementId }), 0);
    if (!deprecateEof && k.port === undefined) {
      sendQuery(c, 'SELECT phone FROM users WHERE id = 1');
      assert.deepEqual(textRows(await readResponse(c)), [['138****5678']]);
    }
  } finally {
    c.destroy();
  }
}

test('COM_STMT_FETCH cursor: binary rows fetched 2 at a time are masked', () => cursorFetchIsMasked({ deprecateEof: false }));

test('COM_STMT_FETCH cursor under DEPRECATE_EOF (definitions end with an OK, not an EOF): rows are masked', () =>
  cursorFetchIsMasked({ deprecateEof: true }));

test('COM_STMT_FETCH pipelined in the same write as the EXECUTE that opens the cursor: rows are masked', async () => {
  await cursorFetchIsMasked({ deprecateEof: false, pipelined: true });
  await cursorFetchIsMasked({ deprecateEof: true, pipelined: true });
});

test('COM_STMT_FETCH of a cursor opened by EXECUTE -1 behind its PREPARE: rows are masked', async () => {
  await cursorFetchIsMasked({ deprecateEof: false, executeLastPrepared: true });
  await cursorFetchIsMasked({ deprecateEof: true, executeLastPrepared: true });
});

test('COM_STMT_FETCH cursor with detector rules only (no statement guard): rows are masked', async () => {
  // no column rule: the client leg is not framed, so the FETCH is seen by the tracker alone
  const detectorsOnly = await startTestSluice(db.port, {
    config: { masking: { default: ['free_phone'], rules: RULES.filter((r) => r.name === 'free_phone'), grants_file: join(dir, 'grants-detectors.json') } },
  });
  try {
    const expected = CURSOR_ROWS.map((r) => [r[0], r[4]]) as BinaryValue[][];
    for (const deprecateEof of [false, true]) {
      await cursorFetchIsMasked({ deprecateEof, port: detectorsOnly.port, sql: 'SELECT id, notes FROM users ORDER BY id', expected });
    }
  } finally {
    await detectorsOnly.stop(1000);
  }
});

// ---- audit ---------------------------------------------------------------------------------------

test('audit query events list the masked columns; rejected statements carry the 1142', async () => {
  const c = await my(gw.port);
  const tag = `/* audit-${process.pid} */`;
  try {
    await c.query(`SELECT u.phone AS p, notes, name, id FROM users u WHERE id = 1 ${tag}`);
    await c.query(`SELECT label FROM other ${tag}`);
    await c.query(`SELECT CONCAT(phone, '') FROM users ${tag}`).catch(() => {});
  } finally {
    await c.end();
  }
  type Ev = { event: string; sql?: string; masked?: string[]; error?: { code: number } | null };
  let mine: Ev[] = [];
  await until(async () => {
    const text = await readFile(auditPath, 'utf8').catch(() => '');
    mine = auditEvents<Ev>(text).filter((e) => e.event === 'query' && e.sql?.includes(tag) === true);
    return mine.length >= 3;
  }, 'three audit query events');
  const [masked, plain, rejected] = mine;
  assert.deepEqual(masked!.masked, ['p', 'name']);
  assert.ok(plain!.masked === undefined || plain!.masked.length === 0, JSON.stringify(plain));
  assert.equal(rejected!.error?.code, 1142);
});

// ---- multi-statement and server-side PREPARE --------------------------------------------------------

test('multiple result sets in one COM_QUERY are each masked; a bypass in any statement rejects the whole', async () => {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: gw.port, user, password, database: 'crm', multipleStatements: true, dateStrings: true });
  try {
    const [sets] = await c.query<mysql.RowDataPacket[][]>('SELECT label FROM other; SELECT phone FROM users WHERE id = 1; SELECT notes, birthday FROM users WHERE id = 3');
    assert.deepEqual(sets.map((s) => s.map((r) => ({ ...r }))), [[{ label: 'one' }], [{ phone: '138****5678' }], [{ notes: 'tel:135****5678;', birthday: '1970-01-01' }]]);
    await assert.rejects(c.query("SELECT label FROM other; SELECT CONCAT(phone, '') FROM users"), isBypassErr('crm.users.phone'));
    const [again] = await c.query<mysql.RowDataPacket[]>('SELECT phone FROM users WHERE id = 2');
    assert.equal(again[0]!['phone'], '159****4321');
  } finally {
    await c.end();
  }
});

test('SQL-level PREPARE … FROM and EXECUTE IMMEDIATE cannot smuggle a bypass in a string', async () => {
  const c = await my(gw.port);
  try {
    await assert.rejects(c.query(`PREPARE s FROM 'SELECT CONCAT(phone, "") AS p FROM crm.users'`), isBypassErr('crm.users.phone'));
    await assert.rejects(c.query(`EXECUTE IMMEDIATE 'SELECT HEX(phone) AS p FROM crm.users'`), isBypassErr('crm.users.phone'));
    // a statement built at run time cannot be checked before it runs: refused while column rules apply
    await c.query(`SET @q = 'SELECT HEX(phone) FROM crm.users'`);
    await assert.rejects(c.query('PREPARE s FROM @q'), isBypassErr('crm.users.phone'));
    await assert.rejects(c.query('EXECUTE IMMEDIATE @q'), isBypassErr('crm.users.phone'));
    // a direct read through server-side PREPARE is masked by origin
    await c.query(`PREPARE s2 FROM 'SELECT phone FROM crm.users WHERE id = 1'`);
    const [rows] = await c.query<mysql.RowDataPacket[]>('EXECUTE s2');
    assert.equal(rows[0]!['phone'], '138****5678');
  } finally {
    await c.end();
  }
});
