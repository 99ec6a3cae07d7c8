// TLS on both legs (issue 3): every meaningful client-leg mode × server-leg mode, driven by the mariadb CLI
// (--ssl, --ssl-verify-server-cert --ssl-ca, --skip-ssl) and mysql2 (ssl {ca, rejectUnauthorized} and none).
// Each case checks the client leg by what the client itself reports (CLI `status` cipher, mysql2's TLS
// socket) and the server leg by `SHOW STATUS LIKE 'Ssl_version'`, which runs in the backend's session of
// Sluice's connection (empty when that leg is plaintext). Then the failures with their exact codes
// (3159, 1429 with the verification reason), passthrough, require_secure_transport, SNI (mysql2 and PyMySQL),
// a socket tap on the server leg, the TLS metrics, /api/v1/connections and a certificate reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { makeCerts, type TestCerts } from '../harness/certs.ts';
import { startTestSluice, testConfig } from '../harness/sluice.ts';
import { runMariaDbCli } from '../harness/cli.ts';
import { startTap } from '../harness/tap.ts';
import { startCachingSha2Server, type CachingSha2Server } from '../harness/caching-sha2-server.ts';
import { generateSelfSigned } from '../../src/tls/self-signed.ts';
import type { SluiceHandle } from '../../src/main.ts';

type Sluice = SluiceHandle & { port: number };
type ClientMode = 'disabled' | 'preferred' | 'required';
type ServerMode = 'disabled' | 'preferred' | 'required' | 'as_client';

const { user, password } = USERS.native;
let dir: string;
let certs: TestCerts;
let dbTls: MariaDbServer;
let dbPlain: MariaDbServer;
let dbSecure: MariaDbServer;
/** scripted peers that offer TLS with a bad certificate (verification failures happen before any login) */
const badPeers: Record<'wrongName' | 'expired' | 'revoked' | 'selfSigned', CachingSha2Server> = {} as never;
const sluices: Sluice[] = [];
/** a second certificate for localhost (CN sni-localhost), signed by the test CA */
let sniLocal: { cert: string; key: string };

function openssl(args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    execFile('openssl', args, { cwd: dir, timeout: 60_000 }, (e, _o, stderr) => (e ? rej(new Error(`openssl ${args.join(' ')}: ${stderr}`)) : res()));
  });
}

/** An extra CA-signed server certificate (CN `cn`, SAN `san`). */
async function extraCert(name: string, cn: string, san: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, `basicConstraints=critical,CA:false\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-out', join(dir, `${name}.csr`)]);
  await openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', certs.ca, '-CAkey', certs.caKey, '-CAcreateserial', '-days', '365', '-sha256', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

const fingerprint = (pemFile: string): string => new X509Certificate(readFileSync(pemFile)).fingerprint256;

function listener(mode: ClientMode | 'passthrough', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'main', address: '127.0.0.1:0', tls: { mode, cert: certs.server.cert, key: certs.server.key, ...extra } };
}

function backend(port: number, tlsCfg: Record<string, unknown>): Record<string, unknown> {
  return { name: 'db1', address: `127.0.0.1:${port}`, tls: tlsCfg };
}

async function sluiceFor(backendPort: number, listenerCfg: Record<string, unknown>, backendTls: Record<string, unknown>): Promise<Sluice> {
  const s = await startTestSluice(backendPort, { config: { listeners: [listenerCfg], backends: [backend(backendPort, backendTls)] } });
  sluices.push(s);
  return s;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'));
  certs = await makeCerts(join(dir, 'pki'));
  const selfSigned = generateSelfSigned();
  await writeFile(join(dir, 'self.pem'), selfSigned.cert);
  await writeFile(join(dir, 'self.key'), selfSigned.key);
  const tlsOpt = { cert: certs.server.cert, key: certs.server.key, ca: certs.ca };
  [dbTls, dbPlain, dbSecure, sniLocal] = await Promise.all([
    startMariaDb({ tls: tlsOpt }),
    startMariaDb(),
    startMariaDb({ tls: tlsOpt, requireSecureTransport: true }),
    extraCert('sni-localhost', 'sni-localhost', 'DNS:localhost'),
  ]);
  const peer = (cert: string, key: string) => startCachingSha2Server({ users: { [user]: password }, tls: { cert, key } });
  badPeers.wrongName = await peer(certs.wrongName.cert, certs.wrongName.key);
  badPeers.expired = await peer(certs.expired.cert, certs.expired.key);
  badPeers.revoked = await peer(certs.revoked.cert, certs.revoked.key);
  badPeers.selfSigned = await peer(join(dir, 'self.pem'), join(dir, 'self.key'));
});

after(async () => {
  for (const s of sluices) await s.stop(500);
  await Promise.all(Object.values(badPeers).map((p) => p.stop()));
  await Promise.all([dbTls?.stop(), dbPlain?.stop(), dbSecure?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

// ---- clients ----------------------------------------------------------------------------------------

type Outcome = { ok: true; clientTls: string | null; backendSsl: string } | { ok: false; code: number | string; message: string };

const CLI_FLAGS = {
  'cli --ssl': ['--ssl'],
  'cli --ssl-verify-server-cert': () => ['--ssl-verify-server-cert', `--ssl-ca=${certs.ca}`],
  'cli --skip-ssl': ['--skip-ssl'],
} as const;

/** CLI: `status` prints the cipher the client uses ("Not in use" for plaintext); then the backend's Ssl_version. */
async function viaCli(port: number, flags: readonly string[], who: { user: string; password: string } = { user, password }): Promise<Outcome> {
  const r = await runMariaDbCli(['-h', '127.0.0.1', '-P', String(port), '-u', who.user, `-p${who.password}`, ...flags, '-N', '-B'], {
    input: "status\nSHOW STATUS LIKE 'Ssl_version';\n",
    timeoutMs: 15_000,
  });
  if (r.code !== 0) {
    const m = /ERROR (\d+)/.exec(r.stderr);
    return { ok: false, code: m ? Number(m[1]) : `exit ${r.code}`, message: r.stderr.trim() };
  }
  const ssl = /^SSL:\s+(.*)$/m.exec(r.stdout)?.[1]?.trim() ?? '';
  const cipher = /^Cipher in use is ([^\s,]+)/.exec(ssl)?.[1] ?? null;
  const backendSsl = /^Ssl_version\t(.*)$/m.exec(r.stdout)?.[1] ?? '<missing>';
  assert.ok(cipher !== null || /Not in use/.test(ssl), `unexpected CLI status SSL line: ${ssl}\n${r.stdout}`);
  // a TLS 1.3 suite name is what libmariadb reports; the version is what it implies
  return { ok: true, clientTls: cipher === null ? null : cipher.startsWith('TLS_') ? 'TLSv1.3' : `TLSv1.2 (${cipher})`, backendSsl };
}

interface My2Options {
  ssl?: mysql.SslOptions;
  /** name used as TLS server name (SNI, identity); the TCP connection always goes to 127.0.0.1 */
  host?: string;
}

function streamOf(c: mysql.Connection): net.Socket | tls.TLSSocket {
  return (c as unknown as { connection: { stream: net.Socket | tls.TLSSocket } }).connection.stream;
}

async function connectMy2(port: number, o: My2Options = {}): Promise<mysql.Connection> {
  const host = o.host ?? '127.0.0.1';
  return mysql.createConnection({
    host,
    port,
    user,
    password,
    connectTimeout: 10_000,
    ...(o.ssl !== undefined ? { ssl: o.ssl } : {}),
    ...(host !== '127.0.0.1' ? { stream: () => net.connect(port, '127.0.0.1') } : {}),
  });
}

async function backendSslVersion(c: mysql.Connection): Promise<string> {
  const [rows] = await c.query<mysql.RowDataPacket[]>("SHOW STATUS LIKE 'Ssl_version'");
  return String(rows[0]?.['Value']);
}

async function viaMysql2(port: number, o: My2Options = {}): Promise<Outcome> {
  let c: mysql.Connection;
  try {
    c = await connectMy2(port, o);
  } catch (e) {
    const err = e as { errno?: number; code?: string; message: string };
    return { ok: false, code: err.errno ?? err.code ?? 'unknown', message: err.message };
  }
  try {
    const s = streamOf(c);
    const clientTls = 'getProtocol' in s ? s.getProtocol() : null;
    return { ok: true, clientTls, backendSsl: await backendSslVersion(c) };
  } finally {
    await c.end();
  }
}

const CLIENTS = {
  ...CLI_FLAGS,
  'mysql2 ssl {ca, rejectUnauthorized}': 'mysql2-ssl',
  'mysql2 plaintext': 'mysql2-plain',
} as const;
type ClientKind = keyof typeof CLIENTS;

function run(kind: ClientKind, port: number): Promise<Outcome> {
  const spec = CLIENTS[kind];
  if (spec === 'mysql2-ssl') return viaMysql2(port, { ssl: { ca: readFileSync(certs.ca, 'utf8'), rejectUnauthorized: true } });
  if (spec === 'mysql2-plain') return viaMysql2(port);
  return viaCli(port, typeof spec === 'function' ? spec() : spec);
}

/** Whether a client of this kind uses TLS on the client leg (null: it must fail because it insists on TLS). */
function expectedClientTls(mode: ClientMode, kind: ClientKind): boolean | 'insists' | 'refused' {
  const wantsTls = kind === 'cli --ssl' || kind === 'cli --ssl-verify-server-cert' || kind === 'mysql2 ssl {ca, rejectUnauthorized}';
  if (mode === 'disabled') {
    if (kind === 'cli --ssl-verify-server-cert' || kind === 'mysql2 ssl {ca, rejectUnauthorized}') return 'insists';
    return false; // `--ssl` alone is "use TLS if the server offers it"
  }
  if (mode === 'required' && !wantsTls) return 'refused';
  return wantsTls;
}

function expectedBackendTls(mode: ServerMode, clientTls: boolean): boolean {
  return mode === 'as_client' ? clientTls : mode !== 'disabled';
}

// ---- the matrix against a TLS-capable mariadbd ------------------------------------------------------

const CLIENT_MODES: ClientMode[] = ['disabled', 'preferred', 'required'];
const SERVER_MODES: ServerMode[] = ['disabled', 'preferred', 'required', 'as_client'];

for (const cm of CLIENT_MODES) {
  for (const sm of SERVER_MODES) {
    test(`client ${cm} × server ${sm}: every client gets the expected TLS on each leg`, async () => {
      const s = await sluiceFor(dbTls.port, listener(cm), sm === 'disabled' ? { mode: sm } : { mode: sm, verify: 'identity', ca: certs.ca });
      for (const kind of Object.keys(CLIENTS) as ClientKind[]) {
        const want = expectedClientTls(cm, kind);
        const got = await run(kind, s.port);
        const what = `${kind} via client ${cm} / server ${sm}: ${JSON.stringify(got)}`;
        if (want === 'refused') {
          assert.equal(got.ok, false, what);
          assert.equal(!got.ok && got.code, 3159, what);
          assert.match(!got.ok ? got.message : '', /Connections using insecure transport are prohibited/, what);
        } else if (want === 'insists') {
          assert.equal(got.ok, false, what);
          // the client refuses on its own side: mysql2 HANDSHAKE_NO_SSL_SUPPORT, libmariadb 2026
          assert.ok(!got.ok && (got.code === 'HANDSHAKE_NO_SSL_SUPPORT' || got.code === 2026), what);
        } else {
          assert.equal(got.ok, true, what);
          if (!got.ok) continue;
          assert.equal(got.clientTls, want ? 'TLSv1.3' : null, `client leg: ${what}`);
          assert.equal(got.backendSsl, expectedBackendTls(sm, want) ? 'TLSv1.3' : '', `server leg: ${what}`);
        }
      }
    });
  }
}

// ---- failures of the server leg ---------------------------------------------------------------------

test('server leg required against a mariadbd without TLS: ERR 1429 SSL connection error', async () => {
  const s = await sluiceFor(dbPlain.port, listener('preferred'), { mode: 'required', verify: 'none' });
  for (const kind of ['cli --ssl', 'cli --skip-ssl', 'mysql2 plaintext', 'mysql2 ssl {ca, rejectUnauthorized}'] as const) {
    const got = await run(kind, s.port);
    assert.equal(got.ok, false, kind);
    assert.equal(!got.ok && got.code, 1429, `${kind}: ${JSON.stringify(got)}`);
    // the session's own check ("SSL connection error: server db1 does not offer TLS") or, once the health
    // checker has seen the greeting, the route's "backends down (… does not offer TLS …)": 1429 either way
    assert.match(!got.ok ? got.message : '', /^(ERROR 1429 \(HY000\): )?Unable to connect to foreign data source: .*does not offer TLS/, kind);
  }
  // preferred falls back to plaintext with the same server
  const p = await sluiceFor(dbPlain.port, listener('preferred'), { mode: 'preferred' });
  assert.deepEqual(await run('mysql2 ssl {ca, rejectUnauthorized}', p.port), { ok: true, clientTls: 'TLSv1.3', backendSsl: '' });
});

const VERIFY_CASES = [
  { name: 'wrong name', peer: 'wrongName', tls: { verify: 'identity' }, reason: /SSL connection error: hostname mismatch \(IP: 127\.0\.0\.1 is not in the cert's list/ },
  { name: 'expired', peer: 'expired', tls: { verify: 'identity' }, reason: /SSL connection error: certificate has expired$/ },
  { name: 'unknown CA (self-signed)', peer: 'selfSigned', tls: { verify: 'ca' }, reason: /SSL connection error: unknown CA/ },
  { name: 'revoked (CRL)', peer: 'revoked', tls: { verify: 'identity', crl: 'CRL' }, reason: /SSL connection error: certificate revoked$/ },
] as const;

for (const v of VERIFY_CASES) {
  test(`server leg verify against a ${v.name} certificate: ERR 1429 naming the reason, nothing sent but the SSLRequest`, async () => {
    const peer = badPeers[v.peer];
    const tlsCfg: Record<string, unknown> = { mode: 'required', ca: certs.ca, verify: v.tls.verify };
    if ('crl' in v.tls) tlsCfg['crl'] = certs.crl;
    const s = await sluiceFor(peer.port, listener('preferred'), tlsCfg);
    const events = peer.events.length;
    for (const kind of ['mysql2 plaintext', 'cli --ssl'] as const) {
      const got = await run(kind, s.port);
      assert.equal(got.ok, false, kind);
      assert.equal(!got.ok && got.code, 1429, `${kind}: ${JSON.stringify(got)}`);
      assert.match(!got.ok ? got.message : '', v.reason, kind);
    }
    assert.equal(peer.events.length, events, 'the peer never saw a login');
  });
}

test('the revoked certificate passes without the CRL (so the CRL is what rejects it)', async () => {
  const s = await sluiceFor(badPeers.revoked.port, listener('preferred'), { mode: 'required', ca: certs.ca, verify: 'identity' });
  const c = await connectMy2(s.port);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS who');
    assert.equal(rows[0]?.['who'], user);
  } finally {
    await c.end();
  }
});

// ---- as_client, passthrough, require_secure_transport ----------------------------------------------

test('as_client: TLS upstream exactly when the client used TLS, and then required (plain server → 1429)', async () => {
  const s = await sluiceFor(dbTls.port, listener('preferred'), { mode: 'as_client', ca: certs.ca });
  assert.deepEqual(await run('mysql2 plaintext', s.port), { ok: true, clientTls: null, backendSsl: '' });
  assert.deepEqual(await run('mysql2 ssl {ca, rejectUnauthorized}', s.port), { ok: true, clientTls: 'TLSv1.3', backendSsl: 'TLSv1.3' });
  const p = await sluiceFor(dbPlain.port, listener('preferred'), { mode: 'as_client' });
  assert.deepEqual(await run('mysql2 plaintext', p.port), { ok: true, clientTls: null, backendSsl: '' });
  const got = await run('mysql2 ssl {ca, rejectUnauthorized}', p.port);
  assert.equal(!got.ok && got.code, 1429, JSON.stringify(got));
});

test("passthrough: the client's TLS terminates at mariadbd (its certificate), Sluice still relays", async () => {
  // Sluice's own listener certificate would be sni-localhost: the client must not see it
  const s = await sluiceFor(dbTls.port, { name: 'main', address: '127.0.0.1:0', tls: { mode: 'passthrough', cert: sniLocal.cert, key: sniLocal.key } }, { mode: 'disabled' });
  const c = await connectMy2(s.port, { ssl: { ca: readFileSync(certs.ca, 'utf8'), rejectUnauthorized: true } });
  try {
    const sock = streamOf(c) as tls.TLSSocket;
    assert.equal(sock.getPeerCertificate().fingerprint256, fingerprint(certs.server.cert), 'mariadbd certificate');
    assert.equal(await backendSslVersion(c), sock.getProtocol(), 'one TLS session end to end');
    const live = s.gateway.sessions();
    assert.equal(live.length, 1);
    assert.equal(live[0]!.state, 'passthrough');
    assert.equal(live[0]!.clientTls ?? null, null, 'Sluice terminated no TLS');
    assert.ok(live[0]!.bytesIn > 0 && live[0]!.bytesOut > 0);
  } finally {
    await c.end();
  }
  for (const kind of ['cli --ssl-verify-server-cert', 'cli --skip-ssl'] as const) {
    const got = await run(kind, s.port);
    assert.equal(got.ok, true, `${kind}: ${JSON.stringify(got)}`);
    if (got.ok) assert.equal(got.backendSsl, kind === 'cli --skip-ssl' ? '' : got.clientTls, kind);
  }
});

test('require_secure_transport=ON backend: works with server leg TLS, refused by the backend itself without', async () => {
  const s = await sluiceFor(dbSecure.port, listener('preferred'), { mode: 'required', ca: certs.ca });
  assert.deepEqual(await run('mysql2 plaintext', s.port), { ok: true, clientTls: null, backendSsl: 'TLSv1.3' });
  assert.deepEqual(await run('cli --skip-ssl', s.port), { ok: true, clientTls: null, backendSsl: 'TLSv1.3' });
  // MariaDB 10.11 refuses a plaintext login under require_secure_transport with its own 1045
  const direct = await viaCli(dbSecure.port, ['--skip-ssl']);
  assert.equal(!direct.ok && direct.code, 1045, JSON.stringify(direct));
  const d = await sluiceFor(dbSecure.port, listener('preferred'), { mode: 'disabled' });
  for (const kind of ['mysql2 ssl {ca, rejectUnauthorized}', 'cli --skip-ssl', 'cli --ssl'] as const) {
    const got = await run(kind, d.port);
    assert.equal(!got.ok && got.code, 1045, `${kind}: ${JSON.stringify(got)}`);
    assert.match(!got.ok ? got.message : '', /Access denied for user 'nat'@'localhost' \(using password: YES\)/);
    assert.doesNotMatch(!got.ok ? got.message : '', /sluice/, "the backend's own refusal, unchanged");
  }
});

// ---- SNI ---------------------------------------------------------------------------------------------

function pymysql(port: number, host: string, ca: string): Promise<{ cn: string; fp: string; who: string }> {
  const script = `
import sys, json, hashlib, pymysql
c = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3], password=sys.argv[4], ssl={'ca': sys.argv[5]})
der = c._sock.getpeercert(True)
cn = dict(x[0] for x in c._sock.getpeercert()['subject'])['commonName']
cur = c.cursor(); cur.execute('SELECT CURRENT_USER()'); who = cur.fetchone()[0]
print(json.dumps({'cn': cn, 'fp': ':'.join('%02X' % b for b in hashlib.sha256(der).digest()), 'who': who}))
c.close()
`;
  return new Promise((res, rej) => {
    execFile('/usr/bin/python3', ['-c', script, host, String(port), user, password, ca], { timeout: 20_000 }, (e, out, err) => {
      if (e) rej(new Error(`pymysql: ${err || e.message}`));
      else res(JSON.parse(out) as { cn: string; fp: string; who: string });
    });
  });
}

test('SNI: two names, two certificates; mysql2 and PyMySQL see the matching one; the session records the name', async () => {
  const s = await sluiceFor(
    dbTls.port,
    listener('required', {
      sni: [
        { names: ['localhost'], cert: sniLocal.cert, key: sniLocal.key },
        { names: ['*.test'], cert: certs.wrongName.cert, key: certs.wrongName.key },
      ],
    }),
    { mode: 'preferred', ca: certs.ca },
  );
  const ca = readFileSync(certs.ca, 'utf8');
  const seen = async (host: string): Promise<string> => {
    const c = await connectMy2(s.port, { host, ssl: { ca, rejectUnauthorized: true } });
    try {
      const fp = (streamOf(c) as tls.TLSSocket).getPeerCertificate().fingerprint256;
      const res = await fetch(new URL('/api/v1/connections', s.adminUrl!), { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { connections?: Array<{ client_tls: { sni: string | null; version: string } | null; backend_tls: { version: string } | null }> } | Array<{ client_tls: { sni: string | null; version: string } | null; backend_tls: { version: string } | null }>;
      const list = Array.isArray(body) ? body : (body.connections ?? []);
      assert.equal(list.length, 1, JSON.stringify(body));
      assert.equal(list[0]!.client_tls?.sni ?? null, host === '127.0.0.1' ? null : host, 'client_tls.sni');
      assert.equal(list[0]!.client_tls?.version, 'TLSv1.3');
      assert.equal(list[0]!.backend_tls?.version, 'TLSv1.3');
      return fp;
    } finally {
      await c.end();
      await waitFor(() => s.gateway.sessions().length === 0);
    }
  };
  assert.equal(await seen('wrong.test'), fingerprint(certs.wrongName.cert), 'SNI wrong.test → the *.test certificate');
  assert.equal(await seen('localhost'), fingerprint(sniLocal.cert), 'SNI localhost → the localhost certificate');
  assert.equal(await seen('127.0.0.1'), fingerprint(certs.server.cert), 'no SNI → the default certificate');

  const py = await pymysql(s.port, 'localhost', certs.ca);
  assert.equal(py.cn, 'sni-localhost');
  assert.equal(py.fp, fingerprint(sniLocal.cert));
  assert.match(py.who, new RegExp(`^${user}@`));
  const pyIp = await pymysql(s.port, '127.0.0.1', certs.ca);
  assert.equal(pyIp.cn, 'localhost', 'PyMySQL sends no SNI for an IP: the default certificate');
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- socket tap: no plaintext credentials on a leg configured for TLS ---------------------------------

test('socket tap: only the SSLRequest is plaintext upstream; no user name or password crosses the server leg', async () => {
  const tapUser = 'tls_tap_account';
  const tapPassword = 'Tap-Secret-Password-42';
  await dbTls.sql(`CREATE USER IF NOT EXISTS '${tapUser}'@'%' IDENTIFIED BY '${tapPassword}'; CREATE USER IF NOT EXISTS '${tapUser}'@'localhost' IDENTIFIED BY '${tapPassword}';`);
  // one record per relayed connection (the health checker's probes go through the tap too)
  const tap = await startTap(dbTls.port);
  const conns = tap.connections;
  try {
    const s = await sluiceFor(tap.port, listener('preferred'), { mode: 'required', ca: certs.ca });
    for (const flags of [['--skip-ssl'], ['--ssl']]) {
      conns.length = 0;
      const got = await viaCli(s.port, flags, { user: tapUser, password: tapPassword });
      assert.equal(got.ok, true, JSON.stringify(got));
      assert.equal(got.ok && got.backendSsl, 'TLSv1.3');
      const logins = conns.filter((c) => Buffer.concat(c.up).length > 36);
      assert.ok(logins.length >= 1, 'the session went through the tap');
      for (const c of conns) {
        const bytes = Buffer.concat(c.up);
        const back = Buffer.concat(c.down);
        if (bytes.length > 0) {
          // upstream: the SSLRequest (4-byte header + 32-byte payload, seq 1), then only TLS records
          assert.equal(bytes.readUIntLE(0, 3), 32);
          assert.equal(bytes[3], 1);
          assert.ok(bytes.length === 36 || bytes[36] === 0x16, 'a TLS handshake record follows the SSLRequest');
        }
        // downstream: the server's plaintext greeting, then only TLS records too
        const afterGreeting = back.length >= 4 ? back.subarray(4 + back.readUIntLE(0, 3)) : Buffer.alloc(0);
        assert.ok(afterGreeting.length === 0 || afterGreeting[0] === 0x16, 'the server answers the SSLRequest with a TLS handshake record');
        for (const secret of [tapUser, tapPassword, 'mysql_native_password', 'proxy_force_switch']) {
          assert.equal(bytes.indexOf(secret), -1, `"${secret}" crossed the server leg in plaintext`);
          assert.equal(afterGreeting.indexOf(secret), -1, `"${secret}" came back in plaintext`);
        }
      }
    }
  } finally {
    await tap.close();
  }
});

// ---- metrics, connections API, reload --------------------------------------------------------------

async function metric(s: Sluice, re: RegExp): Promise<number> {
  const text = await (await fetch(new URL('/metrics', s.adminUrl!), { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

test('metrics: sluice_tls_handshakes_total by leg/version/cipher and sluice_tls_failures_total by reason move', async () => {
  const s = await sluiceFor(dbTls.port, listener('preferred'), { mode: 'required', ca: certs.ca });
  const hs = (leg: string) => metric(s, new RegExp(`^sluice_tls_handshakes_total\\{leg="${leg}",version="TLSv1.3",cipher="TLS_`));
  const [c0, b0] = [await hs('client'), await hs('backend')];
  assert.equal((await run('mysql2 ssl {ca, rejectUnauthorized}', s.port)).ok, true);
  assert.equal(await hs('client'), c0 + 1);
  assert.equal(await hs('backend'), b0 + 1);

  const expired = await sluiceFor(badPeers.expired.port, listener('preferred'), { mode: 'required', ca: certs.ca });
  const fails = () => metric(expired, /^sluice_tls_failures_total\{leg="backend",reason="certificate has expired"\}/);
  const f0 = await fails();
  assert.equal((await run('mysql2 plaintext', expired.port)).ok, false);
  assert.equal(await fails(), f0 + 1);

  // a client whose TLS handshake fails (it does not trust Sluice's certificate) counts on the client leg
  const clientFails = () => metric(s, /^sluice_tls_failures_total\{leg="client",/);
  const cf0 = await clientFails();
  const got = await viaMysql2(s.port, { ssl: { ca: readFileSync(join(dir, 'self.pem'), 'utf8'), rejectUnauthorized: true } });
  assert.equal(got.ok, false);
  await waitFor(() => s.gateway.sessions().length === 0);
  assert.equal(await clientFails(), cf0 + 1);
});

test('reload: a new certificate file serves new connections while a live TLS session keeps working', async () => {
  const certFile = join(dir, 'rotating.pem');
  const keyFile = join(dir, 'rotating.key');
  await copyFile(certs.server.cert, certFile);
  await copyFile(certs.server.key, keyFile);
  const cfg = {
    listeners: [{ name: 'main', address: '127.0.0.1:0', tls: { mode: 'required', cert: certFile, key: keyFile } }],
    backends: [backend(dbTls.port, { mode: 'required', ca: certs.ca })],
  };
  const s = await startTestSluice(dbTls.port, { config: cfg });
  sluices.push(s);
  const ssl = { ca: readFileSync(certs.ca, 'utf8'), rejectUnauthorized: true };
  const live = await connectMy2(s.port, { ssl });
  try {
    assert.equal((streamOf(live) as tls.TLSSocket).getPeerCertificate().fingerprint256, fingerprint(certs.server.cert));
    await copyFile(sniLocal.cert, certFile);
    await copyFile(sniLocal.key, keyFile);
    s.reload(testConfig(dbTls.port, cfg));
    const fresh = await connectMy2(s.port, { host: 'localhost', ssl });
    try {
      assert.equal((streamOf(fresh) as tls.TLSSocket).getPeerCertificate().fingerprint256, fingerprint(sniLocal.cert), 'new certificate');
      assert.equal(await backendSslVersion(fresh), 'TLSv1.3');
    } finally {
      await fresh.end();
    }
    assert.equal(await backendSslVersion(live), 'TLSv1.3', 'the live session keeps working');
    assert.equal((streamOf(live) as tls.TLSSocket).getPeerCertificate().fingerprint256, fingerprint(certs.server.cert));
  } finally {
    await live.end();
  }
});

test('reload: a generated self-signed certificate stays the same across reloads', async () => {
  const cfg = {
    listeners: [{ name: 'main', address: '127.0.0.1:0', tls: { mode: 'required' } }],
    backends: [backend(dbTls.port, { mode: 'disabled' })],
  };
  const s = await startTestSluice(dbTls.port, { config: cfg });
  sluices.push(s);
  const seenFp = async (): Promise<string> => {
    const c = await connectMy2(s.port, { ssl: { rejectUnauthorized: false } });
    try {
      return (streamOf(c) as tls.TLSSocket).getPeerCertificate().fingerprint256;
    } finally {
      await c.end();
    }
  };
  const before = await seenFp();
  s.reload(testConfig(dbTls.port, cfg));
  assert.equal(await seenFp(), before, 'a reload keeps the generated certificate (docs/tls.md "Reload")');
});
