// Bad input and failures (issue 2 item 7, DESIGN §5.6) against a real Sluice, with raw sockets: each case
// asserts its outcome (the ERR's code and SQLSTATE read from the bytes, or a clean close, always on a
// deadline), while 20 mysql2 connections run queries in a loop; the last test proves that the process and
// every other connection survived all of it and that no session leaked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import mysqlCb from 'mysql2';
import { createServer, type AddressInfo } from 'node:net';
import { startMariaDb, freePort, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';
import { RawClient, handshakeResponse, nativeScramble } from '../harness/raw-client.ts';
import { startTap } from '../harness/tap.ts';
import { Capability, encodeSSLRequest } from '../../src/protocol/index.ts';
import type { SluiceHandle } from '../../src/main.ts';

type Sluice = SluiceHandle & { port: number };
const { user, password } = USERS.native;
const MAX_PACKET = 1024 * 1024;

let db: MariaDbServer;
let sluice: Sluice;
const extra: Sluice[] = [];
const extraDbs: MariaDbServer[] = [];

// background load: 20 connections querying in a loop for the whole file
const LOAD = 20;
let loadConns: mysql.Connection[] = [];
let loadStop = false;
let loadDone: Promise<void> = Promise.resolve();
const loadErrors: unknown[] = [];
let loadQueries = 0;

async function another(backendPort: number, config: Record<string, unknown> = {}): Promise<Sluice> {
  const s = await startTestSluice(backendPort, { config });
  extra.push(s);
  return s;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
    }),
  ]);
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  db = await startMariaDb();
  sluice = await startTestSluice(db.port, { config: { limits: { max_packet: '1MiB', handshake_timeout: '20s' } } });
  loadConns = await Promise.all(
    Array.from({ length: LOAD }, () => mysql.createConnection({ host: '127.0.0.1', port: sluice.port, user, password, database: 'testdb' })),
  );
  loadDone = Promise.all(
    loadConns.map(async (c, i) => {
      let n = 0;
      while (!loadStop) {
        try {
          const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT ? AS i, ? AS n, REPEAT(?, 200) AS pad', [i, n, 'x']);
          assert.equal(rows[0]?.['i'], i);
          assert.equal(rows[0]?.['n'], n);
          n++;
          loadQueries++;
        } catch (e) {
          loadErrors.push(e);
          return;
        }
      }
    }),
  ).then(() => undefined);
});

after(async () => {
  loadStop = true;
  await loadDone;
  await Promise.all(loadConns.map((c) => c.end().catch(() => {})));
  for (const s of extra) await s.stop(500);
  await sluice?.stop(1000);
  for (const d of extraDbs) await d.stop();
  await db?.stop();
});

test('garbage bytes sent before the greeting is read → ERR 1043 08S01 and close', async () => {
  const c = await RawClient.open(sluice.port);
  // a well-framed packet of junk, written at once (before Sluice's greeting arrives)
  c.write(Buffer.concat([Buffer.from([12, 0, 0, 1]), Buffer.from('\x00\x01\x02junk!junk!')]));
  await c.greeting();
  const err = await c.expectErr();
  assert.equal(err.code, 1043);
  assert.equal(err.sqlState, '08S01');
  assert.match(err.message, /^Bad handshake/);
  await c.expectClose();
});

test('an HTTP request instead of the HandshakeResponse41 → ERR (its header announces a 5 MB packet: 1153) and close', async () => {
  const c = await RawClient.open(sluice.port);
  await c.greeting();
  c.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const err = await c.expectErr();
  // "GET " read as a header announces 0x544547 bytes, more than limits.max_packet (1 MiB)
  assert.equal(err.code, 1153);
  assert.equal(err.sqlState, '08S01');
  await c.expectClose();
});

test('short garbage in place of the HandshakeResponse41 → ERR 1043 08S01 and close', async () => {
  const c = await RawClient.open(sluice.port);
  await c.greeting();
  c.send(Buffer.from([0x01, 0x02, 0x03]), 1);
  const err = await c.expectErr();
  assert.equal(err.code, 1043);
  assert.equal(err.sqlState, '08S01');
  assert.equal(err.seq, 2);
  await c.expectClose();
});

test('a truncated HandshakeResponse41 (well framed, cut payload) → ERR 1043 08S01 and close', async () => {
  const c = await RawClient.open(sluice.port);
  const g = await c.greeting();
  const full = handshakeResponse(user, nativeScramble(password, g.scramble), { database: 'testdb' });
  c.send(full.subarray(0, 40), 1); // caps, max packet, charset, filler, then 8 bytes of an unterminated user name
  const err = await c.expectErr();
  assert.equal(err.code, 1043);
  assert.equal(err.sqlState, '08S01');
  assert.match(err.message, /HandshakeResponse41/);
  await c.expectClose();
});

test('a header announcing more than limits.max_packet during the handshake → ERR 1153 08S01 and close', async () => {
  const c = await RawClient.open(sluice.port);
  await c.greeting();
  const n = MAX_PACKET + 1;
  c.write(Buffer.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, 1, 0x85, 0xa6]));
  const err = await c.expectErr();
  assert.equal(err.code, 1153);
  assert.equal(err.sqlState, '08S01');
  assert.match(err.message, /^Got a packet bigger than/);
  await c.expectClose();
});

test('a header announcing more than limits.max_packet in the command phase → ERR 1153 08S01 and close', async () => {
  const c = await RawClient.open(sluice.port);
  await c.login(user, password, 'testdb');
  // a normal query works first
  c.send(Buffer.from('\x03SELECT 1', 'latin1'), 0);
  const frames: number[] = [];
  for (;;) {
    const f = await c.next();
    assert.ok(f !== null, 'closed during SELECT 1');
    frames.push(f.payload()[0]!);
    if (frames.length === 5) break; // column count, column def, EOF, row, EOF
  }
  const n = 2 * MAX_PACKET;
  c.write(Buffer.concat([Buffer.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, 0]), Buffer.from('\x03SELECT ')]));
  const err = await c.expectErr();
  assert.equal(err.code, 1153);
  assert.equal(err.sqlState, '08S01');
  assert.equal(err.seq, 1);
  await c.expectClose();
});

test('a client that says nothing → ERR 1158 08S01 after limits.handshake_timeout, then close', async () => {
  const s = await another(db.port, { limits: { handshake_timeout: '300ms' } });
  const c = await RawClient.open(s.port);
  await c.greeting();
  const err = await c.expectErr(3000);
  assert.equal(err.code, 1158);
  assert.equal(err.sqlState, '08S01');
  assert.match(err.message, /handshake not completed within 300 ms/);
  await c.expectClose();
  await waitFor(() => s.gateway.openConnections === 0, 2000, 'session released');
});

test('limits.max_connections: 3 → the 4th client gets ERR 1040 08004 in place of the greeting', async () => {
  const s = await another(db.port, { limits: { max_connections: 3 } });
  const three = await Promise.all([0, 1, 2].map(() => RawClient.open(s.port)));
  for (const c of three) await c.greeting();
  const fourth = await RawClient.open(s.port);
  const err = await fourth.expectErr();
  assert.equal(err.code, 1040);
  assert.equal(err.sqlState, '08004');
  assert.equal(err.seq, 0);
  assert.match(err.message, /^Too many connections/);
  await fourth.expectClose();
  // a slot freed is a slot usable again
  three[0]!.destroy();
  await waitFor(() => s.gateway.openConnections === 2, 2000, 'slot freed');
  const again = await RawClient.open(s.port);
  await again.login(user, password);
  again.destroy();
  for (const c of three) c.destroy();
});

test('backend down at connect time → ERR 1429 HY000 naming the route', async () => {
  const s = await another(await freePort());
  const c = await RawClient.open(s.port);
  // the pre-greeting connect failed, so Sluice greets on its own (another backend could still serve the
  // client) and answers the client's response with the route's verdict, before any credential goes anywhere
  const g = await c.greeting();
  c.send(handshakeResponse(user, Buffer.alloc(20), { database: null }), 1);
  assert.equal(g.protocolVersion, 10);
  const err = await c.expectErr();
  assert.equal(err.code, 1429);
  assert.equal(err.sqlState, 'HY000');
  assert.match(err.message, /^Unable to connect to foreign data source:.*\(sluice: route default\)/);
  await c.expectClose();
  // and mysql2 reports the same error
  await assert.rejects(mysql.createConnection({ host: '127.0.0.1', port: s.port, user, password }), (e: { errno?: number; message: string }) => {
    assert.equal(e.errno, 1429);
    assert.match(e.message, /sluice: route default/);
    return true;
  });
});

test('backend down at connect time, forced auth switch path → ERR 1429 after the client response', async () => {
  const s = await startTestSluice(await freePort(), { forceAuthSwitch: true });
  extra.push(s);
  await assert.rejects(
    withTimeout(mysql.createConnection({ host: '127.0.0.1', port: s.port, user, password }), 5000, 'connect'),
    (e: { errno?: number; sqlState?: string; message: string }) => {
      assert.equal(e.errno, 1429);
      assert.equal(e.sqlState, 'HY000');
      assert.match(e.message, /sluice: route default/);
      return true;
    },
  );
});

test('a backend that accepts but never greets → ERR 1158 08S01 after limits.handshake_timeout, never a hang', async () => {
  const silent = createServer((sock) => sock.on('error', () => {}));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const s = await another((silent.address() as AddressInfo).port, { limits: { handshake_timeout: '300ms' } });
    const c = await RawClient.open(s.port);
    const err = await c.expectErr(3000);
    assert.equal(err.code, 1158);
    assert.equal(err.sqlState, '08S01');
    await c.expectClose();
    await waitFor(() => s.gateway.openConnections === 0, 2000, 'session released');
  } finally {
    silent.close();
  }
});

for (const forceAuthSwitch of [false, true]) {
  test(`a backend that closes during authentication → ERR 1158 08S01 saying so, then close (${forceAuthSwitch ? 'forced auth switch' : 'greeting reused'})`, async () => {
    // relays to the real server, but cuts the connection when the HandshakeResponse41 arrives
    const cutter = await startTap(db.port, { onUp: (c) => c.cut() });
    try {
      const s = await startTestSluice(cutter.port, { forceAuthSwitch });
      extra.push(s);
      await assert.rejects(
        withTimeout(mysql.createConnection({ host: '127.0.0.1', port: s.port, user, password }), 5000, 'connect'),
        (e: { errno?: number; sqlState?: string; message: string }) => {
          assert.equal(e.errno, 1158);
          assert.equal(e.sqlState, '08S01');
          assert.match(e.message, /backend connection lost: db1 closed the connection during the handshake/);
          return true;
        },
      );
      // the ERR carries the sequence id that follows the client's HandshakeResponse41 (libmariadb checks it)
      const c = await RawClient.open(s.port);
      const g = await c.greeting();
      c.send(handshakeResponse(user, nativeScramble(password, g.scramble)), 1);
      const err = await c.expectErr();
      assert.equal(err.code, 1158);
      assert.equal(err.seq, 2);
      await c.expectClose();
      await waitFor(() => s.gateway.openConnections === 0, 2000, 'sessions released');
    } finally {
      await cutter.close();
    }
  });
}

test('the backend lost before the first packet of a response → ERR 1158 numbered 1, whatever the previous response ended at', async () => {
  // a tap in front of the server, whose connections the test can cut; a long health interval keeps probes
  // to the first one, so the newest connection is the session's
  const relay = await startTap(db.port);
  try {
    const s = await another(relay.port, { health_check: { interval: '60s', timeout: '2s' } });
    const c = await RawClient.open(s.port);
    await c.login(user, password);
    const session = relay.connections.at(-1)!;
    // a result set of 7 packets (no DEPRECATE_EOF): column count, 3 definitions, EOF, row, EOF
    c.send(Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT 1, 2, 3')]), 0);
    for (let seq = 1; seq <= 7; seq++) assert.equal((await c.next())?.seq, seq);
    const sent = session.up.length;
    c.send(Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT SLEEP(20)')]), 0);
    await waitFor(() => session.up.length > sent, 3000, 'the statement forwarded');
    session.cut();
    const err = await c.expectErr();
    assert.equal(err.code, 1158);
    assert.equal(err.seq, 1, 'the first packet of the response to a command numbered 0');
    await c.expectClose();
  } finally {
    await relay.close();
  }
});

test('the backend killed during a statement → the client gets ERR 1158 08S01, never a hang', async () => {
  const d = await startMariaDb();
  extraDbs.push(d);
  const s = await another(d.port);
  const c = await mysql.createConnection({ host: '127.0.0.1', port: s.port, user, password });
  c.on('error', () => {});
  const q = c.query('SELECT SLEEP(20)');
  await new Promise((r) => setTimeout(r, 300));
  d.kill();
  await assert.rejects(withTimeout(q, 5000, 'query'), (e: { errno?: number; sqlState?: string; message: string }) => {
    assert.equal(e.errno, 1158);
    assert.equal(e.sqlState, '08S01');
    assert.match(e.message, /backend connection lost/);
    return true;
  });
  await waitFor(() => s.gateway.openConnections === 0, 2000, 'session released');
  await d.restart();
});

test('the backend killed mid-result (rows streaming) → the client gets an ERR or a clean close, never a hang', async () => {
  const d = extraDbs[0]!;
  const s = await another(d.port);
  const c = mysqlCb.createConnection({ host: '127.0.0.1', port: s.port, user, password });
  c.on('error', () => {});
  let rows = 0;
  const outcome = new Promise<string>((resolve) => {
    const q = c.query("SELECT seq, REPEAT('x', 2000) AS pad FROM seq_1_to_2000000");
    q.on('result', () => {
      rows++;
      if (rows === 1) {
        c.pause();
        d.kill();
        setTimeout(() => c.resume(), 200);
      }
    });
    q.on('error', (e: Error) => resolve(`error: ${e.message}`));
    q.on('end', () => resolve('end'));
  });
  const r = await withTimeout(outcome, 10_000, 'streamed query');
  assert.match(r, /^error: /, `the client must see the failure, got ${r} after ${rows} rows`);
  assert.ok(rows < 2_000_000);
  c.destroy();
  await waitFor(() => s.gateway.openConnections === 0, 2000, 'session released');
});

test('a client vanishing mid-handshake (half a packet, then gone) leaves no session behind', async () => {
  const before = sluice.gateway.openConnections;
  const c1 = await RawClient.open(sluice.port);
  const g = await c1.greeting();
  const hr = handshakeResponse(user, nativeScramble(password, g.scramble));
  const framed = Buffer.concat([Buffer.from([hr.length & 0xff, (hr.length >> 8) & 0xff, hr.length >> 16, 1]), hr]);
  c1.write(framed.subarray(0, 20));
  await new Promise((r) => setTimeout(r, 50));
  c1.destroy();
  // a second one sends the whole response and leaves while the auth relay runs
  const c2 = await RawClient.open(sluice.port);
  const g2 = await c2.greeting();
  c2.send(handshakeResponse(user, nativeScramble(password, g2.scramble)), 1);
  c2.destroy();
  // a third half-closes without a word
  const c3 = await RawClient.open(sluice.port);
  await c3.greeting();
  c3.socket.end();
  await c3.expectClose();
  await waitFor(() => sluice.gateway.openConnections === before, 3000, 'sessions of vanished clients released');
});

test('a client gone while its backend is dialled (forced auth switch path) is noticed at once, not at the handshake timeout', async () => {
  const s = await startTestSluice(db.port, { forceAuthSwitch: true, config: { limits: { handshake_timeout: '60s' } } });
  extra.push(s);
  const c = await RawClient.open(s.port);
  const g = await c.greeting();
  // the backend is dialled only now (no route is known before the client's answer on this path), and the
  // client's close arrives while that runs: before the auth relay listens to the client leg
  c.send(handshakeResponse(user, nativeScramble(password, g.scramble)), 1);
  c.destroy();
  await waitFor(() => s.gateway.openConnections === 0, 5000, 'the session of the vanished client released');
});

test('the connection dialled before the greeting, closed by the server before the client answered, is dialled again', async () => {
  const c = await RawClient.open(sluice.port);
  try {
    // the route is known up front: the greeting is the backend's own (its connection id and scramble)
    const g = await c.greeting();
    await db.sql(`KILL ${g.connectionId}`);
    for (let i = 0; Number(await db.sql(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ${g.connectionId}`)) > 0; i++) {
      assert.ok(i < 100, 'the killed connection is gone');
      await new Promise((r) => setTimeout(r, 20));
    }
    await withTimeout(c.authenticate(user, password, g.scramble, 'testdb'), 5000, 'login on a fresh backend connection');
    const mine = sluice.gateway.sessions().find((s) => s.clientAddress === `127.0.0.1:${c.socket.localPort}`);
    assert.equal(mine?.state, 'idle', 'the session reached the command phase');
  } finally {
    c.destroy();
  }
});

test('an SSLRequest to a listener without TLS → ERR 1043 08S01 saying TLS is not enabled, then close', async () => {
  const c = await RawClient.open(sluice.port);
  const g = await c.greeting();
  assert.equal(g.capabilities & Capability.SSL, 0, 'a listener without TLS must not advertise CLIENT_SSL');
  c.send(encodeSSLRequest({ capabilities: Capability.PROTOCOL_41 | Capability.SSL | Capability.SECURE_CONNECTION, maxPacketSize: 1 << 24, charset: 45, mariadbCapabilities: 0 }), 1);
  const err = await c.expectErr();
  assert.equal(err.code, 1043);
  assert.equal(err.sqlState, '08S01');
  assert.equal(err.seq, 2);
  assert.match(err.message, /TLS was requested but is not enabled/);
  await c.expectClose();
});

test('after all of it: the load never failed, a new login works, and no session leaked', async () => {
  loadStop = true;
  await withTimeout(loadDone, 10_000, 'load loop');
  assert.deepEqual(loadErrors.map(String), []);
  assert.ok(loadQueries >= LOAD, `only ${loadQueries} load queries ran`);
  const c = await mysql.createConnection({ host: '127.0.0.1', port: sluice.port, user, password, database: 'testdb' });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u, DATABASE() AS d, 6*7 AS x');
    assert.match(String(rows[0]?.['u']), /^nat@/);
    assert.equal(rows[0]?.['d'], 'testdb');
    assert.equal(rows[0]?.['x'], 42);
  } finally {
    await c.end();
  }
  await Promise.all(loadConns.map((c) => c.end()));
  loadConns = [];
  await waitFor(() => sluice.gateway.openConnections === 0, 3000, 'all sessions closed');
});
