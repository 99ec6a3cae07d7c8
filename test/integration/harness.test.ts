// Smoke test of the test harness itself: a throwaway mariadbd starts, has its users, survives
// kill()+restart() on the same port with its data, and stop() removes everything it made; the test
// certificates fail verification exactly where they are meant to.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import { startMariaDb, freePort, USERS, MONITOR_USER, type MariaDbServer } from '../harness/mariadb.ts';
import { runMariaDbCli } from '../harness/cli.ts';
import { makeCerts, type CertPair, type TestCerts } from '../harness/certs.ts';

let server: MariaDbServer | undefined;
after(async () => {
  await server?.stop();
});

test('startMariaDb: server, users, kill/restart, stop', async (t) => {
  const t0 = performance.now();
  server = await startMariaDb();
  const s = server;
  t.diagnostic(`mariadbd ${s.version} ready on port ${s.port} in ${Math.round(performance.now() - t0)} ms`);
  assert.notEqual(s.port, 3306);
  assert.ok(s.pid > 0);

  await t.test('SELECT VERSION() over the root socket', async () => {
    const v = (await s.sql('SELECT VERSION();')).trim();
    assert.match(v, /MariaDB/);
    assert.equal(v, s.version);
    assert.equal((await s.sql('SELECT @@port;')).trim(), String(s.port));
    assert.match(await s.sql('SHOW DATABASES;'), /^testdb$/m);
  });

  await t.test('sql() rejects with the error text', async () => {
    await assert.rejects(s.sql('SELECT * FROM no_such_table_x;'), /1046|1146|No database selected|doesn't exist/);
  });

  await t.test('mysql2 logs in as nat (mysql_native_password) over TCP', async () => {
    const c = await mysql.createConnection({ host: s.host, port: s.port, ...USERS.native, database: 'testdb' });
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u, DATABASE() AS d');
      assert.match(String(rows[0]?.['u']), /^nat@/);
      assert.equal(rows[0]?.['d'], 'testdb');
      await c.query('CREATE TABLE t_keep (id INT PRIMARY KEY)');
      await c.query('INSERT INTO t_keep VALUES (1), (2)');
    } finally {
      await c.end();
    }
  });

  await t.test('mysql2 with a wrong password gets 1045', async () => {
    await assert.rejects(
      mysql.createConnection({ host: s.host, port: s.port, user: USERS.native.user, password: 'wrong' }),
      (e: { errno?: number }) => e.errno === 1045,
    );
  });

  await t.test('mariadb CLI logs in as ed (ed25519) over TCP', async () => {
    const r = await runMariaDbCli(
      ['-h', s.host, '-P', String(s.port), '-u', USERS.ed25519.user, `-p${USERS.ed25519.password}`, '-N', '-B', '-e', 'SELECT CURRENT_USER()'],
      { timeoutMs: 10_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^ed@/);
    assert.match((await s.sql("SELECT plugin FROM mysql.user WHERE user = 'ed' LIMIT 1;")).trim(), /ed25519/);
  });

  await t.test('monitor has PROCESS and nothing else', async () => {
    const grants = await s.sql("SHOW GRANTS FOR 'monitor'@'%';");
    assert.match(grants, /GRANT PROCESS ON \*\.\*/);
    assert.doesNotMatch(grants, /ALL PRIVILEGES/);
    const c = await mysql.createConnection({ host: s.host, port: s.port, ...MONITOR_USER });
    await c.end();
  });

  await t.test('kill() then restart() on the same port keeps the data', async () => {
    const port = s.port;
    const oldPid = s.pid;
    s.kill();
    // the server really is gone: a new TCP connection is refused
    await assert.rejects(async () => {
      for (let i = 0; i < 200; i++) {
        const c = await mysql.createConnection({ host: s.host, port, ...USERS.native, connectTimeout: 1000 });
        await c.end();
        await new Promise((r) => setTimeout(r, 25));
      }
    });
    await s.restart();
    assert.equal(s.port, port);
    assert.notEqual(s.pid, oldPid);
    assert.equal((await s.sql('SELECT COUNT(*) FROM testdb.t_keep;')).trim(), '2');
  });

  await t.test('stop() ends the process and removes the dir; it is idempotent', async () => {
    const dir = s.datadir;
    const pid = s.pid;
    assert.ok(existsSync(dir));
    await s.stop();
    await s.stop();
    assert.equal(existsSync(dir), false);
    assert.equal(existsSync(s.socket), false);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await assert.rejects(s.restart(), /removed/);
  });
});

test('freePort returns distinct usable ports', async () => {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  for (const p of ports) assert.ok(p > 1024 && p < 65536 && p !== 3306);
});

test('options: users:false and extraArgs reach the server', async () => {
  const s = await startMariaDb({ users: false, extraArgs: ['--max-connections=77'] });
  try {
    assert.equal((await s.sql('SELECT @@max_connections;')).trim(), '77');
    assert.equal((await s.sql("SELECT COUNT(*) FROM mysql.user WHERE user IN ('nat','ed','monitor');")).trim(), '0');
    assert.equal((await s.sql("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'testdb';")).trim(), '1');
    // stop without cleanup keeps the datadir for restart(); a later stop() removes it
    await s.sql('CREATE TABLE testdb.k (id INT); INSERT INTO testdb.k VALUES (7);');
    await s.stop({ cleanup: false });
    assert.ok(existsSync(s.datadir));
    await s.restart();
    assert.equal((await s.sql('SELECT id FROM testdb.k;')).trim(), '7');
  } finally {
    await s.stop();
  }
});

/** One TLS handshake against a throwaway Node server presenting `pair`; resolves 'ok' or the error code. */
async function handshake(pair: CertPair, client: tls.ConnectionOptions, server: tls.TlsOptions = {}): Promise<string> {
  const srv = tls.createServer({ cert: readFileSync(pair.cert), key: readFileSync(pair.key), ...server }, (s) => s.end());
  srv.on('tlsClientError', () => {});
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  try {
    return await new Promise<string>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, ...client }, () => {
        c.end();
        resolve('ok');
      });
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
  } finally {
    srv.close();
  }
}

test('makeCerts: each certificate verifies or fails as intended', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-certs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const c: TestCerts = await makeCerts(dir);
  const ca = readFileSync(c.ca);
  const crl = readFileSync(c.crl);
  assert.equal(await handshake(c.server, { ca, servername: 'localhost' }), 'ok');
  assert.equal(await handshake(c.server, { ca, servername: 'backend.test' }), 'ok');
  assert.equal(await handshake(c.server, { ca }), 'ok'); // IP SAN 127.0.0.1
  assert.equal(await handshake(c.server, { ca, servername: 'other.test' }), 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.equal(await handshake(c.server, { servername: 'localhost' }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.equal(await handshake(c.wrongName, { ca, servername: 'localhost' }), 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.equal(await handshake(c.wrongName, { ca, servername: 'wrong.test' }), 'ok');
  assert.equal(await handshake(c.expired, { ca, servername: 'localhost' }), 'CERT_HAS_EXPIRED');
  assert.equal(await handshake(c.revoked, { ca, servername: 'localhost' }), 'ok'); // no CRL given
  assert.equal(await handshake(c.revoked, { ca, crl, servername: 'localhost' }), 'CERT_REVOKED');
  assert.equal(await handshake(c.server, { ca, crl, servername: 'localhost' }), 'ok');
  // client certificate accepted by a server that requires one from this CA
  const requireClient = { ca, requestCert: true, rejectUnauthorized: true };
  const withClientCert = { ca, servername: 'localhost', cert: readFileSync(c.client.cert), key: readFileSync(c.client.key) };
  assert.equal(await handshake(c.server, withClientCert, requireClient), 'ok');

  await t.test('mariadbd with tls + requireSecureTransport', async () => {
    const s = await startMariaDb({ tls: { cert: c.server.cert, key: c.server.key, ca: c.ca }, requireSecureTransport: true });
    try {
      const conn = await mysql.createConnection({ host: s.host, port: s.port, ...USERS.native, ssl: { ca: ca.toString() } });
      const [rows] = await conn.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
      await conn.end();
      assert.match(String(rows[0]?.['Value']), /^TLSv1\.[23]$/);
      // measured: MariaDB 10.11 refuses a plaintext login under require_secure_transport with 1045, not 3159
      await assert.rejects(
        mysql.createConnection({ host: s.host, port: s.port, ...USERS.native }),
        (e: { errno?: number }) => e.errno === 1045,
      );
    } finally {
      await s.stop();
    }
  });
});
