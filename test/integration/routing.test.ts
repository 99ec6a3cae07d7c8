// Routing through one Sluice in front of three throwaway mariadbd (issue 4), each holding a marker table
// (`testdb.marker` = its name) so a test can tell which one it reached: user tag (mysql2, mariadb CLI; the
// backend sees the stripped user), SNI (mysql2 and PyMySQL dialling host names), `host` via the
// `_server_host` connect attribute (mysql2 connectAttributes; the CLI dialling 127.0.0.2 on a listener
// bound there), schema, client CIDR (IPv4 source addresses; IPv6 ::1 when the machine has it), the
// no-route ERR 1045 without any backend contacted, and PROXY protocol v2 towards a backend so MariaDB's
// processlist shows the real client address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import { startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';
import { runMariaDbCli } from '../harness/cli.ts';
import type { SluiceHandle } from '../../src/main.ts';

const { user, password } = USERS.native;
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-pymysql lives

let db1: MariaDbServer;
let db2: MariaDbServer;
let db3: MariaDbServer;
let sluice: SluiceHandle & { port: number };
let altPort: number;
let v6Port: number | null = null;

async function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

before(async () => {
  [db1, db2, db3] = await Promise.all([
    // db1 also trusts PROXY headers from loopback (backend db1pp); skip-name-resolve: processlist shows IPs
    startMariaDb({ extraArgs: ['--proxy-protocol-networks=127.0.0.0/8', '--skip-name-resolve', '--performance-schema=ON'] }),
    startMariaDb(),
    startMariaDb(),
  ]);
  await Promise.all(
    [
      [db1, 'db1'],
      [db2, 'db2'],
      [db3, 'db3'],
    ].map(([s, name]) => (s as MariaDbServer).sql(`CREATE TABLE testdb.marker (name VARCHAR(16)); INSERT INTO testdb.marker VALUES ('${name as string}');`)),
  );
  await db3.sql('CREATE DATABASE orders_eu;');
  const ipv6 = await hasIpv6Loopback();
  const listeners: Array<Record<string, unknown>> = [
    { name: 'main', address: '127.0.0.1:0', tls: { mode: 'preferred' } },
    { name: 'alt', address: '127.0.0.2:0', tls: { mode: 'preferred' } },
  ];
  if (ipv6) listeners.push({ name: 'v6', address: '[::1]:0', tls: { mode: 'disabled' } });
  const backend = (name: string, s: MariaDbServer, extra: Record<string, unknown> = {}) => ({ name, address: `127.0.0.1:${s.port}`, tls: { mode: 'disabled' }, ...extra });
  sluice = await startTestSluice(db1.port, {
    config: {
      listeners,
      backends: [backend('db1', db1), backend('db2', db2), backend('db3', db3), backend('db1pp', db1, { proxy_protocol: 'v2' })],
      routes: [
        { name: 'tag2', match: { user_tag: 'db2' }, backends: ['db2'] },
        { name: 'tag3', match: { user_tag: 'db3' }, backends: ['db3'] },
        { name: 'proxied', match: { user_tag: 'pp' }, backends: ['db1pp'] },
        { name: 'sni-local', match: { sni: 'localhost' }, backends: ['db3'] },
        { name: 'sni-only', match: { sni: '*.sni.test' }, backends: ['db2'] },
        { name: 'orders-host', match: { host: 'orders.*' }, backends: ['db2'] },
        { name: 'alt-host', match: { host: '127.0.0.2' }, backends: ['db3'] },
        { name: 'eu', match: { schema: 'orders_*' }, backends: ['db3'] },
        { name: 'cidr4', match: { client_cidr: ['127.0.0.2/32'] }, backends: ['db2'] },
        { name: 'cidr6', match: { client_cidr: ['::1/128'] }, backends: ['db3'] },
        { name: 'main', match: { listener: 'main' }, backends: ['db1'] },
      ],
      // one probe at start, then none during the tests: the no-route test counts backend connections
      health_check: { interval: '10m', timeout: '2s' },
      admin: { enabled: false },
    },
  });
  altPort = sluice.listenerAddress('alt').port;
  if (ipv6) v6Port = sluice.listenerAddress('v6').port;
  const deadline = Date.now() + 10_000;
  while (!sluice.gateway.state.snapshot().every((b) => b.health.status === 'up')) {
    assert.ok(Date.now() < deadline, `backends not up: ${JSON.stringify(sluice.gateway.state.snapshot().map((b) => [b.name, b.health]))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
});
after(async () => {
  await sluice?.stop(1000);
  await Promise.all([db1?.stop(), db2?.stop(), db3?.stop()]);
});

type Opts = mysql.ConnectionOptions;
async function withConn<T>(opts: Opts, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: sluice.port, user, password, connectTimeout: 5000, ...opts });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function marker(c: mysql.Connection): Promise<string> {
  const [rows] = await c.query('SELECT name FROM testdb.marker');
  return (rows as Array<{ name: string }>)[0]!.name;
}

async function reached(opts: Opts): Promise<{ marker: string; user: string }> {
  return withConn(opts, async (c) => {
    const [rows] = await c.query('SELECT USER() AS u');
    return { marker: await marker(c), user: (rows as Array<{ u: string }>)[0]!.u };
  });
}

/** mysql2 sends its `host` as SNI (names only; it ignores `ssl.servername`); this dials 127.0.0.1 whatever the name. */
const viaLoopback = (port: number) => () => net.connect({ host: '127.0.0.1', port });
/** mysql2 ignores its `localAddress` option: choose the client's source address through `stream`. */
const from = (localAddress: string, host = '127.0.0.1', port = sluice.port) => ({ stream: () => net.connect({ host, port, localAddress }) });

test('user tag: mysql2 with db2.nat reaches db2, which sees the user nat; no tag falls to the listener route', async () => {
  const r = await reached({ user: `db2.${user}` });
  assert.equal(r.marker, 'db2');
  assert.match(r.user, /^nat@/);
  assert.equal((await reached({ user: `db3.${user}` })).marker, 'db3');
  assert.equal((await reached({})).marker, 'db1');
});

test('user tag: COM_CHANGE_USER to a tagged name stays on the backend and the tag is stripped there too', async () => {
  const after = await withConn({ user: `db2.${user}` }, async (c) => {
    await c.changeUser({ user: `db2.${user}`, password });
    const [rows] = await c.query('SELECT name AS m, CURRENT_USER() AS u FROM testdb.marker');
    return (rows as Array<{ m: string; u: string }>)[0]!;
  });
  assert.equal(after.m, 'db2');
  assert.match(after.u, /^nat@/);
});

test('user tag: the mariadb CLI with db2.nat reaches db2 as nat', async () => {
  const r = await runMariaDbCli(['-h', '127.0.0.1', '-P', String(sluice.port), '-u', `db2.${user}`, `-p${password}`, '-N', '-B', '-e', 'SELECT name FROM testdb.marker; SELECT USER()'], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  const [name, who] = r.stdout.trim().split('\n');
  assert.equal(name, 'db2');
  assert.match(who ?? '', /^nat@/);
});

test('SNI: mysql2 over TLS to a host name reaches the sni route; without TLS the same name routes nowhere special', async () => {
  const tls = { ssl: { rejectUnauthorized: false }, stream: viaLoopback(sluice.port) } as const;
  const viaSni = await withConn({ host: 'a.sni.test', ...tls }, async (c) => {
    const session = sluice.gateway.sessions().find((s) => s.route === 'sni-only');
    return { marker: await marker(c), sni: session?.clientTls?.sni, tls: session?.clientTls?.version };
  });
  assert.equal(viaSni.marker, 'db2');
  assert.equal(viaSni.sni, 'a.sni.test');
  assert.match(viaSni.tls ?? '', /^TLSv1\.[23]$/);
  assert.equal((await reached({ host: 'localhost', ...tls })).marker, 'db3');
  // no TLS: no SNI, so only the listener route matches
  assert.equal((await reached({ host: 'a.sni.test', stream: viaLoopback(sluice.port) })).marker, 'db1');
});

function runPyMySql(host: string, port: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = [
    'import socket, ssl, sys, pymysql',
    '_gai = socket.getaddrinfo',
    // the test names resolve to 127.0.0.1 without a hosts-file entry; PyMySQL still sends the name as SNI
    'socket.getaddrinfo = lambda h, *a, **k: _gai("127.0.0.1" if h == "localhost" or h.endswith(".sni.test") else h, *a, **k)',
    'ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE',
    `c = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user=${JSON.stringify(user)}, password=${JSON.stringify(password)}, ssl=ctx, connect_timeout=5)`,
    'cur = c.cursor(); cur.execute("SELECT name FROM testdb.marker"); print(cur.fetchone()[0]); c.close()',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', script, host, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

test('SNI: PyMySQL dialling localhost and another host name reaches the matching sni routes', async () => {
  const local = await runPyMySql('localhost', sluice.port);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(local.stdout.trim(), 'db3');
  const other = await runPyMySql('x.sni.test', sluice.port);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stdout.trim(), 'db2');
  // an IP literal: Python sends no SNI
  const ip = await runPyMySql('127.0.0.1', sluice.port);
  assert.equal(ip.code, 0, ip.stderr);
  assert.equal(ip.stdout.trim(), 'db1');
});

test('host: the _server_host connect attribute from mysql2 routes by host (and never satisfies an sni matcher)', async () => {
  assert.equal((await reached({ connectAttributes: { _server_host: 'orders.example' } })).marker, 'db2');
  assert.equal((await reached({ connectAttributes: { _server_host: 'ORDERS.Example.' } })).marker, 'db2');
  assert.equal((await reached({ connectAttributes: { _server_host: 'a.sni.test' } })).marker, 'db1');
});

test('host: the mariadb CLI dialling 127.0.0.2 sends _server_host and reaches the host route', async () => {
  const r = await runMariaDbCli(['--host=127.0.0.2', '-P', String(altPort), '-u', user, `-p${password}`, '-N', '-B', '-e', 'SELECT name FROM testdb.marker'], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'db3');
});

test('schema: database orders_eu routes to db3', async () => {
  const r = await withConn({ database: 'orders_eu' }, async (c) => {
    const [rows] = await c.query('SELECT DATABASE() AS d');
    return { marker: await marker(c), db: (rows as Array<{ d: string }>)[0]!.d };
  });
  assert.deepEqual(r, { marker: 'db3', db: 'orders_eu' });
  assert.equal((await reached({ database: 'testdb' })).marker, 'db1');
});

test('client CIDR: source 127.0.0.2 matches 127.0.0.2/32, 127.0.0.3 does not', async () => {
  assert.equal((await reached(from('127.0.0.2'))).marker, 'db2');
  assert.equal((await reached(from('127.0.0.3'))).marker, 'db1');
});

test('client CIDR: an IPv6 client ::1 matches ::1/128', async (t) => {
  if (v6Port === null) return t.skip('no IPv6 loopback');
  assert.equal((await reached({ host: '::1', port: v6Port })).marker, 'db3');
});

async function connectionsOf(s: MariaDbServer): Promise<number> {
  return Number((await s.sql("SHOW GLOBAL STATUS LIKE 'Connections'")).trim().split('\t')[1]);
}

test('no route: ERR 1045 (sluice: no route …) and no backend is contacted', async () => {
  const before = await Promise.all([db1, db2, db3].map(connectionsOf));
  const started = Date.now();
  await assert.rejects(
    mysql.createConnection({ ...from('127.0.0.1', '127.0.0.2', altPort), user, password, connectTimeout: 5000 }),
    (e: { errno?: number; sqlState?: string; message: string }) => {
      assert.equal(e.errno, 1045);
      assert.equal(e.sqlState, '28000');
      assert.match(e.message, /^Access denied for user 'nat'@.*\(sluice: no route for listener alt/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 3000);
  const after = await Promise.all([db1, db2, db3].map(connectionsOf));
  // each count includes the one connection that read it
  assert.deepEqual(
    after.map((n, i) => n - before[i]!),
    [1, 1, 1],
  );
});

test('PROXY protocol v2: the backend sees the real client address; without it, the gateway address', async () => {
  const q =
    "SELECT USER() AS u, p.host AS h, (SELECT attr_value FROM performance_schema.session_connect_attrs a WHERE a.processlist_id = CONNECTION_ID() AND attr_name = '_client_addr') AS ca FROM information_schema.processlist p WHERE p.id = CONNECTION_ID()";
  const row = async (opts: Opts) =>
    withConn(opts, async (c) => {
      const [rows] = await c.query(q);
      return { ...(rows as Array<{ u: string; h: string; ca: string | null }>)[0]!, marker: await marker(c) };
    });
  const pp = await row({ user: `pp.${user}`, ...from('127.0.0.5') });
  assert.equal(pp.marker, 'db1');
  assert.equal(pp.u, 'nat@127.0.0.5');
  assert.match(pp.h, /^127\.0\.0\.5:\d+$/);
  assert.match(pp.ca ?? '', /^127\.0\.0\.5:\d+$/);
  const plain = await row(from('127.0.0.5'));
  assert.equal(plain.marker, 'db1');
  assert.match(plain.h, /^127\.0\.0\.1:\d+$/);
  // the client address still reaches the backend as a connect attribute
  assert.match(plain.ca ?? '', /^127\.0\.0\.5:\d+$/);
});
