// The admin HTTP API of a real Sluice (issue 2 item 6, DESIGN §5.4): Prometheus metrics move with real
// traffic (connections, statements by command, handshakes by outcome), /api/v1/status and
// /api/v1/connections show the live sessions with user, schema and state, and with `admin.token_env` set
// every /api/* call needs the bearer token while /metrics stays open.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startMariaDb, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { startTestSluice } from '../harness/sluice.ts';
import { RawClient } from '../harness/raw-client.ts';
import type { SluiceHandle } from '../../src/main.ts';

type Sluice = SluiceHandle & { port: number };
const { user, password } = USERS.native;
const TOKEN_ENV = `SLUICE_TEST_TOKEN_${randomBytes(6).toString('hex').toUpperCase()}`;
const UNSET_ENV = `SLUICE_TEST_UNSET_${randomBytes(6).toString('hex').toUpperCase()}`;
const TOKEN = randomBytes(24).toString('base64url');

let db: MariaDbServer;
let open: Sluice; // no token
let guarded: Sluice; // token required on /api/*

before(async () => {
  db = await startMariaDb();
  open = await startTestSluice(db.port, { config: { admin: { address: '127.0.0.1:0', token_env: UNSET_ENV } } });
  process.env[TOKEN_ENV] = TOKEN;
  guarded = await startTestSluice(db.port, { config: { admin: { address: '127.0.0.1:0', token_env: TOKEN_ENV } } });
});
after(async () => {
  await open?.stop(500);
  await guarded?.stop(500);
  delete process.env[TOKEN_ENV];
  await db?.stop();
});

async function get(s: Sluice, path: string, token?: string): Promise<Response> {
  assert.ok(s.adminUrl !== null, 'admin API must be listening');
  return fetch(new URL(path, s.adminUrl), { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
}

async function metricsText(s: Sluice): Promise<string> {
  const r = await get(s, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  return r.text();
}

/** Value of one sample (`name{labels}` exactly as exposed, labels in registration order), 0 when absent. */
function sample(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

const connect = (port: number, database = 'testdb') => mysql.createConnection({ host: '127.0.0.1', port, user, password, database });

test('GET /metrics: connections open, statements by command and handshakes by outcome move with traffic', async () => {
  const m0 = await metricsText(open);
  assert.match(m0, /^# TYPE sluice_connections_open gauge$/m);
  assert.match(m0, /^# TYPE sluice_statements_total counter$/m);
  assert.match(m0, /^# TYPE sluice_handshakes_total counter$/m);
  const q0 = sample(m0, 'sluice_statements_total{command="COM_QUERY"}');
  const ok0 = sample(m0, 'sluice_handshakes_total{outcome="ok"}');
  const failed0 = sample(m0, 'sluice_handshakes_total{outcome="auth_failed"}');
  const open0 = sample(m0, 'sluice_connections_open{listener="main"}');

  const c = await connect(open.port);
  try {
    for (let i = 0; i < 5; i++) await c.query('SELECT ?', [i]);
    const m1 = await metricsText(open);
    assert.ok(sample(m1, 'sluice_statements_total{command="COM_QUERY"}') >= q0 + 5, 'COM_QUERY count must grow by the 5 queries');
    assert.equal(sample(m1, 'sluice_handshakes_total{outcome="ok"}'), ok0 + 1);
    assert.equal(sample(m1, 'sluice_connections_open{listener="main"}'), open0 + 1);
    assert.match(m1, /^sluice_statement_duration_seconds_count\{command="COM_QUERY"\} \d+$/m);
  } finally {
    await c.end();
  }

  await assert.rejects(mysql.createConnection({ host: '127.0.0.1', port: open.port, user, password: 'wrong' }), (e: { errno?: number }) => e.errno === 1045);
  // the gauge goes back down once both sessions are gone
  const deadline = Date.now() + 3000;
  let m2 = await metricsText(open);
  while (sample(m2, 'sluice_connections_open{listener="main"}') !== open0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    m2 = await metricsText(open);
  }
  assert.equal(sample(m2, 'sluice_handshakes_total{outcome="auth_failed"}'), failed0 + 1);
  assert.equal(sample(m2, 'sluice_connections_open{listener="main"}'), open0);
});

test('GET /api/v1/status and /api/v1/connections list the live sessions with user, schema and state', async () => {
  const idle = await connect(open.port);
  const busy = await connect(open.port, 'mysql');
  const silent = await RawClient.open(open.port);
  await silent.greeting();
  const running = busy.query('SELECT SLEEP(1)');
  try {
    await new Promise((r) => setTimeout(r, 200));
    const st = await get(open, '/api/v1/status');
    assert.equal(st.status, 200);
    const status = (await st.json()) as { version: string; uptime_s: number; listeners: Array<{ name: string; address: string; connections: number }>; connections: { open: number; total: number } };
    assert.match(status.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof status.uptime_s, 'number');
    assert.deepEqual(status.listeners.map((l) => [l.name, l.address]), [['main', `127.0.0.1:${open.port}`]]);
    assert.equal(status.listeners[0]!.connections, 3);
    assert.equal(status.connections.open, 3);
    assert.ok(status.connections.total >= 3);

    const cr = await get(open, '/api/v1/connections');
    assert.equal(cr.status, 200);
    const rows = (await cr.json()) as Array<{ conn: number; client: string; user: string | null; schema: string | null; state: string; route: string | null; backend: string | null; statements: number }>;
    assert.equal(rows.length, 3);
    const byState = new Map(rows.map((r) => [r.state, r]));
    const q = byState.get('query');
    assert.ok(q !== undefined, `no session in state "query": ${JSON.stringify(rows)}`);
    assert.equal(q.user, user);
    assert.equal(q.schema, 'mysql');
    assert.equal(q.route, 'default');
    assert.equal(q.backend, 'db1');
    const i = byState.get('idle');
    assert.ok(i !== undefined, `no idle session: ${JSON.stringify(rows)}`);
    assert.equal(i.user, user);
    assert.equal(i.schema, 'testdb');
    const h = rows.find((r) => r.user === null);
    assert.ok(h !== undefined, `no session still in the handshake: ${JSON.stringify(rows)}`);
    assert.notEqual(h.state, 'idle');
    assert.notEqual(h.state, 'query');
    for (const r of rows) assert.match(r.client, /^127\.0\.0\.1:\d+$/);
    await running;
  } finally {
    silent.destroy();
    await idle.end();
    await busy.end();
  }
});

test('with admin.token_env set, /api/* needs the bearer token (401 without) while /metrics stays open', async () => {
  assert.equal((await get(guarded, '/metrics')).status, 200);
  for (const path of ['/api/v1/status', '/api/v1/connections']) {
    const none = await get(guarded, path);
    assert.equal(none.status, 401, path);
    assert.equal(((await none.json()) as { error: string }).error, 'unauthorized');
    assert.equal((await get(guarded, path, 'not-the-token')).status, 401, path);
    assert.equal((await get(guarded, path, TOKEN)).status, 200, path);
  }
  const c = await connect(guarded.port);
  try {
    const r = await get(guarded, '/api/v1/connections', TOKEN);
    const rows = (await r.json()) as Array<{ user: string | null; schema: string | null; state: string }>;
    assert.deepEqual(rows.map((x) => [x.user, x.schema, x.state]), [[user, 'testdb', 'idle']]);
  } finally {
    await c.end();
  }
  // the token-less instance stays open
  assert.equal((await get(open, '/api/v1/status')).status, 200);
});
