// Both TLS legs over real loopback sockets (no MariaDB): the client leg as a TLS server wrapped
// around accepted sockets, the backend leg as a TLS client wrapped around dialled sockets, against
// each other and against plain tls.createServer / tls.connect peers, with the test PKI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import type { BackendTlsConfig, ClientTlsConfig } from '../../src/config/types.ts';
import { UpstreamTlsError } from '../../src/errors.ts';
import { buildBackendLegTls, describeTlsError } from '../../src/tls/backend-leg.ts';
import { buildClientLegTls, generateSelfSigned } from '../../src/tls/client-leg.ts';
import type { ClientLegTls, ClientLegUpgrade } from '../../src/tls/client-leg.ts';
import { compileNameGlob } from '../../src/tls/server-name.ts';
import { makeCerts } from '../harness/certs.ts';
import type { TestCerts } from '../harness/certs.ts';

let certs: TestCerts;
let dir: string;
const silent = pino({ level: 'silent' });
const closers: (() => void)[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  certs = await makeCerts(join(dir, 'pki'));
});
after(() => {
  for (const c of closers.splice(0)) c();
  rmSync(dir, { recursive: true, force: true });
});

function writeTmp(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function clientCfg(over: Partial<ClientTlsConfig> = {}): ClientTlsConfig {
  return { mode: 'preferred', cert: certs.server.cert, key: certs.server.key, sni: [], min_version: 'TLSv1.2', ...over };
}

type Outcome = { ok: true; u: ClientLegUpgrade } | { ok: false; err: Error };

/** A plain TCP listener whose accepted sockets go straight to leg.upgrade(); upgraded sockets echo. */
async function legServer(leg: ClientLegTls, timeoutMs = 5000): Promise<{ port: number; next(): Promise<Outcome> }> {
  const outcomes: Outcome[] = [];
  const waiters: ((o: Outcome) => void)[] = [];
  const push = (o: Outcome): void => {
    const w = waiters.shift();
    if (w) w(o);
    else outcomes.push(o);
  };
  const server = net.createServer((raw) => {
    leg.upgrade(raw, timeoutMs).then(
      (u) => {
        u.socket.on('error', () => undefined);
        u.socket.pipe(u.socket);
        push({ ok: true, u });
      },
      (err: Error) => push({ ok: false, err }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    next: () => new Promise<Outcome>((r) => {
      const o = outcomes.shift();
      if (o) r(o);
      else waiters.push(r);
    }),
  };
}

/** tls.connect to 127.0.0.1:port; resolves with the socket after the handshake, or rejects. */
function dial(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
    closers.push(() => s.destroy());
  });
}

function echo(s: tls.TLSSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (d: Buffer) => resolve(d.toString()));
    s.once('error', reject);
    s.write(text);
  });
}

function cnOf(s: tls.TLSSocket): string {
  return String(s.getPeerCertificate().subject.CN);
}

describe('client leg (Sluice as TLS server)', () => {
  test('serves the configured certificate and reports version, cipher and no SNI for an IP', async () => {
    const srv = await legServer(buildClientLegTls(clientCfg(), silent));
    const c = await dial(srv.port, { ca: [await readText(certs.ca)], rejectUnauthorized: true });
    const o = await srv.next();
    assert.ok(o.ok);
    assert.equal(o.u.version, 'TLSv1.3');
    assert.match(o.u.cipher, /^TLS_/);
    assert.equal(o.u.sni, null);
    assert.equal(o.u.peerCertificate, null);
    assert.equal(cnOf(c), 'localhost');
    assert.equal(await echo(c, 'ping'), 'ping');
  });

  test('SNI picks the certificate per name glob and falls back to the default', async () => {
    const orders = generateSelfSigned(['orders.example.com']);
    const billing = generateSelfSigned(['*.billing.example.com']);
    const leg = buildClientLegTls(clientCfg({
      sni: [
        { names: ['orders.example.com', 'orders.internal'], cert: writeTmp('orders.pem', orders.cert), key: writeTmp('orders.key', orders.key) },
        { names: ['*.billing.example.com'], cert: writeTmp('billing.pem', billing.cert), key: writeTmp('billing.key', billing.key) },
      ],
    }), silent);
    const srv = await legServer(leg);
    const cases: [string, string, string][] = [
      ['orders.example.com', orders.fingerprint256, 'DNS:orders.example.com'],
      ['ORDERS.internal', orders.fingerprint256, 'DNS:orders.example.com'],
      ['eu.billing.example.com', billing.fingerprint256, 'DNS:*.billing.example.com'],
    ];
    for (const [name, fp, san] of cases) {
      const c = await dial(srv.port, { servername: name });
      const peer = c.getPeerCertificate();
      assert.equal(peer.fingerprint256, fp, name);
      assert.equal(peer.subjectaltname, san, name);
      const o = await srv.next();
      assert.ok(o.ok);
      assert.equal(o.u.sni, name.toLowerCase());
      c.destroy();
    }
    for (const name of ['other.example.com', 'a.b.billing.example.com', 'billing.example.com']) {
      const c = await dial(srv.port, { servername: name });
      assert.equal(cnOf(c), 'localhost', name);
      assert.match(c.getPeerCertificate().subjectaltname ?? '', /DNS:backend\.test/);
      const o = await srv.next();
      assert.ok(o.ok);
      assert.equal(o.u.sni, name);
      c.destroy();
    }
  });

  test('generated self-signed certificate: fingerprint logged and seen by the client', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const leg = buildClientLegTls(clientCfg({ cert: undefined, key: undefined }), log);
    assert.match(leg.fingerprint256 ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(lines.some((l) => l.includes(leg.fingerprint256 ?? 'x') && JSON.parse(l).level === 30), 'fingerprint logged at info');
    const srv = await legServer(leg);
    const c = await dial(srv.port);
    const peer = c.getPeerCertificate();
    assert.equal(peer.fingerprint256, leg.fingerprint256);
    assert.equal(peer.subject.CN, 'sluice');
    assert.equal(peer.subjectaltname, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok((await srv.next()).ok);
  });

  test('a generated certificate works as its own trust anchor (--ssl-ca) with hostname checks', async () => {
    const g = generateSelfSigned();
    const x = new X509Certificate(g.cert);
    assert.equal(x.fingerprint256, g.fingerprint256);
    assert.ok(Date.parse(x.validTo) - Date.parse(x.validFrom) >= 364 * 24 * 3600 * 1000);
    const leg = buildClientLegTls(clientCfg({ cert: writeTmp('gen.pem', g.cert), key: writeTmp('gen.key', g.key) }), silent);
    assert.equal(leg.fingerprint256, null);
    const srv = await legServer(leg);
    const c = await dial(srv.port, { ca: [g.cert], rejectUnauthorized: true, servername: 'localhost' });
    assert.ok(c.authorized);
    assert.ok((await srv.next()).ok);
    const c2 = await dial(srv.port, { ca: [g.cert], rejectUnauthorized: true }); // identity 127.0.0.1 via IP SAN
    assert.ok(c2.authorized);
    assert.ok((await srv.next()).ok);
  });

  test('client_ca: no certificate is rejected, the test client certificate is accepted with its CN', async () => {
    const leg = buildClientLegTls(clientCfg({ client_ca: certs.ca }), silent);
    const srv = await legServer(leg);
    // TLS 1.3: the client finishes before the server checks its (absent) certificate; it then sees an alert or a close.
    const bare = dial(srv.port).then((s) => new Promise<void>((r) => { s.on('error', () => r()); s.on('close', () => r()); }), () => undefined);
    const o1 = await srv.next();
    assert.equal(o1.ok, false);
    assert.ok(!o1.ok && /certificate/i.test(o1.err.message), !o1.ok ? o1.err.message : '');
    await bare;

    const c = await dial(srv.port, { cert: await readText(certs.client.cert), key: await readText(certs.client.key) });
    const o2 = await srv.next();
    assert.ok(o2.ok);
    assert.equal(o2.u.peerCertificate, 'sluice-client');
    assert.equal(await echo(c, 'with cert'), 'with cert');
  });

  test('client_ca: a certificate from another CA is rejected', async () => {
    const leg = buildClientLegTls(clientCfg({ client_ca: certs.ca }), silent);
    const srv = await legServer(leg);
    const other = generateSelfSigned(['intruder']);
    void dial(srv.port, { cert: other.cert, key: other.key }).catch(() => undefined);
    const o = await srv.next();
    assert.equal(o.ok, false);
    assert.ok(!o.ok && o.err.message.includes('client certificate rejected'), !o.ok ? o.err.message : '');
  });

  test('min_version TLSv1.3 rejects a TLSv1.2-only client', async () => {
    const srv = await legServer(buildClientLegTls(clientCfg({ min_version: 'TLSv1.3' }), silent));
    await assert.rejects(dial(srv.port, { maxVersion: 'TLSv1.2' }));
    const o = await srv.next();
    assert.equal(o.ok, false);
    assert.ok(!o.ok && o.err.message.includes('no common TLS version'), !o.ok ? o.err.message : '');
    await dial(srv.port); // 1.3 still fine
    const ok = await srv.next();
    assert.ok(ok.ok && ok.u.version === 'TLSv1.3');
  });

  test('TLSv1.2 clients are accepted by default', async () => {
    const srv = await legServer(buildClientLegTls(clientCfg(), silent));
    const c = await dial(srv.port, { maxVersion: 'TLSv1.2' });
    const o = await srv.next();
    assert.ok(o.ok);
    assert.equal(o.u.version, 'TLSv1.2');
    assert.equal(c.getProtocol(), 'TLSv1.2');
  });

  test('a client that never sends a ClientHello times out clearly', async () => {
    const srv = await legServer(buildClientLegTls(clientCfg(), silent), 150);
    const raw = net.connect(srv.port, '127.0.0.1');
    raw.on('error', () => undefined);
    closers.push(() => raw.destroy());
    const o = await srv.next();
    assert.equal(o.ok, false);
    assert.ok(!o.ok && o.err.message.includes('within 150 ms'), !o.ok ? o.err.message : '');
  });

  test('reload: new connections get the new certificate, an existing one stays up; a bad reload keeps the old', async () => {
    const certPath = join(dir, 'reload.pem');
    const keyPath = join(dir, 'reload.key');
    copyFileSync(certs.server.cert, certPath);
    copyFileSync(certs.server.key, keyPath);
    const leg = buildClientLegTls(clientCfg({ cert: certPath, key: keyPath }), silent);
    const srv = await legServer(leg);
    const first = await dial(srv.port);
    assert.ok((await srv.next()).ok);
    assert.equal(cnOf(first), 'localhost');

    copyFileSync(certs.wrongName.cert, certPath);
    copyFileSync(certs.wrongName.key, keyPath);
    leg.reload();
    const second = await dial(srv.port);
    assert.ok((await srv.next()).ok);
    assert.equal(cnOf(second), 'wrong.test');
    assert.equal(await echo(first, 'still here'), 'still here');

    copyFileSync(certs.client.key, keyPath); // mismatched now
    assert.throws(() => leg.reload(), (e: Error) => e.message.includes(keyPath) && e.message.includes(certPath) && /does not match/.test(e.message));
    const third = await dial(srv.port);
    assert.ok((await srv.next()).ok);
    assert.equal(cnOf(third), 'wrong.test');
    assert.equal(await echo(first, 'and still'), 'and still');
  });

  test('unreadable and mismatched key/cert give clear errors naming the file', () => {
    const missing = join(dir, 'missing.pem');
    assert.throws(() => buildClientLegTls(clientCfg({ cert: missing }), silent),
      (e: Error) => e.message.includes(`"${missing}"`) && e.message.includes('cannot read') && e.message.includes('ENOENT'));
    assert.throws(() => buildClientLegTls(clientCfg({ key: certs.client.key }), silent),
      (e: Error) => e.message.includes(certs.client.key) && e.message.includes(certs.server.cert) && e.message.includes('does not match'));
    const garbage = writeTmp('garbage.pem', 'hello\n');
    assert.throws(() => buildClientLegTls(clientCfg({ cert: garbage }), silent),
      (e: Error) => e.message.includes(garbage) && e.message.includes('no PEM certificate'));
    assert.throws(() => buildClientLegTls(clientCfg({ key: garbage }), silent),
      (e: Error) => e.message.includes(garbage) && e.message.includes('private key'));
    assert.throws(() => buildClientLegTls(clientCfg({ client_ca: missing }), silent), (e: Error) => e.message.includes(missing));
    assert.throws(() => buildClientLegTls(clientCfg({ sni: [{ names: ['x'], cert: certs.server.cert, key: missing }] }), silent),
      (e: Error) => e.message.includes(missing) && e.message.includes('sni[0]'));
    assert.throws(() => buildBackendLegTls({ mode: 'required', verify: 'ca', ca: missing }, silent), (e: Error) => e.message.includes(missing));
    assert.throws(() => buildBackendLegTls({ mode: 'required', verify: 'ca', ca: certs.ca, crl: garbage }, silent),
      (e: Error) => e.message.includes(garbage) && e.message.includes('CRL'));
    assert.throws(() => buildBackendLegTls({ mode: 'required', verify: 'none', cert: certs.client.cert, key: certs.server.key }, silent),
      (e: Error) => e.message.includes(certs.server.key) && e.message.includes('does not match'));
  });
});

// ---- backend leg ----------------------------------------------------------------------------------

interface Peer { port: number; servernames: (string | false | null)[] }

/** A tls.createServer peer presenting `pair`; records the SNI it receives and echoes. */
async function tlsPeer(pair: { cert: string; key: string }, opts: tls.TlsOptions = {}): Promise<Peer> {
  const servernames: (string | false | null)[] = [];
  const server = tls.createServer({ cert: await readText(pair.cert), key: await readText(pair.key), ...opts }, (s) => {
    servernames.push((s as tls.TLSSocket & { servername?: string | false | null }).servername ?? null);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, servernames };
}

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
    closers.push(() => s.destroy());
  });
}

function backendCfg(over: Partial<BackendTlsConfig>): BackendTlsConfig {
  return { mode: 'required', verify: 'identity', ca: certs.ca, ...over };
}

async function upgradeTo(port: number, cfg: BackendTlsConfig, host = 'localhost', timeoutMs = 3000): Promise<tls.TLSSocket> {
  const leg = buildBackendLegTls(cfg, silent);
  const u = await leg.upgrade(await rawConnect(port), { host, timeoutMs });
  closers.push(() => u.socket.destroy());
  return u.socket;
}

async function failureOf(port: number, cfg: BackendTlsConfig, host = 'localhost', timeoutMs = 3000): Promise<UpstreamTlsError> {
  try {
    await upgradeTo(port, cfg, host, timeoutMs);
  } catch (e) {
    assert.ok(e instanceof UpstreamTlsError, String(e));
    assert.equal(e.errno, 1429);
    return e;
  }
  assert.fail('upgrade should have failed');
}

const PREFIX = 'Unable to connect to foreign data source: SSL connection error: ';

describe('backend leg (Sluice as TLS client)', () => {
  let right: Peer, wrong: Peer, expired: Peer, revoked: Peer, selfSigned: Peer;
  before(async () => {
    right = await tlsPeer(certs.server);
    wrong = await tlsPeer(certs.wrongName);
    expired = await tlsPeer(certs.expired);
    revoked = await tlsPeer(certs.revoked);
    const g = generateSelfSigned(['localhost']);
    selfSigned = await tlsPeer({ cert: writeTmp('peer-ss.pem', g.cert), key: writeTmp('peer-ss.key', g.key) });
  });

  test('identity: right name by host, by IP SAN and by server_name; SNI only for DNS names', async () => {
    const s1 = await upgradeTo(right.port, backendCfg({}), 'localhost');
    assert.equal(await echo(s1, 'a'), 'a');
    const s2 = await upgradeTo(right.port, backendCfg({}), '127.0.0.1');
    assert.equal(await echo(s2, 'b'), 'b');
    const s3 = await upgradeTo(right.port, backendCfg({ server_name: 'backend.test' }), '127.0.0.1');
    assert.equal(await echo(s3, 'c'), 'c'); // the peer has recorded its SNI once it echoes
    assert.equal(right.servernames.at(-3), 'localhost');
    assert.ok(!right.servernames.at(-2), 'no SNI for an IP literal');
    assert.equal(right.servernames.at(-1), 'backend.test');
  });

  test('identity: wrong name → hostname mismatch; ca accepts it', async () => {
    const e = await failureOf(wrong.port, backendCfg({}));
    assert.match(e.message, new RegExp(`^${PREFIX}hostname mismatch \\(.*localhost.*DNS:wrong\\.test\\)$`));
    const e2 = await failureOf(right.port, backendCfg({ server_name: 'orders.internal' }), '127.0.0.1');
    assert.match(e2.message, /hostname mismatch \(.*orders\.internal/);
    const e3 = await failureOf(wrong.port, backendCfg({}), '127.0.0.1');
    assert.match(e3.message, /hostname mismatch \(IP: 127\.0\.0\.1 is not in the cert's list/);
    await upgradeTo(wrong.port, backendCfg({ verify: 'ca' }));
  });

  test('expired certificate', async () => {
    assert.equal((await failureOf(expired.port, backendCfg({}))).message, `${PREFIX}certificate has expired`);
    assert.equal((await failureOf(expired.port, backendCfg({ verify: 'ca' }))).message, `${PREFIX}certificate has expired`);
  });

  test('unknown CA: self-signed peer, and a CA that did not sign the peer', async () => {
    assert.equal((await failureOf(selfSigned.port, backendCfg({}))).message, `${PREFIX}unknown CA (self-signed certificate)`);
    const otherCa = writeTmp('other-ca.pem', generateSelfSigned(['other']).cert);
    assert.equal((await failureOf(right.port, backendCfg({ ca: otherCa, verify: 'ca' }))).message, `${PREFIX}unknown CA`);
  });

  test('revoked certificate is refused with the CRL and accepted without it', async () => {
    assert.equal((await failureOf(revoked.port, backendCfg({ crl: certs.crl }))).message, `${PREFIX}certificate revoked`);
    assert.equal((await failureOf(revoked.port, backendCfg({ crl: certs.crl, verify: 'ca' }))).message, `${PREFIX}certificate revoked`);
    await upgradeTo(right.port, backendCfg({ crl: certs.crl }));
    await upgradeTo(revoked.port, backendCfg({}));
  });

  test('verify none accepts every certificate', async () => {
    for (const p of [right, wrong, expired, revoked, selfSigned]) {
      const s = await upgradeTo(p.port, { mode: 'required', verify: 'none' });
      assert.equal(await echo(s, 'x'), 'x');
    }
  });

  test('client certificate for a server that requires one', async () => {
    const mtls = await tlsPeer(certs.server, { ca: await readText(certs.ca), requestCert: true, rejectUnauthorized: true });
    const s = await upgradeTo(mtls.port, backendCfg({ cert: certs.client.cert, key: certs.client.key }));
    assert.equal(await echo(s, 'mtls'), 'mtls');
    // without one, TLS 1.3 reports the server's alert on first read/handshake: either way the upgrade or the echo fails
    const noCert = await upgradeTo(mtls.port, backendCfg({})).then((t) => echo(t, 'y').then(() => 'ok', (e: Error) => e.message), (e: Error) => e.message);
    assert.notEqual(noCert, 'ok');
  });

  test('a server that does not speak TLS, and one that never answers', async () => {
    const plain = net.createServer((s) => { s.on('error', () => undefined); s.end(Buffer.from('not tls at all, just some bytes\n')); });
    const silentSrv = net.createServer((s) => { s.on('error', () => undefined); });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silentSrv.listen(0, '127.0.0.1', r));
    closers.push(() => plain.close(), () => silentSrv.close());
    const e = await failureOf((plain.address() as net.AddressInfo).port, { mode: 'required', verify: 'none' });
    assert.ok(e.message.startsWith(PREFIX), e.message);
    const t = await failureOf((silentSrv.address() as net.AddressInfo).port, { mode: 'required', verify: 'none' }, 'localhost', 150);
    assert.equal(t.message, `${PREFIX}TLS handshake not completed within 150 ms`);
  });
});

describe('client leg and backend leg talking to each other', () => {
  test('backend leg verifies the client leg by identity; SNI reaches the client leg', async () => {
    const srv = await legServer(buildClientLegTls(clientCfg(), silent));
    const s = await upgradeTo(srv.port, backendCfg({ server_name: 'backend.test' }), '127.0.0.1');
    const o = await srv.next();
    assert.ok(o.ok);
    assert.equal(o.u.sni, 'backend.test');
    assert.equal(await echo(s, 'leg to leg'), 'leg to leg');
  });

  test('client certificate from the backend leg verified by the client leg', async () => {
    const srv = await legServer(buildClientLegTls(clientCfg({ client_ca: certs.ca }), silent));
    const s = await upgradeTo(srv.port, backendCfg({ cert: certs.client.cert, key: certs.client.key }));
    const o = await srv.next();
    assert.ok(o.ok);
    assert.equal(o.u.peerCertificate, 'sluice-client');
    assert.equal(await echo(s, 'z'), 'z');
  });

  test('generated certificate: verify none works, identity fails as unknown CA', async () => {
    const srv = await legServer(buildClientLegTls(clientCfg({ cert: undefined, key: undefined }), silent));
    await upgradeTo(srv.port, { mode: 'required', verify: 'none' });
    assert.ok((await srv.next()).ok);
    const e = await failureOf(srv.port, backendCfg({}));
    assert.equal(e.message, `${PREFIX}unknown CA (self-signed certificate)`);
    await srv.next();
  });
});

describe('helpers', () => {
  test('describeTlsError maps Node codes to words', () => {
    const err = (code: string, extra: Record<string, string> = {}): Error => Object.assign(new Error(code), { code, ...extra });
    assert.equal(describeTlsError(err('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), 'unknown CA');
    assert.equal(describeTlsError(err('SELF_SIGNED_CERT_IN_CHAIN')), 'unknown CA (self-signed certificate in chain)');
    assert.equal(describeTlsError(err('DEPTH_ZERO_SELF_SIGNED_CERT')), 'unknown CA (self-signed certificate)');
    assert.equal(describeTlsError(err('CERT_HAS_EXPIRED')), 'certificate has expired');
    assert.equal(describeTlsError(err('CERT_REVOKED')), 'certificate revoked');
    assert.equal(describeTlsError(err('ERR_TLS_CERT_ALTNAME_INVALID', { reason: "Host: a. is not in the cert's altnames: DNS:b" })),
      "hostname mismatch (Host: a. is not in the cert's altnames: DNS:b)");
    assert.equal(describeTlsError(new Error('error:0A000086:SSL routines::certificate verify failed')), 'certificate verify failed');
    assert.equal(describeTlsError(new Error('something else')), 'something else');
  });

  test('server-name globs', () => {
    const m = compileNameGlob('*.Orders.example.com');
    assert.ok(m('eu.orders.example.com'));
    assert.ok(!m('orders.example.com'));
    assert.ok(!m('a.b.orders.example.com'));
    assert.ok(compileNameGlob('db?.x')('db1.x'));
    assert.ok(!compileNameGlob('a.b')('axb'));
  });
});

async function readText(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}
