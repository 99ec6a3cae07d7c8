// The hot-path writer of query events (pieces cached per session and per digest) must produce exactly the
// line serializeEvent() produces for the same event, for any strings and numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { queryAnalysisJson, queryEventLine, querySessionJson, serializeEvent, type QueryEvent } from '../../src/audit/events.ts';

const str = fc.string({ unit: 'binary', maxLength: 40 });
const nullableStr = fc.option(str, { nil: null });
const count = fc.oneof(fc.nat(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0));

const queryEvent: fc.Arbitrary<QueryEvent> = fc.record(
  {
    ts: str,
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

test('queryEventLine writes the same bytes as serializeEvent (property)', () => {
  fc.assert(
    fc.property(queryEvent, (e) => {
      const line = queryEventLine({
        ts: e.ts,
        conn: e.conn,
        session: querySessionJson(e.client, e.user, e.route, e.backend, e.schema),
        command: e.command,
        sql: e.sql,
        sqlTruncated: e.sql_truncated === true,
        statementIndex: e.statement_index,
        analysis: queryAnalysisJson(e.digest, e.tables),
        durationUs: e.duration_us,
        rows: e.rows,
        affected: e.affected,
        bytesOut: e.bytes_out,
        masked: e.masked,
        error: e.error,
      });
      assert.equal(line, serializeEvent(e));
    }),
    { numRuns: 1000 },
  );
});
