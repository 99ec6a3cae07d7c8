// Health-checked failover, drain and reload through one Sluice in front of three throwaway mariadbd
// (issue 4), each holding a marker table (`testdb.marker` = b1/b2/b3): GET /api/v1/backends and the
// `sluice_backend_up` gauge follow the health checker; drain/undrain need the admin token and move new
// connections (to the next backend or to `redirect_to`) while a live session keeps working; killing the
// first backend sends new connections to the second within one health interval, without a hang, and
// restarting it brings them back; all backends down is ERR 1429 naming the route at once; a reload swaps
// routes for new connections only, and a broken file is refused with its errors while the old routes stay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import mysql from 'mysql2/promise';
import { startMariaDb, USERS, MONITOR_USER, type MariaDbServer } from '../harness/mariadb.ts';
import { loadConfig, ConfigError } from '../../src/config/index.ts';
import { startSluice, type SluiceHandle } from '../../src/main.ts';
import { RawClient } from '../harness/raw-client.ts';

const { user, password } = USERS.native;
const suffix = randomBytes(6).toString('hex').toUpperCase();
const PW_ENV = `SLUICE_TEST_MONITOR_PW_${suffix}`;
const TOKEN_ENV = `SLUICE_TEST_ADMIN_TOKEN_${suffix}`;
const TOKEN = randomBytes(24).toString('base64url');
// probes get a timeout a loaded 2-core CI machine does not hit by accident (a false 'down' with fall 1)
const INTERVAL_MS = 700;
const TIMEOUT_MS = 600;

let f1: MariaDbServer;
let f2: MariaDbServer;
let f3: MariaDbServer;
let sluice: SluiceHandle;
let port: number;
let dir: string;
let configPath: string;
const logLines: Array<Record<string, unknown>> = [];

function configFor(appBackends: string[]): Record<string, unknown> {
  const backend = (name: string, s: MariaDbServer) => ({ name, address: `127.0.0.1:${s.port}`, tls: { mode: 'disabled' } });
  return {
    listeners: [{ name: 'main', address: '127.0.0.1:0', tls: { mode: 'disabled' } }],
    backends: [backend('b1', f1), backend('b2', f2), backend('b3', f3)],
    routes: [
      { name: 'third', match: { user_tag: 't3' }, backends: ['b3'] },
      { name: 'app', backends: appBackends },
    ],
    health_check: { interval: `${INTERVAL_MS}ms`, timeout: `${TIMEOUT_MS}ms`, fall: 1, rise: 1, user: MONITOR_USER.user, password_env: PW_ENV },
    admin: { address: '127.0.0.1:0', token_env: TOKEN_ENV },
    audit: { sinks: [] },
  };
}

before(async () => {
  [f1, f2, f3] = await Promise.all([startMariaDb(), startMariaDb(), startMariaDb()]);
  await Promise.all(
    [
      [f1, 'b1'],
      [f2, 'b2'],
      [f3, 'b3'],
    ].map(([s, name]) => (s as MariaDbServer).sql(`CREATE TABLE testdb.marker (name VARCHAR(16)); INSERT INTO testdb.marker VALUES ('${name as string}');`)),
  );
  process.env[PW_ENV] = MONITOR_USER.password;
  process.env[TOKEN_ENV] = TOKEN;
  dir = await mkdtemp(join(tmpdir(), 'sluice-failover-'));
  configPath = join(dir, 'sluice.yaml');
  await writeFile(configPath, JSON.stringify(configFor(['b1', 'b2']), null, 2));
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  sluice = await startSluice(loadConfig(configPath), { configPath, logger });
  port = sluice.listenerAddress('main').port;
  await waitFor(() => ['b1', 'b2', 'b3'].every((b) => status(b) === 'up'), 5000, 'all backends up');
});
after(async () => {
  await sluice?.stop(1000);
  await Promise.all([f1?.stop(), f2?.stop(), f3?.stop()]);
  delete process.env[PW_ENV];
  delete process.env[TOKEN_ENV];
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function status(name: string): string {
  return sluice.gateway.state.health(name).status;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    assert.ok(Date.now() - started < ms, `timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

/** A promise that must settle within `ms`: a hang fails the test instead of blocking it. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

async function open(tag = ''): Promise<mysql.Connection> {
  return bounded(mysql.createConnection({ host: '127.0.0.1', port, user: `${tag}${user}`, password, connectTimeout: 3000 }), 4000, 'connect');
}

async function marker(c: mysql.Connection): Promise<string> {
  const [rows] = await bounded(c.query('SELECT name FROM testdb.marker'), 4000, 'query');
  return (rows as Array<{ name: string }>)[0]!.name;
}

/** Which backend a new connection reaches (the connection is closed again). */
async function lands(tag = ''): Promise<string> {
  const c = await open(tag);
  try {
    return await marker(c);
  } finally {
    await c.end();
  }
}

type Err = { errno?: number; sqlState?: string; message: string };
async function landsOrError(): Promise<string | Err> {
  try {
    return await lands();
  } catch (e) {
    return e as Err;
  }
}

function admin(method: 'GET' | 'POST', path: string, opts: { token?: string; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(5000) };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  return fetch(new URL(path, sluice.adminUrl!), init);
}

interface BackendRow {
  name: string;
  routes: string[];
  role: string;
  health: { status: string; latencyMs: number | null; version: string | null; lastError: string | null };
  drain: { draining: boolean; redirect_to: string | null };
}
async function backends(): Promise<Record<string, BackendRow>> {
  const r = await admin('GET', '/api/v1/backends', { token: TOKEN });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { backends: BackendRow[] };
  return Object.fromEntries(body.backends.map((b) => [b.name, b]));
}

async function backendUp(): Promise<Record<string, number>> {
  const text = await (await admin('GET', '/metrics')).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^sluice_backend_up\{backend="([^"]+)"\} (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

test('GET /api/v1/backends shows health from the monitor login, and sluice_backend_up is 1 for each', async () => {
  await waitFor(() => ['b1', 'b2', 'b3'].every((b) => status(b) === 'up'), 5000, 'all backends up');
  assert.equal((await admin('GET', '/api/v1/backends')).status, 401);
  const b = await backends();
  assert.deepEqual(Object.keys(b).sort(), ['b1', 'b2', 'b3']);
  for (const name of ['b1', 'b2', 'b3']) {
    assert.equal(b[name]!.health.status, 'up');
    assert.equal(b[name]!.role, 'read_write'); // read_only is learned through the monitor login
    assert.match(b[name]!.health.version ?? '', /MariaDB/);
    assert.equal(typeof b[name]!.health.latencyMs, 'number');
    assert.equal(b[name]!.drain.draining, false);
  }
  assert.deepEqual(b['b1']!.routes, ['app']);
  assert.deepEqual(await backendUp(), { b1: 1, b2: 1, b3: 1 });
  assert.equal(await lands(), 'b1');
  assert.equal(await lands('t3.'), 'b3');
});

test('drain and undrain: 401 without the token; with it, new connections move while a live session stays', async () => {
  await waitFor(() => ['b1', 'b2', 'b3'].every((b) => status(b) === 'up'), 5000, 'all backends up');
  for (const path of ['/api/v1/backends/b1/drain', '/api/v1/backends/b1/undrain']) {
    assert.equal((await admin('POST', path, { body: {} })).status, 401, path);
    assert.equal((await admin('POST', path, { token: 'not-the-token', body: {} })).status, 401, path);
  }
  assert.equal(status('b1'), 'up', JSON.stringify(sluice.gateway.state.health('b1')));
  assert.equal(sluice.gateway.state.drainState('b1').draining, false, 'a refused verb changed nothing');

  const live = await open();
  try {
    assert.equal(await marker(live), 'b1');
    const d = await admin('POST', '/api/v1/backends/b1/drain', { token: TOKEN, body: { reason: 'maintenance' } });
    assert.equal(d.status, 200, await d.clone().text());
    assert.equal((await backends())['b1']!.drain.draining, true);
    assert.equal(await lands(), 'b2', 'the next backend in order');
    assert.equal(await marker(live), 'b1', 'the existing session is untouched');

    const r = await admin('POST', '/api/v1/backends/b1/drain', { token: TOKEN, body: { redirect_to: 'b3' } });
    assert.equal(r.status, 200, await r.clone().text());
    const row = (await backends())['b1']!;
    assert.deepEqual(row.drain.draining, true);
    assert.equal(row.drain.redirect_to, 'b3');
    assert.equal(row.health.status, 'up');
    assert.equal(await lands(), 'b3', 'redirect_to');

    const u = await admin('POST', '/api/v1/backends/b1/undrain', { token: TOKEN, body: {} });
    assert.equal(u.status, 200, await u.clone().text());
    assert.equal((await backends())['b1']!.drain.draining, false);
    assert.equal(await lands(), 'b1');
    assert.equal(await marker(live), 'b1');
  } finally {
    await live.end();
  }
  const actions = logLines.filter((l) => l['msg'] === 'admin action' && l['ok'] === true).map((l) => [l['verb'], l['target']]);
  assert.deepEqual(actions.slice(-3), [
    ['backend.drain', 'b1'],
    ['backend.drain', 'b1'],
    ['backend.undrain', 'b1'],
  ]);
});

test('failover: kill b1, new connections reach b2 within one health interval and never hang; restart, back to b1', async () => {
  const killedAt = Date.now();
  f1.kill();
  // before any health verdict: this connection's own connect failure moves it to the next backend
  assert.equal(await lands(), 'b2', 'a refused connect goes to the next backend in failover order at once');
  const seen: Array<string | number> = [];
  for (;;) {
    const t0 = Date.now();
    const r = await landsOrError();
    assert.ok(Date.now() - t0 < 3000, `an attempt hung for ${Date.now() - t0} ms`);
    if (typeof r !== 'string') {
      // before the checker's verdict: a fast ERR naming the route, never a hang
      assert.equal(r.errno, 1429, r.message);
      assert.match(r.message, /\(sluice: route app\)/);
    }
    seen.push(typeof r === 'string' ? r : r.errno ?? -1);
    if (r === 'b2') break;
    assert.ok(Date.now() - killedAt < 5000, `no failover within 5 s: ${seen.join(',')}`);
    await new Promise((res) => setTimeout(res, 10));
  }
  const failoverMs = Date.now() - killedAt;
  // one (jittered, +10 %) interval until the probe that fails at once (connection refused), plus slack
  assert.ok(failoverMs <= INTERVAL_MS * 1.1 + TIMEOUT_MS + 1500, `failover took ${failoverMs} ms (${seen.join(',')})`);
  await waitFor(() => status('b1') === 'down', INTERVAL_MS * 1.1 + TIMEOUT_MS + 1500, 'b1 marked down');
  const row = (await backends())['b1']!;
  assert.equal(row.health.status, 'down');
  assert.ok(row.health.lastError !== null);
  assert.equal((await backendUp())['b1'], 0);
  assert.ok(logLines.some((l) => l['msg'] === 'backend health changed' && l['backend'] === 'b1' && l['to'] === 'down'));
  assert.equal(await lands(), 'b2');

  await f1.restart();
  const upAfter = await waitFor(() => status('b1') === 'up', INTERVAL_MS * 1.1 + TIMEOUT_MS + 1500, 'b1 up again');
  assert.ok(upAfter >= 0);
  assert.equal(await lands(), 'b1', 'traffic returns per the failover order');
  assert.equal((await backendUp())['b1'], 1);
});

test('all backends of a route down: ERR 1429 naming the route, at once', async () => {
  f1.kill();
  f2.kill();
  try {
    await waitFor(() => status('b1') === 'down' && status('b2') === 'down', 3000, 'b1 and b2 down');
    const t0 = Date.now();
    await assert.rejects(lands(), (e: Err) => {
      assert.equal(e.errno, 1429);
      assert.equal(e.sqlState, 'HY000');
      assert.match(e.message, /^Unable to connect to foreign data source: .*route app.*\(sluice: route app\)$/);
      assert.match(e.message, /b1 \(down/);
      assert.match(e.message, /b2 \(down/);
      return true;
    });
    assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
    assert.equal(await lands('t3.'), 'b3', 'other routes keep working');
  } finally {
    await Promise.all([f1.restart(), f2.restart()]);
  }
  await waitFor(() => status('b1') === 'up' && status('b2') === 'up', 3000, 'b1 and b2 up again');
  assert.equal(await lands(), 'b1');
});

test('reload: a changed file swaps routes for new connections, a live session is untouched; a broken file is refused', async () => {
  const live = await open();
  try {
    assert.equal(await marker(live), 'b1');
    await writeFile(configPath, JSON.stringify(configFor(['b3', 'b1']), null, 2));
    assert.equal((await admin('POST', '/api/v1/reload', { body: {} })).status, 401);
    assert.equal(await lands(), 'b1', 'nothing changed without the token');
    const r = await admin('POST', '/api/v1/reload', { token: TOKEN, body: { reason: 'swap' } });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(await lands(), 'b3');
    assert.equal(await marker(live), 'b1', 'the live session keeps its backend');

    // a syntax error
    await writeFile(configPath, 'listeners: [\n  { name: main\nroutes: ]\n');
    const bad = await admin('POST', '/api/v1/reload', { token: TOKEN, body: {} });
    assert.equal(bad.status, 400);
    const badBody = (await bad.json()) as { error: string; issues: string[] };
    assert.equal(badBody.error, 'invalid_config');
    assert.ok(badBody.issues.length > 0);
    assert.equal(await lands(), 'b3', 'the old routes keep working');

    // an unknown key
    await writeFile(configPath, JSON.stringify({ ...configFor(['b2']), bogus_key: 1 }, null, 2));
    const unknown = await admin('POST', '/api/v1/reload', { token: TOKEN, body: {} });
    assert.equal(unknown.status, 400);
    const unknownBody = (await unknown.json()) as { issues: string[] };
    assert.ok(unknownBody.issues.some((i) => i.includes('bogus_key')), JSON.stringify(unknownBody.issues));
    assert.throws(() => sluice.reloadFromFile(), (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.includes('bogus_key')));
    assert.equal(await lands(), 'b3', 'the old routes keep working');
    assert.equal(await marker(live), 'b1');

    // reloadFromFile with a good file again
    await writeFile(configPath, JSON.stringify(configFor(['b2', 'b1']), null, 2));
    assert.deepEqual(sluice.reloadFromFile(), { source: configPath });
    assert.equal(await lands(), 'b2');
    assert.equal(await marker(live), 'b1');
  } finally {
    await live.end();
  }
});

test('a backend dialled before the greeting, dropped for a redirect that failed, is dialled again when the route comes back to it', async () => {
  // `bx` forwards to f1 (so its health probes pass) until trapped: then it takes the next connection and
  // holds it, and the test closes it once b1 is undrained (the redirect's dial fails, b1 is routed again)
  let trap: ((s: Socket) => void) | null = null;
  const bx = createServer((s) => {
    if (trap !== null) return trap(s);
    const up = tcpConnect({ host: '127.0.0.1', port: f1.port });
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
    s.pipe(up).pipe(s);
  });
  await new Promise<void>((resolve) => bx.listen(0, '127.0.0.1', resolve));
  const bxPort = (bx.address() as { port: number }).port;
  const cfgPath = join(dir, 'redial.yaml');
  await writeFile(
    cfgPath,
    JSON.stringify({
      listeners: [{ name: 'main', address: '127.0.0.1:0', tls: { mode: 'disabled' } }],
      backends: [
        { name: 'b1', address: `127.0.0.1:${f1.port}`, tls: { mode: 'disabled' } },
        { name: 'bx', address: `127.0.0.1:${bxPort}`, tls: { mode: 'disabled' } },
      ],
      routes: [{ name: 'only', backends: ['b1'] }],
      health_check: { interval: '60s', timeout: '2s', user: MONITOR_USER.user, password_env: PW_ENV },
      audit: { sinks: [] },
    }),
  );
  const s2 = await startSluice(loadConfig(cfgPath), { logger: pino({ level: 'silent' }) });
  const c = await RawClient.open(s2.listenerAddress('main').port);
  try {
    const state = s2.gateway.state;
    await waitFor(() => state.health('b1').status === 'up' && state.health('bx').status === 'up', 5000, 'b1 and bx up');
    // one backend, no client matchers: Sluice dials b1 before its greeting and hands the client b1's scramble
    const g = await c.greeting();
    const held = new Promise<Socket>((resolve) => (trap = resolve));
    state.drain('b1', 'bx');
    const login = c.authenticate(user, password, g.scramble);
    const victim = await bounded(held, 4000, 'the redirect to bx');
    state.undrain('b1');
    victim.destroy(); // bx "closed the connection before its greeting": the next route is b1 again
    await bounded(login, 4000, 'login after the failover back to b1');
    const sessions = s2.gateway.sessions();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.backend, 'b1');
  } finally {
    c.destroy();
    await s2.stop(1000);
    await new Promise((resolve) => bx.close(resolve));
  }
});
