// Password-less auth relay against a real mariadbd: native and ed25519 accounts, wrong passwords, both the
// reused-scramble path (route known before the greeting) and the forced AuthSwitchRequest path, through
// mysql2, the mariadb npm connector and the mariadb CLI. Sluice never sees a password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import * as mariadb from 'mariadb';
import { startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';
import { runMariaDbCli } from '../harness/cli.ts';
import type { SluiceHandle } from '../../src/main.ts';

let db: MariaDbServer;
let reuse: SluiceHandle & { port: number };
let forced: SluiceHandle & { port: number };

before(async () => {
  db = await startMariaDb();
  reuse = await startTestSluice(db.port);
  forced = await startTestSluice(db.port, { forceAuthSwitch: true });
});
after(async () => {
  await reuse?.stop(1000);
  await forced?.stop(1000);
  await db?.stop();
});

for (const mode of ['reuse', 'forced'] as const) {
  const port = () => (mode === 'reuse' ? reuse.port : forced.port);

  for (const kind of ['native', 'ed25519'] as const) {
    const { user, password } = USERS[kind];

    // mysql2 has no client_ed25519 plugin; ed25519 is covered by the mariadb connector and the CLI
    if (kind === 'native') {
      test(`${mode}: mysql2 logs in as ${kind} user and the backend sees that user`, async () => {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: port(), user, password, database: 'testdb' });
        try {
          const [rows] = await c.query('SELECT CURRENT_USER() AS u, DATABASE() AS d');
          const row = (rows as Array<{ u: string; d: string }>)[0]!;
          assert.match(row.u, new RegExp(`^${user}@`));
          assert.equal(row.d, 'testdb');
        } finally {
          await c.end();
        }
      });
    }

    test(`${mode}: mariadb connector logs in as ${kind} user`, async () => {
      const c = await mariadb.createConnection({ host: '127.0.0.1', port: port(), user, password, database: 'testdb' });
      try {
        const rows: Array<{ u: string }> = await c.query('SELECT CURRENT_USER() AS u');
        assert.match(rows[0]!.u, new RegExp(`^${user}@`));
      } finally {
        await c.end();
      }
    });

    test(`${mode}: mariadb CLI logs in as ${kind} user`, async () => {
      const r = await runMariaDbCli(['-h', '127.0.0.1', '-P', String(port()), '-u', user, `-p${password}`, '-N', '-B', '-e', 'SELECT CURRENT_USER()']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout.trim(), new RegExp(`^${user}@`));
    });

    test(`${mode}: wrong password for ${kind} gets the backend's own 1045`, async () => {
      await assert.rejects(
        mariadb.createConnection({ host: '127.0.0.1', port: port(), user, password: 'wrong' }),
        (e: { errno?: number; sqlState?: string; message: string }) => {
          assert.equal(e.errno, 1045);
          assert.equal(e.sqlState, '28000');
          assert.match(e.message, new RegExp(`Access denied for user '${user}'@`));
          assert.doesNotMatch(e.message, /sluice/);
          return true;
        },
      );
    });
  }
}

test('the mariadb CLI reports the backend 1045 for a wrong password', async () => {
  const r = await runMariaDbCli(['-h', '127.0.0.1', '-P', String(forced.port), '-u', 'nat', '-pnope', '-e', 'SELECT 1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ERROR 1045 \(28000\)/);
});
