// Audit through the whole gateway (issue 6): 100,000 statements from 20 concurrent mysql2 connections
// (text, prepared, multi-statements, errors) produce exactly one query event each, in per-connection
// order, with rows/affected/error right and literal variants grouped under one digest; and a Sluice
// process killed with SIGKILL mid-load leaves an audit file whose every line parses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort, startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';

let db: MariaDbServer;
const dir = mkdtempSync(join(tmpdir(), 'sluice-audit-'));

before(async () => {
  db = await startMariaDb();
  await db.sql('CREATE TABLE testdb.k (id INT PRIMARY KEY, v INT); USE testdb; INSERT INTO k SELECT seq, seq FROM seq_1_to_100;');
});
after(async () => {
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface QueryEv {
  event: 'query';
  conn: number;
  command: string;
  sql: string;
  digest: string;
  statement_index?: number;
  rows: number;
  affected: number;
  error: { code: number } | null;
  tables: Array<{ table: string; op: string }>;
}

test('100,000 statements from 20 connections: one event each, in order, with the right facts', async () => {
  const path = join(dir, 'load.jsonl');
  const sluice = await startTestSluice(db.port, { config: { audit: { sinks: [{ type: 'file', path }], when_full: 'block' } } });
  const CONNS = 20;
  const PER_CONN = 5000; // statements per connection (multi-statements count their parts)
  const expected = new Map<number, number>(); // client index → expected events
  try {
    await Promise.all(
      Array.from({ length: CONNS }, async (_, c) => {
        const conn = await mysql.createConnection({ host: '127.0.0.1', port: sluice.port, ...USERS.native, database: 'testdb', multipleStatements: true });
        let n = 0;
        let i = 0;
        while (n < PER_CONN) {
          i++;
          if (i % 70 === 0) {
            // a prepared statement that fails when executed: its events come from the statement's cached shape
            await assert.rejects(conn.execute('INSERT INTO k (id, v) VALUES (?, ?)', [1, 0]), { errno: 1062 });
            n++;
          } else if (i % 50 === 0) {
            await assert.rejects(conn.query(`SELECT * FROM no_such_table_${c}`), { errno: 1146 });
            n++;
          } else if (i % 25 === 0) {
            await conn.query(`SELECT ${i}; UPDATE k SET v = v WHERE id = ${(i % 100) + 1}`);
            n += 2;
          } else if (i % 10 === 0) {
            await conn.execute('SELECT v FROM k WHERE id = ?', [(i % 100) + 1]); // prepare once (cached), then execute
            n++;
          } else {
            const [rows] = await conn.query(`SELECT id FROM k WHERE id <= ${(i % 3) + 1} /* c${c} i${i} */`);
            assert.equal((rows as unknown[]).length, (i % 3) + 1);
            n++;
          }
        }
        expected.set(c, n + 2); // + the one COM_STMT_PREPARE of each cached statement
        await conn.end();
      }),
    );
  } finally {
    await sluice.stop(5000);
  }
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const events = lines.map((l) => JSON.parse(l) as { event: string; conn: number });
  const queries = events.filter((e): e is QueryEv => e.event === 'query');
  const byConn = new Map<number, QueryEv[]>();
  for (const q of queries) (byConn.get(q.conn) ?? byConn.set(q.conn, []).get(q.conn)!).push(q);
  assert.equal(byConn.size, CONNS);
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  assert.equal(queries.length, total, 'exactly one query event per statement');

  for (const [, qs] of byConn) {
    // per-connection order: the i in the text selects' comments only ever grows
    let last = 0;
    for (const q of qs) {
      const m = / i(\d+) \*\/$/.exec(q.sql);
      if (m === null) continue;
      const i = Number(m[1]);
      assert.ok(i > last, `order: ${i} after ${last}`);
      last = i;
      assert.equal(q.rows, (i % 3) + 1);
      assert.equal(q.digest, 'SELECT id FROM k WHERE id <= ?');
      assert.deepEqual(q.tables.map((t) => [t.table, t.op]), [['k', 'select']]);
    }
    const errors = qs.filter((q) => q.error !== null);
    const missingTable = errors.filter((q) => q.error!.code === 1146 && q.command === 'COM_QUERY');
    const duplicates = errors.filter((q) => q.error!.code === 1062 && q.command === 'COM_STMT_EXECUTE');
    assert.ok(missingTable.length > 0 && duplicates.length > 0 && missingTable.length + duplicates.length === errors.length);
    for (const q of duplicates) {
      assert.equal(q.sql, 'INSERT INTO k (id, v) VALUES (?, ?)');
      assert.equal(q.digest, 'INSERT INTO k(id, v) VALUES (...)'); // a VALUES list of placeholders collapses
      assert.deepEqual(q.tables.map((t) => [t.table, t.op]), [['k', 'insert']]);
    }
    const multi = qs.filter((q) => q.statement_index !== undefined);
    assert.equal(multi.filter((q) => q.statement_index === 0).length, multi.filter((q) => q.statement_index === 1).length);
    for (const q of multi.filter((q) => q.statement_index === 1)) {
      assert.match(q.sql, /^UPDATE k SET v = v WHERE id = \d+$/);
      assert.equal(q.digest, 'UPDATE k SET v = v WHERE id = ?');
      assert.equal(q.affected, 1); // mysql2 sets CLIENT_FOUND_ROWS: matched rows, though v = v changes nothing
      assert.deepEqual(q.tables.map((t) => [t.table, t.op]), [['k', 'update']]);
    }
    const executes = qs.filter((q) => q.command === 'COM_STMT_EXECUTE' && q.error === null);
    assert.ok(executes.length > 0);
    for (const q of executes) {
      assert.deepEqual(
        { sql: q.sql, digest: q.digest, rows: q.rows, index: q.statement_index, tables: q.tables.map((t) => [t.table, t.op]) },
        { sql: 'SELECT v FROM k WHERE id = ?', digest: 'SELECT v FROM k WHERE id = ?', rows: 1, index: undefined, tables: [['k', 'select']] },
      );
    }
  }
  const connects = events.filter((e) => e.event === 'connect').length;
  const disconnects = events.filter((e) => e.event === 'disconnect').length;
  assert.equal(connects, CONNS);
  assert.equal(disconnects, CONNS);
});

test('SIGKILL of Sluice mid-load leaves an audit file whose every line parses', async () => {
  const path = join(dir, 'killed.jsonl');
  const port = await freePort();
  const cfg = join(dir, 'kill.yaml');
  writeFileSync(
    cfg,
    [
      'listeners: [{ name: main, address: "127.0.0.1:' + port + '", tls: { mode: disabled } }]',
      'backends: [{ name: db1, address: "127.0.0.1:' + db.port + '", tls: { mode: disabled } }]',
      'routes: [{ name: default, backends: [db1] }]',
      'admin: { enabled: false }',
      'log: { level: warn }',
      `audit: { sinks: [{ type: file, path: "${path}", fsync: 10ms }] }`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    // wait for the listener
    const deadline = Date.now() + 20_000;
    let conns: mysql.Connection[] = [];
    while (conns.length === 0) {
      const tries = await Promise.allSettled(
        Array.from({ length: 5 }, () => mysql.createConnection({ host: '127.0.0.1', port, ...USERS.native, database: 'testdb' })),
      );
      const ok = tries.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
      if (ok.length === tries.length) conns = ok;
      else {
        // the listener came up mid-try: close the connections that made it, so none outlives the test
        for (const c of ok) c.destroy();
        const why = tries.find((t) => t.status === 'rejected')?.reason as unknown;
        if (Date.now() > deadline) throw new Error(`sluice did not start: ${stderr}`, { cause: why });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    let stop = false;
    const load = conns.map(async (c) => {
      while (!stop) await c.query("SELECT REPEAT('x', 200) AS pad, id FROM k WHERE id < 5").catch(() => (stop = true));
    });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    stop = true;
    await Promise.allSettled(load);
    await Promise.allSettled(conns.map((c) => c.destroy()));
  } finally {
    child.kill('SIGKILL');
  }
  const text = readFileSync(path, 'utf8');
  // lines are what ends in '\n': a kill can tear the last write at a page boundary, and the sink cuts that
  // tail when it opens the file again (audit-sinks.test.ts)
  const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '');
  assert.ok(lines.length > 10, `some events were written (${lines.length})`);
  for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `line parses: ${l.slice(0, 80)}`);
});
