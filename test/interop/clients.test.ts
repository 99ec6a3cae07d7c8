// Real clients from Debian through Sluice (DESIGN §6): PyMySQL, Perl DBD::MariaDB (libmariadb), MariaDB
// Connector/J and sysbench. Each client runs one scripted workload and prints canonical lines that the test
// compares exactly: logins (native, and ed25519 where the client has the plugin), a wrong password (1045),
// a table filled through a parameterised INSERT (utf8mb4 text with CJK and emoji, NULLs, DECIMAL,
// DATETIME(6), BLOB with every byte value) read back by the text protocol and, where the client can, the
// binary protocol, multiple result sets (multi-statement and a procedure), and TLS to Sluice (verification
// off, the listener's generated certificate) with the TLS version the client itself reports. What the
// client stored is checked again as root, straight on the backend, so a symmetric client-side mangling
// cannot pass. The rows travel to the scripts hex-encoded in env vars (no source-encoding questions).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMariaDb, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';
import type { SluiceHandle } from '../../src/main.ts';
import type { StatementResult } from '../../src/session/result-tracker.ts';

const PYTHON = '/usr/bin/python3'; // Debian's, where python3-pymysql lives
const PERL = '/usr/bin/perl';
const JAVA = 'java';
const CONNECTOR_J = '/usr/share/java/mariadb-java-client.jar'; // libmariadb-java (2.7.x)
const SYSBENCH = '/usr/bin/sysbench';

let db: MariaDbServer;
let sluice: SluiceHandle & { port: number };
let dir: string;

before(async () => {
  db = await startMariaDb();
  // TLS preferred with the certificate Sluice generates: plaintext and TLS clients on one listener
  sluice = await startTestSluice(db.port, { config: { listeners: [{ name: 'main', address: '127.0.0.1:0', tls: { mode: 'preferred' } }] } });
  dir = await mkdtemp(join(tmpdir(), 'sluice-interop-'));
});
after(async () => {
  await sluice?.stop(1000);
  await db?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Row {
  id: number;
  txt: string | null;
  amount: string | null;
  dt: string | null;
  blob: Buffer | null;
}

const ROWS: Row[] = [
  { id: 1, txt: 'Grüße, 世界 — 日本語テキスト 🦭🎉 𝄞', amount: '12345.6789', dt: '2024-02-29 13:14:15.123456', blob: Buffer.from([0, 1, 2, 0x27, 0x22, 0x5c, 0x0a, 0x0d, 0x1a, 0x80, 0xc3, 0x28, 0xfe, 0xff, 0]) },
  { id: 2, txt: null, amount: '-0.0001', dt: '1999-12-31 23:59:59.000001', blob: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
  { id: 3, txt: '', amount: null, dt: null, blob: Buffer.alloc(0) },
  { id: 4, txt: "it's \\ \"quoted\"", amount: '0.0000', dt: '2038-01-19 03:14:08.000000', blob: null },
];

/** `x<hex>` (so an empty value is `x`), or `NULL` */
const hx = (b: Buffer | null): string => (b === null ? 'NULL' : `x${b.toString('hex')}`);
const txtHex = (t: string | null): string => hx(t === null ? null : Buffer.from(t, 'utf8'));

/** The rows for the scripts: one per line, tab-separated id, text (hex of UTF-8), decimal, datetime, blob (hex). */
const ROWS_ENV = ROWS.map((r) => [r.id, txtHex(r.txt), r.amount ?? 'NULL', r.dt ?? 'NULL', hx(r.blob)].join('\t')).join('\n');
const rowLines = (prefix: string): string[] =>
  ROWS.map((r) => `${prefix} ${r.id} ${txtHex(r.txt)} ${r.amount ?? 'NULL'} ${r.dt ?? 'NULL'} ${hx(r.blob)}`);

const ddl = (table: string): string =>
  `CREATE TABLE ${table} (id INT PRIMARY KEY, txt VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL, ` +
  'amount DECIMAL(12,4) NULL, dt DATETIME(6) NULL, blb BLOB NULL)';
const procDdl = (table: string): string =>
  `CREATE PROCEDURE ${table}_p(IN n INT) BEGIN SELECT n * 2 AS d; SELECT CONCAT('n=', n) AS s; END`;
const MULTI = "SELECT 1 AS a; SELECT 'two' AS b, NULL AS c";
/** what MULTI and CALL <table>_p(21) print, one `set` line per result set */
const SET_LINES = ['set 1', 'set two,NULL', 'set 42', 'set n=21'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8') + (timedOut ? `\n[killed after ${timeoutMs} ms]` : '');
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

function scriptEnv(table: string): Record<string, string> {
  return { SL_PORT: String(sluice.port), SL_TABLE: table, SL_ROWS: ROWS_ENV, SL_MULTI: MULTI, SL_DDL: ddl(table), SL_PROC: procDdl(table) };
}

function assertLines(r: Run, expected: string[], what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code ?? r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), expected, `${what} stderr:\n${r.stderr}`);
}

/** What the client stored, read as root on the backend directly (mariadb --batch -N). */
async function assertStored(table: string): Promise<void> {
  const out = await db.sql(`SELECT id, HEX(txt), amount, dt, HEX(blb) FROM testdb.${table} ORDER BY id`);
  const expected = ROWS.map((r) => {
    const h = (b: Buffer | null): string => (b === null ? 'NULL' : b.toString('hex').toUpperCase());
    return [r.id, h(r.txt === null ? null : Buffer.from(r.txt, 'utf8')), r.amount ?? 'NULL', r.dt ?? 'NULL', h(r.blob)].join('\t');
  });
  assert.deepEqual(out.trimEnd().split('\n'), expected);
}

/** The backend's prepared-statement counters (tests in this file run one after another, so deltas are theirs). */
async function stmtCounters(): Promise<{ prepare: number; execute: number; longData: number }> {
  const out = await db.sql("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_stmt_prepare', 'Com_stmt_execute', 'Com_stmt_send_long_data')");
  const m = new Map(out.trim().split('\n').map((l) => l.split('\t') as [string, string]));
  return { prepare: Number(m.get('Com_stmt_prepare')), execute: Number(m.get('Com_stmt_execute')), longData: Number(m.get('Com_stmt_send_long_data')) };
}

// ---------------------------------------------------------------------------------------------------------
// PyMySQL: text protocol only (it has no server-side prepared statements); parameters are escaped client-side.
// No ed25519 login: PyMySQL's ed25519 auth needs PyNaCl, which is not part of this setup.
const PY_SCRIPT = String.raw`
import os, ssl, datetime, decimal
import pymysql
from pymysql.constants import CLIENT
port, table = int(os.environ['SL_PORT']), os.environ['SL_TABLE']
def unhex(s): return None if s == 'NULL' else bytes.fromhex(s[1:])
def hx(b): return 'NULL' if b is None else 'x' + b.hex()
def val(v): return 'NULL' if v is None else str(v)
rows = []
for line in os.environ['SL_ROWS'].split('\n'):
    i, t, a, d, b = line.split('\t')
    rows.append((int(i), None if t == 'NULL' else unhex(t).decode('utf-8'),
                 None if a == 'NULL' else decimal.Decimal(a),
                 None if d == 'NULL' else datetime.datetime.strptime(d, '%Y-%m-%d %H:%M:%S.%f'), unhex(b)))
def connect(user, pw, **kw):
    return pymysql.connect(host='127.0.0.1', port=port, user=user, password=pw, database='testdb', charset='utf8mb4',
                           connect_timeout=10, read_timeout=30, write_timeout=30, **kw)
def sets(cur):
    while True:
        if cur.description:
            print('set', ';'.join(','.join(val(v) for v in r) for r in cur.fetchall()))
        if not cur.nextset():
            break

c = connect('nat', 'natpw', client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
cur = c.cursor()
cur.execute("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)")
print('login nat', cur.fetchone()[0])
try:
    connect('nat', 'wrong')
    print('badpw nat no-error')
except pymysql.err.OperationalError as e:
    print('badpw nat', e.args[0])
cur.execute(os.environ['SL_DDL'])
cur.execute(os.environ['SL_PROC'])
cur.executemany('INSERT INTO ' + table + ' (id, txt, amount, dt, blb) VALUES (%s, %s, %s, %s, %s)', rows)
cur.execute('SELECT id, txt, amount, dt, blb FROM ' + table + ' ORDER BY id')
for i, t, a, d, b in cur.fetchall():
    print('row', i, hx(None if t is None else t.encode('utf-8')), val(a),
          'NULL' if d is None else d.strftime('%Y-%m-%d %H:%M:%S.%f'), hx(b))
cur.execute(os.environ['SL_MULTI'])
sets(cur)
cur.execute('CALL ' + table + '_p(%s)', (21,))
sets(cur)
c.close()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = connect('nat', 'natpw', ssl=ctx)
tc = t.cursor()
tc.execute('SELECT 1')
assert tc.fetchone()[0] == 1
print('tls', t._sock.version())
t.close()
print('done')
`;

test('PyMySQL: logins, parameterised rows, multi-statement and procedure result sets, 1045, TLS', async () => {
  const table = 'interop_py';
  const r = await run(PYTHON, ['-c', PY_SCRIPT], scriptEnv(table), 30_000);
  assertLines(r, ['login nat nat', 'badpw nat 1045', ...rowLines('row'), ...SET_LINES, 'tls TLSv1.3', 'done'], 'python3');
  await assertStored(table);
});

// ---------------------------------------------------------------------------------------------------------
// Perl DBD::MariaDB on libmariadb: native and ed25519 (client_ed25519 plugin of libmariadb3); client-side
// placeholders for the INSERT (the BLOB bound as SQL_BLOB so it is not treated as text), the SELECT once
// as text and once server-prepared (binary rows). It reports the TLS cipher, not the version: TLS 1.3
// cipher suites are the ones named TLS_*.
const PERL_SCRIPT = String.raw`
use strict; use warnings;
use DBI qw(:sql_types);
use Encode qw(encode decode);
my ($port, $table) = ($ENV{SL_PORT}, $ENV{SL_TABLE});
my $dsn = "DBI:MariaDB:database=testdb;host=127.0.0.1;port=$port;mariadb_connect_timeout=10;mariadb_read_timeout=30;mariadb_write_timeout=30";
sub conn { my ($u, $p, $extra) = @_; return DBI->connect($dsn . ($extra // ''), $u, $p, { RaiseError => 1, PrintError => 0, AutoCommit => 1 }); }
sub hx { my $b = shift; return defined $b ? 'x' . unpack('H*', $b) : 'NULL'; }
sub unhex { my $s = shift; return $s eq 'NULL' ? undef : pack('H*', substr($s, 1)); }
sub val { my $v = shift; return defined $v ? $v : 'NULL'; }
sub sets {
  my $sth = shift;
  do {
    if ($sth->{NUM_OF_FIELDS}) { print 'set ', join(';', map { join(',', map { val($_) } @$_) } @{ $sth->fetchall_arrayref }), "\n"; }
  } while ($sth->more_results);
}
sub rows {
  my ($prefix, $sth) = @_;
  $sth->execute;
  while (my $r = $sth->fetchrow_arrayref) {
    my ($i, $t, $a, $d, $b) = @$r;
    print join(' ', $prefix, $i, hx(defined $t ? encode('UTF-8', $t) : undef), val($a), val($d), hx($b)), "\n";
  }
}
for my $u (['nat', 'natpw'], ['ed', 'edpw']) {
  my $c = conn(@$u);
  my ($cu) = $c->selectrow_array(q{SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)});
  print "login $u->[0] $cu\n";
  $c->disconnect;
}
for my $u ('nat', 'ed') {
  my $c = eval { conn($u, 'wrong') };
  print "badpw $u ", (defined $c ? 'no-error' : $DBI::err), "\n";
}
my $dbh = conn('nat', 'natpw', ';mariadb_multi_statements=1');
$dbh->do($ENV{SL_DDL});
$dbh->do($ENV{SL_PROC});
my $ins = $dbh->prepare("INSERT INTO $table (id, txt, amount, dt, blb) VALUES (?, ?, ?, ?, ?)");
for my $line (split /\n/, $ENV{SL_ROWS}) {
  my ($i, $t, $a, $d, $b) = split /\t/, $line;
  $ins->bind_param(1, $i, SQL_INTEGER);
  $ins->bind_param(2, $t eq 'NULL' ? undef : decode('UTF-8', unhex($t), Encode::FB_CROAK));
  $ins->bind_param(3, $a eq 'NULL' ? undef : $a);
  $ins->bind_param(4, $d eq 'NULL' ? undef : $d);
  $ins->bind_param(5, unhex($b), SQL_BLOB);
  $ins->execute;
}
my $sel = "SELECT id, txt, amount, dt, blb FROM $table ORDER BY id";
rows('row', $dbh->prepare($sel));
rows('prow', $dbh->prepare($sel, { mariadb_server_prepare => 1 }));
my $m = $dbh->prepare($ENV{SL_MULTI}); $m->execute; sets($m);
my $p = $dbh->prepare("CALL " . $table . "_p(?)"); $p->execute(21); sets($p);
$dbh->disconnect;
# libmariadb 3.3 refuses to enforce TLS without verification; optional TLS is still used when offered, and the
# cipher check below proves it was
my $t = conn('nat', 'natpw', ';mariadb_ssl=1;mariadb_ssl_optional=1');
my ($one) = $t->selectrow_array('SELECT 1');
die "SELECT 1 over TLS gave $one" unless $one == 1;
my $cipher = $t->{mariadb_ssl_cipher} // 'none';
print 'tls ', ($cipher =~ /^TLS_/ ? 'TLSv1.3' : "cipher=$cipher"), "\n";
$t->disconnect;
print "done\n";
`;

test('Perl DBD::MariaDB: native and ed25519 logins, placeholders, text and server-prepared rows, result sets, 1045, TLS', async () => {
  const table = 'interop_pl';
  const before = await stmtCounters();
  const r = await run(PERL, ['-e', PERL_SCRIPT], scriptEnv(table), 30_000);
  const after = await stmtCounters();
  assertLines(
    r,
    ['login nat nat', 'login ed ed', 'badpw nat 1045', 'badpw ed 1045', ...rowLines('row'), ...rowLines('prow'), ...SET_LINES, 'tls TLSv1.3', 'done'],
    'perl',
  );
  // exactly the one server-prepared SELECT went as COM_STMT_PREPARE / EXECUTE
  assert.deepEqual({ prepare: after.prepare - before.prepare, execute: after.execute - before.execute }, { prepare: 1, execute: 1 });
  assert.equal(after.longData, before.longData);
  await assertStored(table);
});

// libmariadb negotiates MARIADB_CLIENT_CACHE_METADATA but not DEPRECATE_EOF: the server then sends a prepared
// statement's EXECUTE as column count (metadata follows = 0), the EOF that would end the definitions, rows,
// EOF (PROTOCOL-NOTES A3.6). The tracker must end each EXECUTE at the second EOF, not the first.
const PERL_CACHED_METADATA = String.raw`
use strict; use warnings; use DBI;
my $d = DBI->connect("DBI:MariaDB:database=testdb;host=127.0.0.1;port=$ENV{SL_PORT};mariadb_server_prepare=1", 'cm', 'cmpw', { RaiseError => 1, PrintError => 0 });
my $st = $d->prepare(q{SELECT seq, CONCAT('v', seq) FROM seq_1_to_10 WHERE seq <= ?});
for my $n (3, 7, 1, 0) { $st->execute($n); my $k = 0; $k++ while $st->fetchrow_arrayref; print "n$n $k\n"; }
my ($x) = $d->selectrow_array('SELECT 42'); print "after $x\n";
$d->disconnect;
`;

test('Perl DBD::MariaDB (libmariadb: cached metadata, EOF mode): every server-prepared EXECUTE is tracked to its end with its rows', async () => {
  await db.sql("CREATE USER IF NOT EXISTS 'cm'@'%' IDENTIFIED BY 'cmpw'; GRANT SELECT ON testdb.* TO 'cm'@'%';");
  // a gateway of its own, with a hook that sees every statement the tracker reports
  const tracked: StatementResult[] = [];
  const hooked = await startTestSluice(db.port, { hooks: [{ wantsSql: true, onStatement: (_f, result) => void tracked.push(result) }] });
  let r: Run;
  try {
    r = await run(PERL, ['-e', PERL_CACHED_METADATA], { SL_PORT: String(hooked.port) }, 30_000);
  } finally {
    await hooked.stop(1000);
  }
  assertLines(r, ['n3 3', 'n7 7', 'n1 1', 'n0 0', 'after 42'], 'perl');
  const mine = tracked.filter((t) => t.command.name === 'COM_STMT_EXECUTE');
  assert.deepEqual(
    mine.map((t) => [t.command.sql, t.rows, t.error]),
    [
      ...[3, 7, 1, 0].map((n) => ["SELECT seq, CONCAT('v', seq) FROM seq_1_to_10 WHERE seq <= ?", n, null]),
      ['SELECT 42', 1, null],
    ],
  );
});

// ---------------------------------------------------------------------------------------------------------
// MariaDB Connector/J 2.7: useServerPrepStmts=true (COM_STMT_PREPARE / EXECUTE, and the batch INSERT may go
// as COM_STMT_BULK_EXECUTE), binary rows, and setFetchSize streaming (Connector/J has no server-side
// cursors: MySQL Connector/J's useCursorFetch does not exist here, fetch size streams the result instead).
// The TLS version comes from the driver's SSLSocket, caught by a TLS socket plugin (the driver has no API for it).
const JAVA_SOURCE = String.raw`
import java.sql.*;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.*;

public class Prog {
  static final String PORT = System.getenv("SL_PORT"), TABLE = System.getenv("SL_TABLE");
  static final DateTimeFormatter DT = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

  static Connection conn(String user, String pw, String extra) throws SQLException {
    return DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + PORT + "/testdb?user=" + user + "&password=" + pw
        + "&connectTimeout=10000&socketTimeout=30000" + extra);
  }
  static String hx(byte[] b) {
    if (b == null) return "NULL";
    StringBuilder s = new StringBuilder("x");
    for (byte x : b) s.append(String.format("%02x", x & 0xff));
    return s.toString();
  }
  static byte[] unhex(String s) {
    if (s.equals("NULL")) return null;
    byte[] b = new byte[(s.length() - 1) / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(1 + 2 * i, 3 + 2 * i), 16);
    return b;
  }
  static String val(String v) { return v == null ? "NULL" : v; }
  static void rows(String prefix, ResultSet rs) throws SQLException {
    while (rs.next()) {
      String t = rs.getString(2);
      BigDecimal a = rs.getBigDecimal(3);
      Timestamp d = rs.getTimestamp(4);
      System.out.println(prefix + " " + rs.getInt(1) + " " + hx(t == null ? null : t.getBytes(StandardCharsets.UTF_8)) + " "
          + (a == null ? "NULL" : a.toPlainString()) + " " + (d == null ? "NULL" : d.toLocalDateTime().format(DT)) + " " + hx(rs.getBytes(5)));
    }
    rs.close();
  }
  static void sets(Statement st, boolean isRs) throws SQLException {
    while (true) {
      if (isRs) {
        ResultSet rs = st.getResultSet();
        int n = rs.getMetaData().getColumnCount();
        List<String> out = new ArrayList<>();
        while (rs.next()) {
          List<String> r = new ArrayList<>();
          for (int i = 1; i <= n; i++) r.add(val(rs.getString(i)));
          out.add(String.join(",", r));
        }
        System.out.println("set " + String.join(";", out));
      } else if (st.getUpdateCount() == -1) {
        break;
      }
      isRs = st.getMoreResults();
    }
  }
  /** The driver's own TLS plugin (tlsSocketType=sluicetap, registered via META-INF/services), keeping its socket. */
  public static class Tap extends org.mariadb.jdbc.internal.protocol.tls.DefaultTlsSocketPlugin {
    static volatile javax.net.ssl.SSLSocket last;
    public Tap() {}
    @Override public String type() { return "sluicetap"; }
    @Override public String name() { return "sluice test tap"; }
    @Override public javax.net.ssl.SSLSocket createSocket(java.net.Socket s, javax.net.ssl.SSLSocketFactory f) throws java.io.IOException {
      javax.net.ssl.SSLSocket t = super.createSocket(s, f);
      last = t;
      return t;
    }
  }

  public static void main(String[] args) throws Exception {
    // source-launch loads Prog in its own class loader; ServiceLoader (TLS plugins) looks in the context one
    Thread.currentThread().setContextClassLoader(Prog.class.getClassLoader());
    for (String[] u : new String[][] { { "nat", "natpw" }, { "ed", "edpw" } }) {
      try (Connection c = conn(u[0], u[1], "&useServerPrepStmts=true"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)")) {
        rs.next();
        System.out.println("login " + u[0] + " " + rs.getString(1));
      }
    }
    for (String u : new String[] { "nat", "ed" }) {
      try (Connection c = conn(u, "wrong", "")) {
        System.out.println("badpw " + u + " no-error");
      } catch (SQLException e) {
        System.out.println("badpw " + u + " " + e.getErrorCode());
      }
    }
    try (Connection c = conn("nat", "natpw", "&useServerPrepStmts=true&allowMultiQueries=true")) {
      try (Statement st = c.createStatement()) {
        st.execute(System.getenv("SL_DDL"));
        st.execute(System.getenv("SL_PROC"));
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + TABLE + " (id, txt, amount, dt, blb) VALUES (?, ?, ?, ?, ?)")) {
        for (String line : System.getenv("SL_ROWS").split("\n")) {
          String[] f = line.split("\t", -1);
          ps.setInt(1, Integer.parseInt(f[0]));
          if (f[1].equals("NULL")) ps.setNull(2, Types.VARCHAR); else ps.setString(2, new String(unhex(f[1]), StandardCharsets.UTF_8));
          if (f[2].equals("NULL")) ps.setNull(3, Types.DECIMAL); else ps.setBigDecimal(3, new BigDecimal(f[2]));
          if (f[3].equals("NULL")) ps.setNull(4, Types.TIMESTAMP); else ps.setTimestamp(4, Timestamp.valueOf(LocalDateTime.parse(f[3], DT)));
          if (f[4].equals("NULL")) ps.setNull(5, Types.BLOB); else ps.setBytes(5, unhex(f[4]));
          ps.addBatch();
        }
        int[] counts = ps.executeBatch();
        if (counts.length != 4) throw new IllegalStateException("batch counts " + Arrays.toString(counts));
      }
      // streams go as COM_STMT_SEND_LONG_DATA (no reply from the server) before the EXECUTE; rewrites row 1 as it is
      String[] first = System.getenv("SL_ROWS").split("\n")[0].split("\t", -1);
      try (PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE + " SET txt = ?, blb = ? WHERE id = ?")) {
        ps.setCharacterStream(1, new java.io.StringReader(new String(unhex(first[1]), StandardCharsets.UTF_8)));
        ps.setBinaryStream(2, new java.io.ByteArrayInputStream(unhex(first[4])));
        ps.setInt(3, Integer.parseInt(first[0]));
        // Connector/J asks for CLIENT_FOUND_ROWS (useAffectedRows=false): the unchanged row counts as matched
        int n = ps.executeUpdate();
        if (n != 1) throw new IllegalStateException("UPDATE counted " + n + ", not the 1 found row");
      }
      String sel = "SELECT id, txt, amount, dt, blb FROM " + TABLE + " ORDER BY id";
      try (Statement st = c.createStatement()) { rows("row", st.executeQuery(sel)); }
      try (PreparedStatement ps = c.prepareStatement(sel)) { rows("prow", ps.executeQuery()); }
      try (PreparedStatement ps = c.prepareStatement(sel + " LIMIT ?")) {
        ps.setFetchSize(1);
        ps.setInt(1, 100);
        rows("srow", ps.executeQuery());
      }
      try (Statement st = c.createStatement()) { sets(st, st.execute(System.getenv("SL_MULTI"))); }
      try (CallableStatement cs = c.prepareCall("{call " + TABLE + "_p(?)}")) {
        cs.setInt(1, 21);
        sets(cs, cs.execute());
      }
    }
    try (Connection c = conn("nat", "natpw", "&useSsl=true&trustServerCertificate=true&tlsSocketType=sluicetap"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
      rs.next();
      if (rs.getInt(1) != 1) throw new IllegalStateException("SELECT 1 over TLS");
      System.out.println("tls " + (Tap.last == null ? "no-tls-socket" : Tap.last.getSession().getProtocol()));
    }
    System.out.println("done");
  }
}
`;

test('MariaDB Connector/J: native and ed25519 logins, server-prepared batch and rows, streaming, result sets, 1045, TLS', async () => {
  const table = 'interop_java';
  const src = join(dir, 'Prog.java');
  await writeFile(src, JAVA_SOURCE);
  // the driver finds TLS plugins with ServiceLoader: register Prog.Tap from a classpath dir
  await mkdir(join(dir, 'META-INF', 'services'), { recursive: true });
  await writeFile(join(dir, 'META-INF', 'services', 'org.mariadb.jdbc.tls.TlsSocketPlugin'), 'Prog$Tap\n');
  const before = await stmtCounters();
  const r = await run(JAVA, ['-XX:TieredStopAtLevel=1', '-cp', `${CONNECTOR_J}:${dir}`, src], scriptEnv(table), 60_000);
  const after = await stmtCounters();
  assertLines(
    r,
    [
      'login nat nat',
      'login ed ed',
      'badpw nat 1045',
      'badpw ed 1045',
      ...rowLines('row'),
      ...rowLines('prow'),
      ...rowLines('srow'),
      ...SET_LINES,
      'tls TLSv1.3',
      'done',
    ],
    'java',
  );
  // useServerPrepStmts: the INSERT, both prepared SELECTs and the CALL were server-side prepared statements
  assert.ok(after.prepare - before.prepare >= 4, `Com_stmt_prepare +${after.prepare - before.prepare}`);
  assert.ok(after.execute - before.execute >= 4, `Com_stmt_execute +${after.execute - before.execute}`);
  assert.ok(after.longData - before.longData >= 2, `Com_stmt_send_long_data +${after.longData - before.longData}`);
  await assertStored(table);
});

// ---------------------------------------------------------------------------------------------------------
// sysbench oltp_read_write (libmariadb, prepared statements, transactions) on 4 threads for 5 s. Four threads on
// 1000 rows deadlock in InnoDB itself (~5 per second straight against mariadbd, no Sluice involved), and sysbench
// retries those (its default --mysql-ignore-errors=auto ignores only 1213/1205/1020; any other error ends the
// run with a non-zero exit). So "no errors" is asserted exactly as: every ignored error is one deadlock the
// backend counted (Innodb_deadlocks), i.e. Sluice added none and relayed each one, and nothing else failed.
const deadlocks = async (): Promise<number> => Number((await db.sql("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")).trim().split('\t')[1]);

test('sysbench oltp_read_write: prepare, run on 4 threads, cleanup, no errors but backend deadlocks', async () => {
  const common = [
    'oltp_read_write',
    '--db-driver=mysql',
    '--mysql-host=127.0.0.1',
    `--mysql-port=${sluice.port}`,
    '--mysql-user=nat',
    '--mysql-password=natpw',
    '--mysql-db=testdb',
    '--tables=1',
    '--table-size=1000',
  ];
  const prep = await run(SYSBENCH, [...common, 'prepare'], {}, 60_000);
  assert.equal(prep.code, 0, `prepare: ${prep.stdout}\n${prep.stderr}`);
  const deadlocksBefore = await deadlocks();
  const res = await run(SYSBENCH, [...common, '--time=5', '--threads=4', 'run'], {}, 60_000);
  const backendDeadlocks = (await deadlocks()) - deadlocksBefore;
  assert.equal(res.code, 0, `run: ${res.stdout}\n${res.stderr}`);
  const num = (label: string): number => {
    const m = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(res.stdout);
    assert.ok(m, `no "${label}" in sysbench output:\n${res.stdout}`);
    return Number(m[1]);
  };
  assert.ok(num('transactions') > 0, res.stdout);
  assert.equal(num('ignored errors'), backendDeadlocks, `ignored errors vs the backend's deadlocks\n${res.stdout}`);
  assert.equal(num('reconnects'), 0, res.stdout);
  const clean = await run(SYSBENCH, [...common, 'cleanup'], {}, 60_000);
  assert.equal(clean.code, 0, `cleanup: ${clean.stdout}\n${clean.stderr}`);
  assert.equal((await db.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'testdb' AND table_name = 'sbtest1'")).trim(), '0');
});
