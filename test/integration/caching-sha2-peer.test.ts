// Proves the scripted caching_sha2_password peer (test/harness/caching-sha2-server.ts) right by
// connecting mysql2 (which implements the client side, incl. the RSA public-key request) straight
// to it: fast path, full auth over plaintext with the key request, cache fill, wrong password.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import mysql from 'mysql2/promise';
import { startCachingSha2Server, type CachingSha2Server } from '../harness/caching-sha2-server.ts';
import { Capability, encodeHandshakeResponse41 } from '../../src/protocol/index.ts';

/** HandshakeResponse41 the way the gateway sends it upstream: plugin `proxy_force_switch`, empty auth data. */
function forcedSwitchResponse(user: string): Buffer {
  const caps =
    Capability.LONG_PASSWORD | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.TRANSACTIONS |
    Capability.PLUGIN_AUTH | Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA | Capability.CONNECT_WITH_DB;
  return encodeHandshakeResponse41({
    capabilities: caps, maxPacketSize: 1 << 24, charset: 45, mariadbCapabilities: 0, user,
    authResponse: Buffer.alloc(0), database: 'testdb', authPluginName: 'proxy_force_switch', connectAttributes: null,
  });
}

const peers: CachingSha2Server[] = [];
after(async () => {
  await Promise.all(peers.map((p) => p.stop()));
});

async function peer(opts: Parameters<typeof startCachingSha2Server>[0]): Promise<CachingSha2Server> {
  const p = await startCachingSha2Server(opts);
  peers.push(p);
  return p;
}

async function whoAmI(p: CachingSha2Server, user: string, password: string): Promise<string> {
  const c = await mysql.createConnection({ host: p.host, port: p.port, user, password });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS who');
    await c.ping();
    return String(rows[0]?.['who']);
  } finally {
    await c.end();
  }
}

test('fast path: a cached user gets 01 03 then OK', async () => {
  const p = await peer({ users: { alice: 'alicepw' }, cached: true });
  assert.equal(await whoAmI(p, 'alice', 'alicepw'), 'alice');
  assert.deepEqual(p.events, ['fast-auth-ok']);
});

test('full path over plaintext: 01 04, public key request, RSA-OAEP password; then the cache serves the fast path', async () => {
  const p = await peer({ users: { bob: 'bobpw', carol: 'c4r0l-longer-than-twenty-bytes-password' } });
  assert.equal(await whoAmI(p, 'bob', 'bobpw'), 'bob');
  assert.deepEqual(p.events, ['full-auth-rsa-ok']);
  assert.equal(await whoAmI(p, 'bob', 'bobpw'), 'bob');
  assert.deepEqual(p.events, ['full-auth-rsa-ok', 'fast-auth-ok']);
  // a password longer than the 20-byte nonce exercises the repeated XOR
  assert.equal(await whoAmI(p, 'carol', 'c4r0l-longer-than-twenty-bytes-password'), 'carol');
  assert.deepEqual(p.events.at(-1), 'full-auth-rsa-ok');
  assert.match(p.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
});

test('greeting advertising mysql_native_password still ends in the caching_sha2 switch', async () => {
  const p = await peer({ users: { dave: 'davepw' }, defaultPlugin: 'mysql_native_password', cached: true });
  assert.equal(await whoAmI(p, 'dave', 'davepw'), 'dave');
  assert.deepEqual(p.events, ['fast-auth-ok']);
});

test('wrong password: ERR 1045 28000 Access denied (fast path miss, then full auth)', async () => {
  const p = await peer({ users: { erin: 'erinpw' }, cached: true });
  await assert.rejects(
    mysql.createConnection({ host: p.host, port: p.port, user: 'erin', password: 'nope' }),
    (e: { errno?: number; sqlState?: string; message: string }) =>
      e.errno === 1045 && e.sqlState === '28000' && /^Access denied for user 'erin'@'127\.0\.0\.1' \(using password: YES\)$/.test(e.message),
  );
  await assert.rejects(
    mysql.createConnection({ host: p.host, port: p.port, user: 'nobody', password: 'x' }),
    (e: { errno?: number }) => e.errno === 1045,
  );
  assert.deepEqual(p.events, ['auth-failed', 'auth-failed']);
});

/** Raw client: reads one packet at a time (header + payload) from a socket. */
function rawConn(port: number): { next(): Promise<{ seq: number; payload: Buffer }>; write(payload: Buffer, seq: number): void; close(): void } {
  const s = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let waiter: (() => void) | null = null;
  s.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    waiter?.();
  });
  return {
    async next() {
      for (;;) {
        if (buf.length >= 4) {
          const len = buf.readUIntLE(0, 3);
          if (buf.length >= 4 + len) {
            const pkt = { seq: buf[3] as number, payload: Buffer.from(buf.subarray(4, 4 + len)) };
            buf = buf.subarray(4 + len);
            return pkt;
          }
        }
        await new Promise<void>((r) => (waiter = r));
      }
    },
    write(payload, seq) {
      const h = Buffer.alloc(4);
      h.writeUIntLE(payload.length, 0, 3);
      h[3] = seq;
      s.write(Buffer.concat([h, payload]));
    },
    close() {
      s.destroy();
    },
  };
}

test('bytes: forced switch with a fresh nonce, then 01 04 and cleartext when the link is trusted', async () => {
  const p = await peer({ users: { gw: 'gwpw' }, trustCleartext: true });
  const c = rawConn(p.port);
  try {
    const greet = await c.next();
    assert.equal(greet.seq, 0);
    assert.equal(greet.payload[0], 10);
    assert.equal(greet.payload.toString('latin1', 1, greet.payload.indexOf(0, 1)), '8.0.36-sluice-test');
    c.write(forcedSwitchResponse('gw'), 1);
    const sw = await c.next();
    assert.equal(sw.seq, 2);
    assert.equal(sw.payload[0], 0xfe);
    const name = 'caching_sha2_password\0';
    assert.equal(sw.payload.toString('latin1', 1, 1 + name.length), name);
    const switchData = sw.payload.subarray(1 + name.length);
    assert.equal(switchData.length, 21);
    assert.equal(switchData[20], 0);
    // not cached → full authentication requested
    c.write(Buffer.alloc(32, 7), 3);
    const more = await c.next();
    assert.deepEqual([more.seq, ...more.payload], [4, 0x01, 0x04]);
    c.write(Buffer.from('gwpw\0'), 5);
    const okp = await c.next();
    assert.equal(okp.seq, 6);
    assert.equal(okp.payload[0], 0x00);
    assert.deepEqual(p.events, ['full-auth-cleartext-ok']);
    // command phase: COM_PING → OK at seq 1
    c.write(Buffer.from([0x0e]), 0);
    const pong = await c.next();
    assert.deepEqual([pong.seq, pong.payload[0]], [1, 0x00]);
  } finally {
    c.close();
  }
});

test('cleartext on an untrusted (plaintext) link is refused like a real server', async () => {
  const p = await peer({ users: { gw: 'gwpw' } });
  const c = rawConn(p.port);
  try {
    await c.next();
    c.write(forcedSwitchResponse('gw'), 1);
    assert.equal((await c.next()).payload[0], 0xfe);
    c.write(Buffer.alloc(32, 7), 3);
    await c.next();
    c.write(Buffer.from('gwpw\0'), 5);
    const err = await c.next();
    assert.equal(err.payload[0], 0xff);
    assert.equal(err.payload.readUInt16LE(1), 1045);
    assert.deepEqual(p.events, ['auth-failed']);
  } finally {
    c.close();
  }
});
