// The hot-path writer of query events (pieces cached per session and per digest, written as bytes into one
// buffer per batch) must produce exactly the lines serializeEvent() produces for the same events, for any
// strings, numbers and times, mixed with events it only copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { auditTimestamp, queryAnalysisJson, querySessionJson, serializeEvent, type DisconnectEvent, type QueryEvent } from '../../src/audit/events.ts';
import { JsonLinesWriter, sqlJsonBytes } from '../../src/audit/line-writer.ts';

const str = fc.string({ unit: 'binary', maxLength: 40 });
const nullableStr = fc.option(str, { nil: null });
const count = fc.oneof(fc.nat(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0));

const queryEvent: fc.Arbitrary<QueryEvent> = fc.record(
  {
    ts: fc.constant(''), // replaced from epochMs below
    event: fc.constant('query' as const),
    conn: fc.nat(),
    client: fc.record({
      addr: str,
      tls: fc.option(fc.record({ version: str, cipher: str, sni: nullableStr }), { nil: null }),
    }),
    user: str,
    route: nullableStr,
    backend: nullableStr,
    schema: nullableStr,
    command: str,
    sql: str,
    sql_truncated: fc.constant(true as const),
    statement_index: fc.nat(),
    digest: str,
    tables: fc.array(fc.record({ schema: nullableStr, table: str, op: str }), { maxLength: 3 }),
    duration_us: count,
    rows: count,
    affected: count,
    bytes_out: count,
    masked: fc.array(str, { maxLength: 3 }),
    error: fc.option(
      fc.oneof(
        fc.record({ code: fc.nat(), sql_state: str, message: str }),
        fc.record({ code: fc.nat(), message: str }),
      ),
      { nil: null },
    ),
  },
  { requiredKeys: ['ts', 'event', 'conn', 'client', 'user', 'route', 'backend', 'schema', 'command', 'sql', 'digest', 'tables', 'duration_us', 'rows', 'affected', 'bytes_out', 'masked', 'error'] },
);

const utf8 = (x: string): Buffer => Buffer.from(x, 'utf8');
// any time from 1970 to 2100, with sub-millisecond digits
const epochMs = fc.double({ min: 0, max: 4_102_444_800_000, noNaN: true });
const other: fc.Arbitrary<DisconnectEvent> = fc.record({
  ts: str, event: fc.constant('disconnect' as const), conn: fc.nat(), duration_ms: fc.nat(), statements: fc.nat(), bytes_in: fc.nat(), bytes_out: fc.nat(), reason: str,
});
const item = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(queryEvent, epochMs).map(([e, ms]) => ({ ms, e: { ...e, ts: auditTimestamp(ms) } as QueryEvent })) },
  { weight: 1, arbitrary: other.map((e) => ({ ms: 0, e })) },
);

test('JsonLinesWriter writes the same bytes as serializeEvent, a batch per buffer (property)', () => {
  const writer = new JsonLinesWriter(64); // small: batches grow it
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 6 }), (items) => {
      for (const { ms, e } of items) {
        if (e.event !== 'query') {
          writer.line(serializeEvent(e), e.conn);
          continue;
        }
        const middle = {
          session: utf8(querySessionJson(e.client, e.user, e.route, e.backend, e.schema)),
          command: e.command,
          sql: sqlJsonBytes(e.sql),
          sqlTruncated: e.sql_truncated === true,
          statementIndex: e.statement_index,
          analysis: utf8(queryAnalysisJson(e.digest, e.tables)),
        };
        // both ways of writing a query line: from its parts, and from a middle built once (prepared statements)
        if (e.conn % 2 === 0) {
          writer.query({ ...middle, epochMs: ms, conn: e.conn, durationUs: e.duration_us, rows: e.rows, affected: e.affected, bytesOut: e.bytes_out, masked: e.masked, error: e.error });
        } else {
          writer.queryWithMiddle(ms, e.conn, writer.middle(middle), e.duration_us, e.rows, e.affected, e.bytes_out, e.masked, e.error);
        }
      }
      const chunk = writer.seal();
      assert.ok(chunk !== null);
      const want = items.map(({ e }) => `${serializeEvent(e)}\n`);
      assert.equal(chunk.buf.toString('utf8'), want.join(''));
      let at = 0;
      assert.deepEqual(chunk.ends, want.map((l) => (at += Buffer.byteLength(l, 'utf8'))));
      assert.deepEqual(chunk.conns, items.map(({ e }) => e.conn));
      assert.equal(writer.seal(), null, 'a sealed writer starts empty');
    }),
    { numRuns: 1000 },
  );
});
