import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, Counter } from 'prom-client';
import { buildAdmin, type ConnectionInfo, type StatusInfo } from '../../src/admin/build-admin.ts';
import { metrics, registry as sluiceRegistry, handshakeCounter, bytesCounter } from '../../src/metrics.ts';

const STATUS: StatusInfo = {
  version: '0.1.0',
  uptime_s: 12,
  listeners: [{ name: 'default', address: '127.0.0.1:6033', connections: 1 }],
  connections: { open: 1, total: 3 },
};
const CONN: ConnectionInfo = {
  conn: 7,
  client: '127.0.0.1:51000',
  listener: 'default',
  user: 'alice',
  schema: null,
  route: 'default',
  backend: 'default',
  state: 'idle',
  since: '2026-01-01T00:00:00.000Z',
  statements: 2,
  bytes_in: 100,
  bytes_out: 200,
  client_tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', sni: null },
  backend_tls: null,
};

function registryWith(): Registry {
  const r = new Registry();
  new Counter({ name: 'test_things_total', help: 'things', registers: [r] }).inc(3);
  return r;
}

describe('admin without a token', () => {
  const app = buildAdmin({ registry: registryWith(), status: () => STATUS, connections: () => [CONN] });
  after(() => app.close());

  test('GET /metrics serves the Prometheus text format', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.body, /^test_things_total 3$/m);
  });

  test('GET /api/v1/status returns the status callback result', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/status' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), STATUS);
  });

  test('GET /api/v1/connections returns the rows', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/connections' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), [CONN]);
  });

  test('unknown routes answer JSON {error, message} 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nope?x=1' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'not_found', message: 'no route GET /api/v1/nope' });
  });
});

describe('admin with a token', () => {
  let calls = 0;
  const app = buildAdmin({
    registry: registryWith(),
    status: () => {
      calls++;
      return STATUS;
    },
    connections: () => {
      throw new Error('boom: secret detail');
    },
    token: 's3cret',
  });
  after(() => app.close());

  test('/api/* without a token is 401 JSON and does not reach the handler', async () => {
    const before = calls;
    const res = await app.inject({ method: 'GET', url: '/api/v1/status' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error, 'unauthorized');
    assert.equal(typeof res.json().message, 'string');
    assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    assert.equal(calls, before);
  });

  test('a wrong token, a wrong scheme and a token prefix are all refused', async () => {
    for (const authorization of ['Bearer wrong', 'Basic s3cret', 'Bearer s3cre', 'Bearer s3cret2', 'Bearer', 's3cret']) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/status', headers: { authorization } });
      assert.equal(res.statusCode, 401, authorization);
    }
  });

  test('the right token is accepted (scheme case-insensitive)', async () => {
    for (const authorization of ['Bearer s3cret', 'bearer s3cret']) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/status', headers: { authorization } });
      assert.equal(res.statusCode, 200, authorization);
      assert.deepEqual(res.json(), STATUS);
    }
  });

  test('unknown /api paths are also behind the token', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v2/whatever' });
    assert.equal(res.statusCode, 401);
  });

  test('percent-encoded paths that route to /api are behind the token too', async () => {
    for (const url of ['/%61pi/v1/status', '/api/v1/%73tatus', '/%61pi/v2/none']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 401, url);
    }
  });

  test('/metrics stays open', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /test_things_total 3/);
  });

  test('a throwing callback gives a 500 JSON without the internal detail', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/connections', headers: { authorization: 'Bearer s3cret' } });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: 'internal', message: 'internal error; see the gateway log' });
    assert.doesNotMatch(res.body, /secret detail/);
  });
});

describe('metrics registry', () => {
  test('the gateway metrics are registered under their contract names with their labels', async () => {
    metrics.connectionsOpen.labels('main').inc();
    metrics.connectionsTotal.labels('main').inc();
    handshakeCounter('auth_failed').inc();
    metrics.statementsTotal.labels('COM_QUERY').inc(2);
    metrics.statementErrorsTotal.labels('COM_QUERY').inc();
    bytesCounter('backend_to_client').inc(95);
    metrics.statementDuration.labels('COM_QUERY').observe(0.00004);
    const text = await sluiceRegistry.metrics();
    assert.match(text, /^sluice_connections_open\{listener="main"\} 1$/m);
    assert.match(text, /^sluice_connections_total\{listener="main"\} 1$/m);
    assert.match(text, /^sluice_handshakes_total\{outcome="auth_failed"\} 1$/m);
    assert.match(text, /^sluice_statements_total\{command="COM_QUERY"\} 2$/m);
    assert.match(text, /^sluice_statement_errors_total\{command="COM_QUERY"\} 1$/m);
    assert.match(text, /^sluice_bytes_total\{direction="backend_to_client"\} 95$/m);
    assert.match(text, /^sluice_statement_duration_seconds_bucket\{le="0\.00005",command="COM_QUERY"\} 1$/m);
    assert.match(text, /^sluice_statement_duration_seconds_bucket\{le="10",command="COM_QUERY"\} 1$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m, 'default process metrics');
    assert.ok(Object.isFrozen(metrics));
  });

  test('nothing lands on prom-client\'s global registry', async () => {
    const { register } = await import('prom-client');
    assert.doesNotMatch(await register.metrics(), /sluice_|process_cpu/);
  });
});
