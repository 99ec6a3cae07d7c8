// caching_sha2_password full authentication across legs of different security (issue 3 item 5), against the
// scripted MySQL-8-style peer of test/harness/caching-sha2-server.ts:
//  - client TLS → Sluice → peer plaintext (the peer does not trust cleartext): the client sends its password
//    in clear inside TLS; Sluice must fetch the peer's RSA key and send it encrypted (`full-auth-rsa-ok`),
//    never the clear password on the plaintext leg (a socket tap checks the bytes);
//  - client plaintext → Sluice → peer over TLS: the client asks for a public key and gets Sluice's; Sluice
//    decrypts and sends the clear password inside the server leg's TLS (`full-auth-cleartext-ok`).
// Both for the reused-scramble path and the forced AuthSwitchRequest path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { makeCerts, type TestCerts } from '../harness/certs.ts';
import { startCachingSha2Server, type CachingSha2Server, type CachingSha2ServerOptions } from '../harness/caching-sha2-server.ts';
import { startTestSluice } from '../harness/sluice.ts';
import { startTap, type Tap } from '../harness/tap.ts';
import type { SluiceHandle } from '../../src/main.ts';

let dir: string;
let certs: TestCerts;
const peers: CachingSha2Server[] = [];
const sluices: SluiceHandle[] = [];
const taps: Tap[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-tls-sha2-'));
  certs = await makeCerts(join(dir, 'pki'));
});
after(async () => {
  for (const s of sluices) await s.stop(500);
  await Promise.all(peers.map((p) => p.stop()));
  await Promise.all(taps.map((t) => t.close()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A tap between Sluice and the peer: every byte Sluice sends upstream is recorded. */
async function tap(port: number): Promise<Tap> {
  const t = await startTap(port);
  taps.push(t);
  return t;
}

async function setup(
  peerOpts: CachingSha2ServerOptions,
  legs: { client: 'preferred' | 'disabled'; server: Record<string, unknown> },
  forceAuthSwitch: boolean,
): Promise<{ peer: CachingSha2Server; port: number; upstream: () => Buffer }> {
  const peer = await startCachingSha2Server(peerOpts);
  peers.push(peer);
  const t = await tap(peer.port);
  const s = await startTestSluice(t.port, {
    forceAuthSwitch,
    config: {
      listeners: [{ name: 'main', address: '127.0.0.1:0', tls: { mode: legs.client, cert: certs.server.cert, key: certs.server.key } }],
      backends: [{ name: 'db1', address: `127.0.0.1:${t.port}`, tls: legs.server }],
    },
  });
  sluices.push(s);
  return { peer, port: s.port, upstream: t.upstream };
}

async function login(port: number, user: string, password: string, ssl: boolean): Promise<{ who: string; clientTls: string | null }> {
  const c = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user,
    password,
    connectTimeout: 5000,
    ...(ssl ? { ssl: { ca: readFileSync(certs.ca, 'utf8'), rejectUnauthorized: true } } : {}),
  });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS who');
    await c.ping();
    const stream = (c as unknown as { connection: { stream: net.Socket | tls.TLSSocket } }).connection.stream;
    return { who: String(rows[0]?.['who']), clientTls: 'getProtocol' in stream ? stream.getProtocol() : null };
  } finally {
    await c.end();
  }
}

const USER = 'sha2user';
const PASSWORD = 'sha2-Secret-password-with-more-than-20-bytes';

for (const mode of ['reuse', 'forced'] as const) {
  const forced = mode === 'forced';

  test(`${mode}: client TLS → Sluice → plaintext peer: Sluice does the RSA exchange, the clear password never goes upstream`, async () => {
    const { peer, port, upstream } = await setup(
      { users: { [USER]: PASSWORD }, trustCleartext: false },
      { client: 'preferred', server: { mode: 'disabled' } },
      forced,
    );
    const r = await login(port, USER, PASSWORD, true);
    assert.deepEqual(r, { who: USER, clientTls: 'TLSv1.3' });
    assert.deepEqual(peer.events, ['full-auth-rsa-ok']);
    assert.deepEqual(peer.tlsVersions, [], 'server leg plaintext');
    const bytes = upstream();
    assert.equal(bytes.indexOf(PASSWORD), -1, 'the clear password crossed the plaintext leg');
    // then the cache is warm: the fast path through the same legs
    assert.equal((await login(port, USER, PASSWORD, true)).who, USER);
    assert.deepEqual(peer.events, ['full-auth-rsa-ok', 'fast-auth-ok']);
    // a wrong password is the peer's own 1045
    await assert.rejects(login(port, 'sha2user', 'wrong-password', true), (e: { errno?: number }) => e.errno === 1045);
  });

  test(`${mode}: client TLS → Sluice → plaintext peer, COM_CHANGE_USER: the fast path works, full authentication is refused without the password going upstream`, async () => {
    const other = { user: 'sha2other', password: 'other-Secret-password-never-upstream' };
    const { peer, port, upstream } = await setup(
      { users: { [USER]: PASSWORD, [other.user]: other.password }, trustCleartext: false },
      { client: 'preferred', server: { mode: 'disabled' } },
      forced,
    );
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: USER, password: PASSWORD, ssl: { ca: readFileSync(certs.ca, 'utf8'), rejectUnauthorized: true } });
    c.on('error', () => {});
    try {
      // USER is in the peer's cache after its login: a change to it takes the fast path through the relay
      await c.changeUser({ user: USER, password: PASSWORD });
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS who');
      assert.equal(rows[0]?.['who'], USER);
      assert.deepEqual(peer.events, ['full-auth-rsa-ok', 'fast-auth-ok']);
      // `other` is not cached: the peer asks for full authentication, where a TLS client sends its password
      // in clear; the server leg is plaintext, so Sluice refuses instead of letting it through
      await assert.rejects(c.changeUser(other), (e: { errno?: number; sqlState?: string; message: string }) => {
        assert.equal(e.errno, 1251);
        assert.equal(e.sqlState, '08004');
        assert.match(e.message, /sluice: .*full authentication/);
        return true;
      });
    } finally {
      c.destroy();
    }
    assert.equal(upstream().indexOf(other.password), -1, 'the clear password crossed the plaintext leg');
    assert.deepEqual(peer.events, ['full-auth-rsa-ok', 'fast-auth-ok'], 'nothing more reached the peer');
  });

  test(`${mode}: client plaintext → Sluice → TLS peer: the client gets Sluice's key, the peer gets the password inside TLS`, async () => {
    const { peer, port, upstream } = await setup(
      { users: { [USER]: PASSWORD }, trustCleartext: false, tls: certs.server },
      { client: 'preferred', server: { mode: 'required', ca: certs.ca } },
      forced,
    );
    const r = await login(port, USER, PASSWORD, false);
    assert.deepEqual(r, { who: USER, clientTls: null });
    assert.deepEqual(peer.events, ['full-auth-cleartext-ok']);
    assert.deepEqual(peer.tlsVersions, ['TLSv1.3']);
    const bytes = upstream();
    assert.equal(bytes.readUIntLE(0, 3), 32, 'the SSLRequest comes first');
    assert.equal(bytes[36], 0x16, 'then only TLS records');
    assert.equal(bytes.indexOf(PASSWORD), -1);
    assert.equal(bytes.indexOf(USER), -1);
    await assert.rejects(login(port, USER, 'wrong-password', false), (e: { errno?: number }) => e.errno === 1045);
  });

  test(`${mode}: TLS on both legs: the client's clear password is relayed inside TLS unchanged`, async () => {
    const { peer, port } = await setup(
      { users: { [USER]: PASSWORD }, trustCleartext: false, tls: certs.server },
      { client: 'preferred', server: { mode: 'required', ca: certs.ca } },
      forced,
    );
    assert.deepEqual(await login(port, USER, PASSWORD, true), { who: USER, clientTls: 'TLSv1.3' });
    assert.deepEqual(peer.events, ['full-auth-cleartext-ok']);
  });
}

test('the scripted peer over TLS directly: mysql2 full auth sends cleartext inside TLS (harness check)', async () => {
  const peer = await startCachingSha2Server({ users: { [USER]: PASSWORD }, tls: certs.server });
  peers.push(peer);
  const c = await mysql.createConnection({
    host: '127.0.0.1', port: peer.port, user: USER, password: PASSWORD,
    ssl: { ca: readFileSync(certs.ca, 'utf8'), rejectUnauthorized: true },
  });
  await c.end();
  assert.deepEqual(peer.events, ['full-auth-cleartext-ok']);
  assert.deepEqual(peer.tlsVersions, ['TLSv1.3']);
});
