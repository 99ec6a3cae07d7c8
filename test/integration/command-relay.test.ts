// Command phase through Sluice against a real mariadbd (issue 2, DESIGN §4): point selects in volume, a
// 64 MiB LONGBLOB, multi-statements, prepared statements of every column type compared with a direct
// connection, LOAD DATA LOCAL INFILE (allowed and refused), COM_CHANGE_USER, a client killed mid-result
// while 50 others keep working, and the per-statement hook reports. mysql2, the mariadb connector, the CLI.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Capability } from '../../src/protocol/constants.ts';
import { Framer } from '../../src/protocol/framer.ts';
import mysql from 'mysql2/promise';
import * as mariadb from 'mariadb';
import { startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice, type TestSluiceOptions } from '../harness/sluice.ts';
import { runMariaDbCli } from '../harness/cli.ts';
import type { SluiceHandle } from '../../src/main.ts';
import type { SessionFacts } from '../../src/session/hooks.ts';
import type { StatementResult } from '../../src/session/result-tracker.ts';

type Sluice = SluiceHandle & { port: number };
let db: MariaDbServer;
let sluice: Sluice;
let noInfile: Sluice;
let hooked: Sluice;
let dir: string;
const reports: Array<{ s: SessionFacts; r: StatementResult }> = [];

const NAT = USERS.native;
const ED = USERS.ed25519;
const host = '127.0.0.1';
const ROWS_INFILE = 100_000;

before(async () => {
  db = await startMariaDb();
  dir = mkdtempSync(join(tmpdir(), 'sluice-cmd-'));
  await db.sql(
    [
      'USE testdb;',
      // a second native account for mysql2's changeUser (mysql2 has no client_ed25519)
      `CREATE USER 'nat2'@'%' IDENTIFIED BY 'nat2pw'; CREATE USER 'nat2'@'localhost' IDENTIFIED BY 'nat2pw';`,
      `GRANT ALL ON *.* TO 'nat2'@'%', 'nat2'@'localhost';`,
      'CREATE TABLE testdb.pts (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB;',
      'INSERT INTO testdb.pts SELECT seq, CONCAT(\'v\', seq, \'-\', MD5(seq)) FROM seq_1_to_1000;',
      'CREATE TABLE testdb.li (id INT, name VARCHAR(40)) ENGINE=InnoDB;',
    ].join('\n'),
  );
  sluice = await startTestSluice(db.port);
  noInfile = await startTestSluice(db.port, { config: { limits: { allow_local_infile: false } } });
  hooked = await startTestSluice(db.port, { hooks: [{ wantsSql: true, onStatement: (s, r) => void reports.push({ s, r }) }] });
});
after(async () => {
  await sluice?.stop(1000);
  await noInfile?.stop(1000);
  await hooked?.stop(1000);
  await db?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const my = (port: number, extra: mysql.ConnectionOptions = {}) => mysql.createConnection({ host, port, user: NAT.user, password: NAT.password, database: 'testdb', ...extra });
const md = (port: number, extra: Partial<mariadb.ConnectionConfig> = {}) => mariadb.createConnection({ host, port, user: NAT.user, password: NAT.password, database: 'testdb', ...extra });
const expectedV = (id: number) => `v${id}-`;

/** The callback-API connection under a mysql2/promise one (row events, the raw socket); untyped there. */
interface RawMysql2 {
  query(sql: string): NodeJS.EventEmitter;
  stream: import('node:net').Socket;
}
const raw = (c: mysql.Connection): RawMysql2 => (c as unknown as { connection: RawMysql2 }).connection;

test('10,000 point selects on one connection, and 4 connections in parallel, with results checked', async () => {
  const c = await my(sluice.port);
  try {
    for (let i = 0; i < 10_000; i++) {
      const id = (i % 1000) + 1;
      const [rows] = await c.query('SELECT id, v FROM pts WHERE id = ?', [id]);
      const r = (rows as Array<{ id: number; v: string }>)[0]!;
      if (r.id !== id || !r.v.startsWith(expectedV(id))) assert.fail(`select ${i}: got ${JSON.stringify(r)} for id ${id}`);
    }
  } finally {
    await c.end();
  }
  const worker = async (k: number) => {
    const useMd = k % 2 === 0;
    const conn = useMd ? await md(sluice.port) : await my(sluice.port);
    try {
      for (let i = 0; i < 1000; i++) {
        const id = ((i * 7 + k * 131) % 1000) + 1;
        const rows = useMd
          ? ((await (conn as mariadb.Connection).query('SELECT id, v FROM pts WHERE id = ?', [id])) as Array<{ id: number; v: string }>)
          : ((await (conn as mysql.Connection).execute('SELECT id, v FROM pts WHERE id = ?', [id]))[0] as Array<{ id: number; v: string }>);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.id, id);
        assert.ok(rows[0]!.v.startsWith(expectedV(id)));
      }
    } finally {
      await conn.end();
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
});

test('a 64 MiB LONGBLOB of random bytes is written and read back byte-identical', async () => {
  // the value is 64 MiB, the INSERT / row packets a little more: the harness starts mariadbd with 1G
  const max = Number((await db.sql('SELECT @@global.max_allowed_packet')).trim());
  if (max < 128 * 1024 * 1024) await db.sql('SET GLOBAL max_allowed_packet = 1073741824');
  await db.sql('CREATE TABLE testdb.blobs (id INT PRIMARY KEY, b LONGBLOB) ENGINE=MyISAM');
  const blob = randomBytes(64 * 1024 * 1024);
  const c = await my(sluice.port);
  try {
    // binary protocol: the value travels in one COM_STMT_EXECUTE of 64 MiB (4 continuation packets)
    await c.execute('INSERT INTO blobs VALUES (1, ?)', [blob]);
    // text protocol: the row comes back as a 64 MiB packet
    const [rows] = await c.query('SELECT b, LENGTH(b) AS n FROM blobs WHERE id = 1');
    const row = (rows as Array<{ b: Buffer; n: number }>)[0]!;
    assert.equal(row.n, blob.length);
    assert.ok(row.b.equals(blob), 'text-protocol read differs');
    const [brows] = await c.execute('SELECT b FROM blobs WHERE id = ?', [1]);
    assert.ok((brows as Array<{ b: Buffer }>)[0]!.b.equals(blob), 'binary-protocol read differs');
    // the connection is still in step afterwards
    const [one] = await c.query('SELECT 1 AS x');
    assert.deepEqual(one, [{ x: 1 }]);
  } finally {
    await c.end();
  }
  const m = await md(sluice.port);
  try {
    const rows: Array<{ b: Buffer }> = await m.query('SELECT b FROM blobs WHERE id = 1');
    assert.ok(rows[0]!.b.equals(blob), 'mariadb connector read differs');
  } finally {
    await m.end();
  }
});

test('multi-statements: several result sets, and an error in the middle stops the rest', async () => {
  await db.sql('CREATE TABLE testdb.ms (a INT) ENGINE=InnoDB');
  const c = await my(sluice.port, { multipleStatements: true });
  try {
    const [res] = await c.query('SELECT 1 AS a; SELECT 2 AS b, 3 AS c; INSERT INTO ms VALUES (1),(2); SELECT a FROM ms ORDER BY a; DO 1');
    const r = res as unknown[];
    assert.equal(r.length, 5);
    assert.deepEqual(r[0], [{ a: 1 }]);
    assert.deepEqual(r[1], [{ b: 2, c: 3 }]);
    assert.equal((r[2] as { affectedRows: number }).affectedRows, 2);
    assert.deepEqual(r[3], [{ a: 1 }, { a: 2 }]);
    await assert.rejects(c.query('SELECT 10 AS a; SELECT * FROM nope; INSERT INTO ms VALUES (99)'), (e: { errno?: number }) => e.errno === 1146);
    const [after] = await c.query('SELECT COUNT(*) AS n FROM ms WHERE a = 99; SELECT 5 AS five');
    assert.deepEqual(after, [[{ n: 0 }], [{ five: 5 }]]);
  } finally {
    await c.end();
  }
  const m = await md(sluice.port, { multipleStatements: true });
  try {
    const rows = (await m.query('SELECT 1 AS a; SELECT 2 AS b; CALL mysql.nosuchproc()').catch((e: { errno: number }) => e)) as { errno: number };
    assert.equal(rows.errno, 1305);
    const ok: unknown[] = await m.query('SELECT 1 AS a; SELECT 2 AS b');
    assert.deepEqual(ok.map((x) => Array.from(x as unknown[])), [[{ a: 1 }], [{ b: 2 }]]);
  } finally {
    await m.end();
  }
  const cli = await runMariaDbCli(['-h', host, '-P', String(sluice.port), '-u', NAT.user, `-p${NAT.password}`, '-N', '-B', 'testdb', '-e', 'SELECT 1; SELECT 2, 3; SELECT a FROM ms ORDER BY a']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, '1\n2\t3\n1\n2\n');
});

const TYPES: Array<[string, string, string]> = [
  // column, type, value of row 1 (row 2 is all NULL, row 3 other edge values)
  ['ti', 'TINYINT', '-128'],
  ['tiu', 'TINYINT UNSIGNED', '255'],
  ['si', 'SMALLINT', '-32768'],
  ['siu', 'SMALLINT UNSIGNED', '65535'],
  ['mi', 'MEDIUMINT', '-8388608'],
  ['miu', 'MEDIUMINT UNSIGNED', '16777215'],
  ['i', 'INT', '-2147483648'],
  ['iu', 'INT UNSIGNED', '4294967295'],
  ['bi', 'BIGINT', '-9223372036854775808'],
  ['biu', 'BIGINT UNSIGNED', '18446744073709551615'],
  ['de', 'DECIMAL(38,10)', "'-1234567890123456789012345678.0123456789'"],
  ['f', 'FLOAT', '-1.5e-10'],
  ['d', 'DOUBLE', '2.2250738585072014e-308'],
  ['b', 'BIT(13)', "b'1010101010101'"],
  ['dt', 'DATE', "'2024-02-29'"],
  ['dtm', 'DATETIME(6)', "'2024-02-29 23:59:59.123456'"],
  ['ts', 'TIMESTAMP(6) NULL', "'2038-01-19 03:14:07.999999'"],
  ['tm', 'TIME(6)', "'-838:59:58.999999'"],
  ['tm2', 'TIME(6)', "'-00:00:01.500000'"],
  ['y', 'YEAR', '2155'],
  ['ch', 'CHAR(10)', "'abc'"],
  ['vc', 'VARCHAR(100) CHARACTER SET utf8mb4', "'héllo 🦊 wörld 𝄞'"],
  ['bn', 'BINARY(4)', '0x00ff10fe'],
  ['bl', 'BLOB', '0x00fefb0aff'],
  ['tx', 'TEXT CHARACTER SET utf8mb4', "'line1\\nline2 ✓'"],
  ['en', "ENUM('a','b','c')", "'b'"],
  ['st', "SET('x','y','z')", "'x,z'"],
  ['js', 'JSON', '\'{"a":[1,2,{"b":null}],"c":"ü"}\''],
  ['g', 'GEOMETRY', "ST_GeomFromText('POINT(1 2)')"],
  ['ip', 'INET6', "'2001:db8::ff00:42:8329'"],
  ['u', 'UUID', "'123e4567-e89b-12d3-a456-426655440000'"],
];
const ROW3: Record<string, string> = { ti: '0', biu: '0', de: '0', f: '0', b: "b'0'", tm: "'00:00:00'", tm2: "'838:59:59'", y: '1901', vc: "''", bl: "''", js: "'[]'", ip: "'::'" };

test('prepared statements return every column type exactly as over a direct connection (mysql2 and mariadb execute)', async () => {
  await db.sql(
    [
      'SET NAMES utf8mb4;',
      `CREATE TABLE testdb.types (id INT PRIMARY KEY, ${TYPES.map(([n, t]) => `${n} ${t}`).join(', ')}) ENGINE=InnoDB;`,
      `INSERT INTO testdb.types (id, ${TYPES.map(([n]) => n).join(', ')}) VALUES (1, ${TYPES.map(([, , v]) => v).join(', ')});`,
      'INSERT INTO testdb.types (id) VALUES (2);',
      `INSERT INTO testdb.types (id, ${Object.keys(ROW3).join(', ')}) VALUES (3, ${Object.values(ROW3).join(', ')});`,
    ].join('\n'),
  );
  const opts = { supportBigNumbers: true, bigNumberStrings: true, dateStrings: false } as const;
  const [viaMy, directMy, viaMd, directMd] = await Promise.all([my(sluice.port, opts), my(db.port, opts), md(sluice.port), md(db.port)]);
  try {
    const cols = [...TYPES.map(([n]) => n), '*'];
    for (const col of cols) {
      const sql = `SELECT ${col} FROM types WHERE id > ? ORDER BY id`;
      const [a] = await viaMy.execute(sql, [0]);
      const [b] = await directMy.execute(sql, [0]);
      assert.deepEqual(a, b, `mysql2 execute ${col}`);
      assert.equal((a as unknown[]).length, 3);
      const [ta] = await viaMy.query(sql, [0]);
      const [tb] = await directMy.query(sql, [0]);
      assert.deepEqual(ta, tb, `mysql2 query ${col}`);
      const ma: unknown[] = await viaMd.execute(sql, [0]);
      const mb: unknown[] = await directMd.execute(sql, [0]);
      assert.deepEqual(Array.from(ma), Array.from(mb), `mariadb execute ${col}`);
    }
    // the values really are the interesting ones, not two equal errors
    const [[r1]] = (await viaMy.execute('SELECT biu, vc, tm, u FROM types WHERE id = ?', [1])) as unknown as [[Record<string, unknown>]];
    assert.equal(r1.biu, '18446744073709551615');
    assert.equal(r1.vc, 'héllo 🦊 wörld 𝄞');
    assert.equal(r1.tm, '-838:59:58.999999');
    assert.equal(r1.u, '123e4567-e89b-12d3-a456-426655440000');
  } finally {
    await Promise.all([viaMy.end(), directMy.end(), viaMd.end(), directMd.end()]);
  }
});

function infileData(): string {
  const lines: string[] = [];
  for (let i = 1; i <= ROWS_INFILE; i++) lines.push(`${i}\tname-${i}`);
  return lines.join('\n') + '\n';
}

async function countLi(): Promise<number> {
  return Number((await db.sql('SELECT COUNT(*) FROM testdb.li')).trim());
}

test('LOAD DATA LOCAL INFILE of 100,000 rows: mysql2, the mariadb connector and the CLI', async () => {
  const data = infileData();
  const file = join(dir, 'rows.tsv');
  writeFileSync(file, data);

  const c = await my(sluice.port, { flags: ['+LOCAL_FILES'] });
  try {
    const [res] = await c.query({ sql: `LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE li`, infileStreamFactory: () => Readable.from([Buffer.from(data)]) });
    assert.equal((res as { affectedRows: number }).affectedRows, ROWS_INFILE);
    const [[n]] = (await c.query('SELECT COUNT(*) AS n, SUM(id) AS s FROM li')) as unknown as [[{ n: number; s: string }]];
    assert.equal(n.n, ROWS_INFILE);
    assert.equal(Number(n.s), (ROWS_INFILE * (ROWS_INFILE + 1)) / 2);
  } finally {
    await c.end();
  }
  await db.sql('TRUNCATE testdb.li');

  const m = await md(sluice.port, { permitLocalInfile: true });
  try {
    const res = (await m.query(`LOAD DATA LOCAL INFILE '${file}' INTO TABLE li`)) as { affectedRows: number };
    assert.equal(res.affectedRows, ROWS_INFILE);
  } finally {
    await m.end();
  }
  assert.equal(await countLi(), ROWS_INFILE);
  await db.sql('TRUNCATE testdb.li');

  const cli = await runMariaDbCli(['--local-infile=1', '-h', host, '-P', String(sluice.port), '-u', NAT.user, `-p${NAT.password}`, 'testdb', '-e', `LOAD DATA LOCAL INFILE '${file}' INTO TABLE li; SELECT COUNT(*) FROM li`, '-N', '-B']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout.trim(), String(ROWS_INFILE));
  await db.sql('TRUNCATE testdb.li');
});

test('limits.allow_local_infile: false refuses LOAD DATA LOCAL with a clear error and loads nothing', async () => {
  const data = infileData();
  const file = join(dir, 'refused.tsv');
  writeFileSync(file, data);
  let streamed = false;
  const c = await my(noInfile.port, { flags: ['+LOCAL_FILES'] });
  try {
    await assert.rejects(
      c.query({
        sql: `LOAD DATA LOCAL INFILE 'refused.tsv' INTO TABLE li`,
        infileStreamFactory: () => {
          streamed = true;
          return Readable.from([Buffer.from(data)]);
        },
      }),
      (e: { errno?: number; message: string }) => {
        assert.equal(e.errno, 4166, e.message);
        assert.match(e.message, /local infile/i);
        return true;
      },
    );
    assert.equal(streamed, false, 'the client was never asked for the file');
    const [one] = await c.query('SELECT 1 AS x');
    assert.deepEqual(one, [{ x: 1 }]);
  } finally {
    await c.end();
  }
  const m = await md(noInfile.port, { permitLocalInfile: true });
  try {
    await assert.rejects(m.query(`LOAD DATA LOCAL INFILE '${file}' INTO TABLE li`), (e: { errno?: number }) => e.errno === 4166);
  } finally {
    await m.end();
  }
  const cli = await runMariaDbCli(['--local-infile=1', '-h', host, '-P', String(noInfile.port), '-u', NAT.user, `-p${NAT.password}`, 'testdb', '-e', `LOAD DATA LOCAL INFILE '${file}' INTO TABLE li`]);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /ERROR 4166|local infile/i);
  assert.equal(await countLi(), 0);
});

/**
 * A hostile path to the server: sets CLIENT_LOCAL_FILES in the gateway's HandshakeResponse41 (the first
 * packet upstream on a plain leg), so the real server asks for files although the gateway cleared the
 * capability. `infileRequests` counts the server's requests for secret.tsv seen on the way back.
 */
interface Flipper {
  port: number;
  infileRequests: () => number;
  stop: () => Promise<void>;
}

async function startCapabilityFlipper(target: number): Promise<Flipper> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer((up) => {
    const down = connect(target, host);
    for (const s of [up, down]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    let first = true;
    up.on('data', (chunk: Buffer) => {
      if (first && chunk.length > 4) chunk[4]! |= Capability.LOCAL_FILES;
      first = false;
      down.write(chunk);
    });
    // the server's packets, framed: a LOCAL INFILE request is 0xFB + the file name, anywhere in a chunk
    const framer = new Framer({ maxPacket: 2 ** 30 });
    down.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      for (let f = framer.next(); f !== null; f = framer.next()) {
        const p = f.payload();
        if (p[0] === 0xfb && p.includes('secret.tsv')) requests++;
      }
      up.write(chunk);
    });
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    infileRequests: () => requests,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A gateway with `allow_local_infile: false` behind the flipper; both stop when the test ends. */
async function startGuardedSluice(t: TestContext, opts: TestSluiceOptions): Promise<{ guarded: Sluice; flipper: Flipper }> {
  const flipper = await startCapabilityFlipper(db.port);
  let guarded: Sluice | undefined = undefined;
  t.after(async () => {
    await guarded?.stop(1000);
    await flipper.stop();
  });
  guarded = await startTestSluice(flipper.port, { ...opts, config: { ...opts.config, limits: { allow_local_infile: false } } });
  return { guarded, flipper };
}

test('limits.allow_local_infile: false also refuses a server that asks for a file anyway: ERR 4166, no file read, connection usable', async (t) => {
  const refused: StatementResult[] = [];
  const { guarded, flipper } = await startGuardedSluice(t, { hooks: [{ wantsSql: true, onStatement: (_s, r) => void refused.push(r) }] });
  const file = join(dir, 'secret.tsv');
  writeFileSync(file, '1\tsecret\n');
  let streamed = 0;
  const c = await my(guarded.port, { flags: ['+LOCAL_FILES'], multipleStatements: true });
  try {
    const load = (sql: string) =>
      assert.rejects(
        c.query({ sql, infileStreamFactory: () => (streamed++, Readable.from([Buffer.from('1\tsecret\n')])) }),
        (e: { errno?: number; message: string }) => {
          assert.equal(e.errno, 4166, e.message);
          assert.match(e.message, /sluice: limits\.allow_local_infile is false/);
          return true;
        },
      );
    await load(`LOAD DATA LOCAL INFILE 'secret.tsv' INTO TABLE li`);
    assert.equal(flipper.infileRequests(), 1, 'the server did ask for the file');
    // the rest of a multi-statement is not relayed after the refusal: the client saw its response end
    await load(`LOAD DATA LOCAL INFILE 'secret.tsv' INTO TABLE li; SELECT 2 AS y`);
    assert.equal(flipper.infileRequests(), 2);
    const [after] = await c.query('SELECT 3 AS z');
    assert.deepEqual(after, [{ z: 3 }]);
  } finally {
    await c.end();
  }
  assert.equal(streamed, 0, 'the client was never asked for a file');
  // the hook (and so the audit) records the refusal for the LOAD, and the SELECT the server still ran
  const loads = refused.filter((r) => r.command.sql?.startsWith('LOAD') === true && r.index === 0);
  assert.equal(loads.length, 2);
  for (const r of loads) assert.equal(r.error?.code, 4166);
  assert.equal(refused.filter((r) => r.index === 1 && r.error === null).length, 1);
  const cli = await runMariaDbCli(['--local-infile=1', '-h', host, '-P', String(guarded.port), '-u', NAT.user, `-p${NAT.password}`, 'testdb', '-e', `LOAD DATA LOCAL INFILE '${file}' INTO TABLE li`]);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /ERROR 4166/);
  assert.equal(flipper.infileRequests(), 3);
  assert.equal(await countLi(), 0, 'nothing was loaded');
});

test('allow_local_infile: false with masking: a request right behind a masked result set is refused in packet mode', async (t) => {
  const { guarded, flipper } = await startGuardedSluice(t, {
    config: {
      masking: {
        default: ['v'],
        rules: [{ name: 'v', columns: ['testdb.pts.v'], mask: { type: 'full', char: '*' } }],
        grants_file: join(dir, 'infile-grants.json'),
      },
    },
  });
  let streamed = 0;
  const c = await my(guarded.port, { flags: ['+LOCAL_FILES'], multipleStatements: true });
  try {
    // the masked SELECT puts the backend leg in packet mode; the server's file request comes right after
    await assert.rejects(
      c.query({
        sql: `SELECT v FROM pts WHERE id = 1; LOAD DATA LOCAL INFILE 'secret.tsv' INTO TABLE li; SELECT v FROM pts WHERE id = 2`,
        infileStreamFactory: () => (streamed++, Readable.from([Buffer.from('1\tsecret\n')])),
      }),
      (e: { errno?: number; message: string }) => e.errno === 4166 && /allow_local_infile/.test(e.message),
    );
    assert.equal(flipper.infileRequests(), 1, 'the server did ask for the file');
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT v FROM pts WHERE id = 3');
    assert.match(String(rows[0]?.['v']), /^\*+$/, 'the connection still works, masking too');
  } finally {
    await c.end();
  }
  assert.equal(streamed, 0, 'the client was never asked for a file');
  assert.equal(await countLi(), 0, 'nothing was loaded');
});

async function currentUser(q: (sql: string) => Promise<unknown>): Promise<string> {
  const rows = (await q('SELECT CURRENT_USER() AS u')) as Array<{ u: string }>;
  return rows[0]!.u;
}

test('COM_CHANGE_USER: mysql2 nat → nat2 → nat, mariadb connector nat → ed → nat, CURRENT_USER() each time', async () => {
  const c = await my(sluice.port);
  const q2 = async (sql: string) => (await c.query(sql))[0];
  try {
    assert.match(await currentUser(q2), /^nat@/);
    await c.changeUser({ user: 'nat2', password: 'nat2pw', database: 'testdb' });
    assert.match(await currentUser(q2), /^nat2@/);
    await c.changeUser({ user: NAT.user, password: NAT.password, database: 'testdb' });
    assert.match(await currentUser(q2), /^nat@/);
  } finally {
    await c.end();
  }
  const m = await md(sluice.port);
  const qm = (sql: string) => m.query(sql) as Promise<unknown>;
  try {
    assert.match(await currentUser(qm), /^nat@/);
    await m.changeUser({ user: ED.user, password: ED.password, database: 'testdb' });
    assert.match(await currentUser(qm), /^ed@/);
    await m.changeUser({ user: NAT.user, password: NAT.password, database: 'testdb' });
    assert.match(await currentUser(qm), /^nat@/);
  } finally {
    await m.end();
  }
});

// MariaDB (unlike MySQL, which disconnects) keeps the connection after a failed COM_CHANGE_USER, logged in
// as the previous user; libmariadb-style clients (the mariadb connector) close it themselves. Through
// Sluice each client must see exactly what it sees on a direct connection, and never the new identity.
test('COM_CHANGE_USER with a wrong password: the backend 1045, then the same state as a direct connection', async () => {
  const outcome = async (port: number, kind: 'mysql2' | 'mariadb'): Promise<string> => {
    if (kind === 'mysql2') {
      const c = await my(port);
      try {
        await assert.rejects(c.changeUser({ user: 'nat2', password: 'wrong' }), (e: { errno?: number; message: string }) => {
          assert.equal(e.errno, 1045, e.message);
          assert.match(e.message, /Access denied for user 'nat2'@/);
          return true;
        });
        return await c.query('/*cu-after*/ SELECT CURRENT_USER() AS u').then(
          ([r]) => `user ${(r as Array<{ u: string }>)[0]!.u}`,
          (e: Error) => `unusable: ${e.message}`,
        );
      } finally {
        c.destroy();
      }
    }
    const m = await md(port);
    try {
      await assert.rejects(m.changeUser({ user: ED.user, password: 'wrong' }), (e: { errno?: number }) => e.errno === 1045);
      return await m.query('SELECT CURRENT_USER() AS u').then(
        (r: Array<{ u: string }>) => `user ${r[0]!.u}`,
        (e: { code?: string }) => `unusable: ${e.code}`,
      );
    } finally {
      m.destroy();
    }
  };
  // (mariadbd answers a failed COM_CHANGE_USER after ~1 s: run the cases side by side)
  await Promise.all(
    (['mysql2', 'mariadb'] as const).map(async (kind) => {
      const [direct, via] = await Promise.all([outcome(db.port, kind), outcome(sluice.port, kind)]);
      assert.equal(via, direct, kind);
      assert.match(direct, kind === 'mysql2' ? /^user nat@/ : /^unusable: ER_CMD_CONNECTION_CLOSED/);
    }),
  );
  // Sluice keeps the old identity for its hooks too
  reports.length = 0;
  assert.equal(await outcome(hooked.port, 'mysql2'), 'user nat@localhost');
  const after = reports.find((x) => x.r.command.sql?.includes('/*cu-after*/') === true);
  assert.equal(after?.s.user, NAT.user);
  // and Sluice itself is fine
  const c = await my(sluice.port);
  assert.deepEqual((await c.query('SELECT 1 AS x'))[0], [{ x: 1 }]);
  await c.end();
});

test('a client killed mid-result while 50 other connections keep running queries; Sluice accepts new connections after', async () => {
  const others = await Promise.all(Array.from({ length: 50 }, () => my(sluice.port)));
  const victim = await my(sluice.port);
  const killed = new Promise<number>((resolve, reject) => {
    let rows = 0;
    const q = raw(victim).query("SELECT seq, REPEAT('x', 100) AS pad FROM seq_1_to_200000");
    q.on('result', () => {
      rows++;
      if (rows === 5000) {
        raw(victim).stream.destroy(); // the socket goes away mid-result, no COM_QUIT
        resolve(rows);
      }
    });
    q.on('error', () => {});
    q.on('end', () => reject(new Error(`the result ended before the kill (${rows} rows)`)));
  });
  let failures = 0;
  let done = 0;
  const work = others.map(async (c, k) => {
    for (let i = 0; i < 20; i++) {
      const id = ((k * 20 + i) % 1000) + 1;
      try {
        const [rows] = await c.query('SELECT v FROM pts WHERE id = ?', [id]);
        if (!(rows as Array<{ v: string }>)[0]!.v.startsWith(expectedV(id))) failures++;
        else done++;
      } catch {
        failures++;
      }
    }
  });
  assert.equal(await killed, 5000);
  await Promise.all(work);
  assert.equal(failures, 0);
  assert.equal(done, 50 * 20);
  await Promise.all(others.map((c) => c.end()));
  // the backend leg of the killed client is closed too (its query does not keep running)
  const deadline = Date.now() + 10_000;
  let running = '';
  while (Date.now() < deadline) {
    running = (await db.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%seq_1_to_200000%' AND INFO NOT LIKE '%PROCESSLIST%'")).trim();
    if (running === '0') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(running, '0', 'the killed client’s query still runs on the backend');
  const fresh = await md(sluice.port);
  assert.deepEqual(Array.from((await fresh.query('SELECT 1 AS x')) as unknown[]), [{ x: 1 }]);
  await fresh.end();
});

// A COM_STMT_SEND_LONG_DATA of 16 MiB and more, written the way libmariadb writes it (one write per physical
// packet), whose continuation packet happens to begin with byte 0x11 and to parse as a COM_CHANGE_USER: the
// continuation is data, and must reach the server byte for byte (no response to SEND_LONG_DATA, so nothing
// is in flight when it arrives).
test('a ≥ 16 MiB COM_STMT_SEND_LONG_DATA whose continuation looks like COM_CHANGE_USER is relayed unchanged', async () => {
  await db.sql('CREATE TABLE testdb.ld (b LONGBLOB) ENGINE=MyISAM');
  const c = await my(sluice.port);
  try {
    const stmt = await c.prepare('INSERT INTO ld VALUES (?)');
    const id = (stmt as unknown as { statement: { id: number } }).statement.id;
    const head = Buffer.alloc(7);
    head.writeUInt8(0x18, 0); // COM_STMT_SEND_LONG_DATA, stmt id, param 0
    head.writeUInt32LE(id, 1);
    head.writeUInt16LE(0, 5);
    const first = Buffer.concat([head, randomBytes(0xffffff - head.length)]);
    const cont = Buffer.concat([Buffer.from([0x11]), Buffer.from('nat\0\0testdb\0'), Buffer.from([0x2d, 0x00]), Buffer.from('mysql_native_password\0')]);
    const sock = raw(c).stream;
    const write = (b: Buffer) => new Promise<void>((resolve, reject) => sock.write(b, (e?: Error | null) => (e ? reject(e) : resolve())));
    const hdr = (len: number, seq: number) => Buffer.from([len & 0xff, (len >> 8) & 0xff, len >> 16, seq]);
    await write(Buffer.concat([hdr(first.length, 0), first]));
    await new Promise((r) => setTimeout(r, 300)); // let Sluice read up to the packet boundary
    await write(Buffer.concat([hdr(cont.length, 1), cont]));
    await stmt.execute(['']);
    const [[row]] = (await c.query('SELECT LENGTH(b) AS n, MD5(b) AS h FROM ld')) as unknown as [[{ n: number; h: string }]];
    const all = Buffer.concat([first.subarray(head.length), cont]);
    assert.equal(row.n, all.length);
    assert.equal(row.h, createHash('md5').update(all).digest('hex'));
    await stmt.close();
  } finally {
    await c.end();
  }
});

test('hook reports: rows, affectedRows, error code and index per statement', async () => {
  await db.sql('CREATE TABLE testdb.hk (id INT PRIMARY KEY, v INT) ENGINE=InnoDB');
  const c = await my(hooked.port, { multipleStatements: true });
  const mine = (marker: string) => reports.filter((x) => x.r.command.sql?.includes(marker) === true).map((x) => x.r);
  try {
    await assert.rejects(
      c.query('/*m1*/ INSERT INTO hk VALUES (1,1),(2,2),(3,3); UPDATE hk SET v = v + 1 WHERE id > 1; SELECT * FROM hk; SELECT * FROM nope; SELECT 1'),
      (e: { errno?: number }) => e.errno === 1146,
    );
    await c.query('/*m2*/ INSERT INTO hk VALUES (4,4)');
    await c.query('/*m3*/ UPDATE hk SET v = 0 WHERE id <= 2');
    await c.query('/*m4*/ SELECT * FROM hk ORDER BY id');
    await c.execute('/*m5*/ SELECT * FROM hk WHERE id > ?', [1]);
  } finally {
    await c.end();
  }
  const m1 = mine('/*m1*/');
  assert.deepEqual(
    m1.map((r) => [r.command.name, r.index, r.rows, r.affectedRows, r.error?.code ?? null]),
    [
      ['COM_QUERY', 0, 0, 3, null],
      ['COM_QUERY', 1, 0, 2, null],
      ['COM_QUERY', 2, 3, 0, null],
      ['COM_QUERY', 3, 0, 0, 1146],
    ],
  );
  assert.equal(m1[3]!.error?.sqlState, '42S02');
  assert.ok(m1.every((r) => r.bytesOut > 0 && r.durationNs >= 0));
  assert.deepEqual(
    mine('/*m2*/').map((r) => [r.index, r.rows, r.affectedRows, r.error]),
    [[0, 0, 1, null]],
  );
  assert.deepEqual(
    mine('/*m3*/').map((r) => [r.index, r.rows, r.affectedRows, r.error]),
    [[0, 0, 2, null]],
  );
  assert.deepEqual(
    mine('/*m4*/').map((r) => [r.index, r.rows, r.affectedRows, r.error]),
    [[0, 4, 0, null]],
  );
  // the PREPARE, then the EXECUTE carrying the prepared SQL with its binary rows
  assert.deepEqual(
    mine('/*m5*/').map((r) => [r.command.name, r.rows, r.error]),
    [
      ['COM_STMT_PREPARE', 0, null],
      ['COM_STMT_EXECUTE', 3, null],
    ],
  );
});

test('MARIADB_CLIENT_CACHE_METADATA: executes after the first come without column definitions, rows right, masked with masking', async () => {
  const m = await md(hooked.port);
  const info = m.info as unknown as { serverPermitSkipMeta?: boolean };
  assert.equal(info.serverPermitSkipMeta, true, 'offered in the greeting (no masking configured)');
  try {
    for (let round = 0; round < 5; round++) {
      const rows = (await m.execute('/*cm*/ SELECT id, v FROM pts WHERE id BETWEEN ? AND ?', [round * 10 + 1, round * 10 + 3])) as Array<{ id: number; v: string }>;
      assert.deepEqual(
        rows.map((r) => r.id),
        [round * 10 + 1, round * 10 + 2, round * 10 + 3],
      );
      for (const r of rows) assert.ok(r.v.startsWith(expectedV(r.id)), `${r.id}: ${r.v}`);
    }
  } finally {
    await m.end();
  }
  // the tracker followed the short result sets: three rows per execute, and the next command started clean;
  // the first execute, pipelined behind its PREPARE with the id -1, has the prepared SQL too
  const executes = reports.filter((x) => x.r.command.name === 'COM_STMT_EXECUTE' && x.r.command.sql?.includes('/*cm*/') === true);
  assert.deepEqual(
    executes.map((x) => x.r.rows),
    [3, 3, 3, 3, 3],
  );
  // with masking configured the capability is offered too: masking keeps each statement's definitions
  // (test/integration/masking-cached-metadata.test.ts proves the server skips them)
  const masked = await startTestSluice(db.port, {
    config: { masking: { default: ['v'], rules: [{ name: 'v', columns: ['testdb.pts.v'], mask: { type: 'full', char: '*' } }], grants_file: join(dir, 'cm-grants.json') } },
  });
  try {
    const mm = await md(masked.port);
    try {
      assert.equal((mm.info as unknown as { serverPermitSkipMeta?: boolean }).serverPermitSkipMeta, true);
      for (let i = 0; i < 3; i++) {
        const rows = (await mm.execute('SELECT id, v FROM pts WHERE id = ?', [i + 1])) as Array<{ id: number; v: string }>;
        assert.match(rows[0]!.v, /^\*+$/, 'masked on every execute');
      }
    } finally {
      await mm.end();
    }
  } finally {
    await masked.stop(1000);
  }
});
