// Masking with MARIADB_CLIENT_CACHE_METADATA negotiated: a prepared statement's EXECUTEs come without column
// definitions (the server sent them with the PREPARE), and every row is still masked. Two real clients that
// negotiate it: the mariadb connector (with DEPRECATE_EOF) and Perl DBD::MariaDB on libmariadb (without, so
// the EOF after the skipped definitions still comes: PROTOCOL-NOTES A3.6). A byte tap between Sluice and
// mariadbd proves the definitions were skipped: a column name of the table crosses that leg once per PREPARE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mariadb from 'mariadb';
import { startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';
import { startTap, type Tap } from '../harness/tap.ts';
import type { SluiceHandle } from '../../src/main.ts';
import { FIXTURE_SQL, MASKED, RULES, RULE_NAMES, type Row } from './fixtures/masking.ts';

const { user, password } = USERS.native;
const ALL_COLS = 'id, name, phone, id_card, email, card, notes, phone_num, birthday';
const EXECUTES = 5;

let db: MariaDbServer;
let tap: Tap;
let gw: SluiceHandle & { port: number };
let dir: string;

before(async () => {
  db = await startMariaDb();
  await db.sql(FIXTURE_SQL);
  tap = await startTap(db.port);
  dir = await mkdtemp(join(tmpdir(), 'sluice-masking-cm-'));
  gw = await startTestSluice(tap.port, {
    config: { masking: { default: RULE_NAMES, rules: RULES, exempt_users: [], on_bypass: 'reject', grants_file: join(dir, 'grants.json') } },
  });
});
after(async () => {
  await gw?.stop(1000);
  await tap?.close();
  await db?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const norm = (r: unknown[]): Row => r.map((v, i) => (i === 0 ? Number(v) : v === null ? null : String(v))) as Row;

/** How often `phone_num` (a column definition's name) crossed from mariadbd to Sluice on connections opened since `from`. */
function definitionsSent(from: number): number {
  const down = Buffer.concat(tap.connections.slice(from).flatMap((c) => c.down)).toString('latin1');
  return down.split('phone_num').length - 1;
}

test('mariadb connector (DEPRECATE_EOF): repeated EXECUTEs without definitions are masked every time', async () => {
  const from = tap.connections.length;
  const c = await mariadb.createConnection({ host: '127.0.0.1', port: gw.port, user, password, database: 'crm', dateStrings: true, bigIntAsNumber: false });
  try {
    for (let i = 0; i < EXECUTES; i++) {
      const rows: unknown[][] = await c.execute({ sql: `SELECT ${ALL_COLS} FROM users WHERE id > ? ORDER BY id`, rowsAsArray: true }, [0]);
      assert.deepEqual(rows.map(norm), MASKED, `execute ${i + 1}`);
    }
  } finally {
    await c.end();
  }
  // each definition names the column twice (name and org_name); the PREPARE response carries them once
  assert.equal(definitionsSent(from), 2, `the server sent the definitions with the PREPARE only, not with the ${EXECUTES} EXECUTEs`);
});

const PERL = String.raw`
use strict; use warnings; use DBI;
my $d = DBI->connect("DBI:MariaDB:database=crm;host=127.0.0.1;port=$ENV{SL_PORT};mariadb_server_prepare=1", $ENV{SL_USER}, $ENV{SL_PASSWORD}, { RaiseError => 1, PrintError => 0 });
binmode(STDOUT, ':encoding(UTF-8)');
my $st = $d->prepare(q{SELECT ${ALL_COLS} FROM users WHERE id > ? ORDER BY id});
for my $i (1 .. ${EXECUTES}) {
  $st->execute(0);
  while (my $r = $st->fetchrow_arrayref) { print join("\t", map { defined $_ ? $_ : 'NULL' } @$r), "\n"; }
}
$d->disconnect;
`;

test('Perl DBD::MariaDB (libmariadb, EOF mode): repeated EXECUTEs without definitions are masked every time', async () => {
  const from = tap.connections.length;
  const r = await promisify(execFile)('/usr/bin/perl', ['-e', PERL], {
    env: { ...process.env, LC_ALL: 'C.UTF-8', SL_PORT: String(gw.port), SL_USER: user, SL_PASSWORD: password },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const lines = r.stdout.trimEnd().split('\n');
  const expected = MASKED.map((row) => row.map((v) => (v === null ? 'NULL' : String(v))).join('\t'));
  assert.deepEqual(lines, Array.from({ length: EXECUTES }, () => expected).flat());
  assert.equal(definitionsSent(from), 2, 'the server sent the definitions with the PREPARE only');
});
