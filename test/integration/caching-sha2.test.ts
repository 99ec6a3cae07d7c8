// caching_sha2_password through Sluice (issue 2 item 4), in front of the scripted MySQL-8-style peer of
// test/harness/caching-sha2-server.ts: the fast path, full authentication over a plaintext link with the RSA
// public-key request, and a wrong password (the peer's own 1045, unchanged), for both the reused-scramble
// path (Sluice greets with the backend's scramble) and the forced AuthSwitchRequest path. Each test gets a
// fresh peer and a fresh Sluice, so the forced path also covers a gateway that has learned no greeting yet.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { startCachingSha2Server, type CachingSha2Server, type CachingSha2ServerOptions } from '../harness/caching-sha2-server.ts';
import { startTestSluice } from '../harness/sluice.ts';
import type { SluiceHandle } from '../../src/main.ts';

const peers: CachingSha2Server[] = [];
const sluices: SluiceHandle[] = [];
after(async () => {
  for (const s of sluices) await s.stop(500);
  await Promise.all(peers.map((p) => p.stop()));
});

async function setup(opts: CachingSha2ServerOptions, forceAuthSwitch: boolean): Promise<{ peer: CachingSha2Server; port: number }> {
  const peer = await startCachingSha2Server(opts);
  peers.push(peer);
  const s = await startTestSluice(peer.port, { forceAuthSwitch });
  sluices.push(s);
  return { peer, port: s.port };
}

async function whoAmI(port: number, user: string, password: string): Promise<string> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user, password, connectTimeout: 5000 });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS who');
    await c.ping();
    const [again] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS again');
    assert.equal(again[0]?.['again'], rows[0]?.['who']);
    return String(rows[0]?.['who']);
  } finally {
    await c.end();
  }
}

for (const mode of ['reuse', 'forced'] as const) {
  const forced = mode === 'forced';

  test(`${mode}: fast path (cached user: 01 03, OK) through Sluice`, async () => {
    const { peer, port } = await setup({ users: { alice: 'alicepw' }, cached: true }, forced);
    assert.equal(await whoAmI(port, 'alice', 'alicepw'), 'alice');
    assert.deepEqual(peer.events, ['fast-auth-ok']);
  });

  test(`${mode}: full path over a plaintext link with the RSA public-key request, then the fast path`, async () => {
    const { peer, port } = await setup({ users: { bob: 'bobpw', carol: 'c4r0l-longer-than-twenty-bytes-password' } }, forced);
    assert.equal(await whoAmI(port, 'bob', 'bobpw'), 'bob');
    assert.deepEqual(peer.events, ['full-auth-rsa-ok']);
    assert.equal(await whoAmI(port, 'bob', 'bobpw'), 'bob');
    assert.deepEqual(peer.events, ['full-auth-rsa-ok', 'fast-auth-ok']);
    assert.equal(await whoAmI(port, 'carol', 'c4r0l-longer-than-twenty-bytes-password'), 'carol');
    assert.equal(peer.events.at(-1), 'full-auth-rsa-ok');
  });

  test(`${mode}: a wrong password gets the peer's own 1045 unchanged (cached and uncached users)`, async () => {
    const { peer, port } = await setup({ users: { erin: 'erinpw' }, cached: true }, forced);
    for (const user of ['erin', 'nobody']) {
      await assert.rejects(mysql.createConnection({ host: '127.0.0.1', port, user, password: 'nope', connectTimeout: 5000 }), (e: { errno?: number; sqlState?: string; message: string }) => {
        assert.equal(e.errno, 1045);
        assert.equal(e.sqlState, '28000');
        assert.equal(e.message, `Access denied for user '${user}'@'127.0.0.1' (using password: YES)`);
        return true;
      });
    }
    assert.deepEqual(peer.events, ['auth-failed', 'auth-failed']);
    // and the right password still works afterwards
    assert.equal(await whoAmI(port, 'erin', 'erinpw'), 'erin');
  });
}
