import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  auditTimestamp,
  limitQuerySql,
  serializeEvent,
  truncateSql,
  type AuditEvent,
  type QueryEvent,
} from '../../src/audit/events.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const query = (over: Partial<QueryEvent> = {}): QueryEvent => ({
  ts: '2026-11-21T10:00:00.123456Z',
  event: 'query',
  conn: 42,
  client: { addr: '10.1.2.3:51000', tls: { version: 'TLSv1.3', sni: 'orders.db.example.com' } },
  user: 'alice',
  route: 'orders',
  backend: 'orders-primary',
  schema: 'orders_eu',
  command: 'COM_QUERY',
  sql: 'SELECT phone FROM users WHERE id = 7',
  digest: 'SELECT phone FROM users WHERE id = ?',
  tables: [{ schema: 'orders_eu', table: 'users', op: 'select' }],
  duration_us: 412,
  rows: 1,
  affected: 0,
  bytes_out: 95,
  masked: ['phone'],
  error: null,
  ...over,
});

test('query event serializes to the exact line of DESIGN §5.5', () => {
  const expected =
    '{"ts":"2026-11-21T10:00:00.123456Z","event":"query","conn":42,' +
    '"client":{"addr":"10.1.2.3:51000","tls":{"version":"TLSv1.3","sni":"orders.db.example.com"}},' +
    '"user":"alice","route":"orders","backend":"orders-primary","schema":"orders_eu",' +
    '"command":"COM_QUERY","sql":"SELECT phone FROM users WHERE id = 7","digest":"SELECT phone FROM users WHERE id = ?",' +
    '"tables":[{"schema":"orders_eu","table":"users","op":"select"}],' +
    '"duration_us":412,"rows":1,"affected":0,"bytes_out":95,"masked":["phone"],' +
    '"error":null}';
  assert.equal(serializeEvent(query()), expected);
});

test('key order is fixed by the serializer, not by how the object was built', () => {
  const q = query();
  const shuffled = Object.fromEntries(Object.entries(q).reverse()) as unknown as QueryEvent;
  assert.equal(serializeEvent(shuffled), serializeEvent(q));
  assert.ok(serializeEvent(shuffled).startsWith('{"ts":"2026-11-21T10:00:00.123456Z","event":"query","conn":42,'));
});

test('every event kind round-trips through JSON.parse to the same value', () => {
  const events: AuditEvent[] = [
    { ts: auditTimestamp(), event: 'connect', conn: 1, client: { addr: '127.0.0.1:1', tls: null }, listener: 'main' },
    { ts: auditTimestamp(), event: 'connect', conn: 2, client: { addr: '[::1]:2', tls: { version: 'TLSv1.2', sni: null, cipher: 'ECDHE' } } },
    {
      ts: auditTimestamp(), event: 'auth', conn: 1, user: 'bob', route: null, backend: null, ok: false,
      error: { code: 1045, sql_state: '28000', message: "Access denied for user 'bob'" },
    },
    { ts: auditTimestamp(), event: 'auth', conn: 3, client: { addr: 'a:1', tls: null }, user: 'x', route: 'r', backend: 'b', schema: null, ok: true, error: null },
    query({ sql_truncated: true, statement_index: 2, error: { code: 1064, message: 'syntax "error"' }, tables: [], masked: [] }),
    { ts: auditTimestamp(), event: 'disconnect', conn: 1, duration_ms: 12.5, statements: 3, bytes_in: 10, bytes_out: 20, reason: 'client_quit' },
    {
      ts: auditTimestamp(), event: 'admin', conn: 0, caller: 'token:ops', verb: 'backend.drain', target: 'orders-primary', reason: 'TICKET-1', ok: true,
      details: { redirect_to: 'orders-replica', ttl_s: 7200, force: false, note: null },
    },
  ];
  for (const e of events) {
    const line = serializeEvent(e);
    assert.ok(!line.includes('\n'), 'a line never contains a newline');
    assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(e)));
    assert.ok(line.startsWith(`{"ts":"${e.ts}","event":"${e.event}","conn":${e.conn}`));
  }
});

test('hostile strings stay on one line and parse back unchanged (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string(), (sql, user, digest) => {
      const line = serializeEvent(query({ sql, user, digest }));
      assert.ok(!line.includes('\n') && !line.includes('\r'));
      const back = JSON.parse(line) as QueryEvent;
      assert.equal(back.user, user);
      assert.equal(back.digest, digest);
      // lone surrogates are escaped (well-formed JSON.stringify), so they survive as the same code units
      assert.equal(back.sql, sql);
    }),
    { numRuns: 500 },
  );
});

test('non-finite numbers become null instead of breaking the line', () => {
  const line = serializeEvent(query({ duration_us: Number.NaN, rows: Infinity }));
  const back = JSON.parse(line) as Record<string, unknown>;
  assert.equal(back.duration_us, null);
  assert.equal(back.rows, null);
});

test('auditTimestamp: ISO 8601 UTC with 6 fractional digits', () => {
  assert.equal(auditTimestamp(Date.UTC(2026, 10, 21, 10, 0, 0, 123) + 0.4567), '2026-11-21T10:00:00.123456Z');
  assert.equal(auditTimestamp(Date.UTC(2026, 0, 1, 0, 0, 5, 0)), '2026-01-01T00:00:05.000000Z');
  assert.equal(auditTimestamp(Date.UTC(2026, 0, 1, 0, 0, 6, 7)), '2026-01-01T00:00:06.007000Z');
  assert.match(auditTimestamp(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const now = Date.now();
  assert.ok(Math.abs(Date.parse(auditTimestamp()) - now) < 5_000);
});

test('truncateSql keeps short SQL and cuts long SQL to max code units', () => {
  assert.deepEqual(truncateSql('SELECT 1', 8), { sql: 'SELECT 1', truncated: false });
  assert.deepEqual(truncateSql('SELECT 12', 8), { sql: 'SELECT 1', truncated: true });
  assert.deepEqual(truncateSql('abc', 0), { sql: '', truncated: true });
});

test('truncateSql never splits a surrogate pair', () => {
  const s = 'ab\u{1F600}cd'; // a b <hi lo> c d
  assert.deepEqual(truncateSql(s, 3), { sql: 'ab', truncated: true }); // cut would fall inside the emoji
  assert.deepEqual(truncateSql(s, 4), { sql: 'ab\u{1F600}', truncated: true });
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat(50), (str, max) => {
      const r = truncateSql(str, max);
      assert.ok(r.sql.length <= max);
      assert.ok(str.startsWith(r.sql));
      assert.equal(r.truncated, str.length > max);
      assert.ok(!LONE_SURROGATE.test(r.sql), 'result is valid Unicode');
    }),
  );
});

test('limitQuerySql flags the event, and leaves short ones untouched (same object)', () => {
  const q = query({ sql: 'x'.repeat(5000) });
  const cut = limitQuerySql(q, 4096);
  assert.equal(cut.sql.length, 4096);
  assert.equal(cut.sql_truncated, true);
  assert.equal((JSON.parse(serializeEvent(cut)) as { sql_truncated?: boolean }).sql_truncated, true);
  const short = query();
  assert.equal(limitQuerySql(short, 4096), short);
  assert.equal('sql_truncated' in JSON.parse(serializeEvent(short)), false);
});
