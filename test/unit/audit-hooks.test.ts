// The audit hooks as a session drives them: a prepared statement's executions are written from the shape
// built on its first execution in a session, and must give the lines (and digest statistics) the general
// path gives: per session facts (a schema change is a new facts object), with errors and masked columns,
// and uncut only (a statement longer than max_sql_length takes the general path and is flagged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createAuditor } from '../../src/audit/auditor.ts';
import { DigestStats } from '../../src/audit/digest-stats.ts';
import type { Batch } from '../../src/audit/queue.ts';
import type { AuditSink } from '../../src/audit/sink.ts';
import { AnalysisCache } from '../../src/sql/cache.ts';
import { auditHooks } from '../../src/session/audit-hooks.ts';
import type { SessionFacts } from '../../src/session/hooks.ts';
import type { CommandStart, StatementResult } from '../../src/session/result-tracker.ts';

interface QueryLine {
  event: string;
  conn: number;
  schema: string | null;
  command: string;
  sql: string;
  sql_truncated?: true;
  digest: string;
  tables: Array<{ schema: string | null; table: string; op: string }>;
  duration_us: number;
  rows: number;
  affected: number;
  bytes_out: number;
  masked: string[];
  error: { code: number; sql_state?: string; message: string } | null;
}

class MemorySink implements AuditSink {
  readonly name = 'memory';
  readonly lines: string[] = [];
  open(): Promise<void> {
    return Promise.resolve();
  }
  write(batch: Batch): Promise<void> {
    for (let i = 0; i < batch.count; i++) this.lines.push(batch.line(i).toString('utf8'));
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const facts = (schema: string): SessionFacts => ({
  conn: 7, listener: 'main', clientAddress: '10.0.0.9:5000', clientTls: null, user: 'app', schema, route: 'r1', backend: 'db1',
});

const execute = (sql: string, statementId = 1): CommandStart => ({
  seqNo: 1, code: 0x17, name: 'COM_STMT_EXECUTE', sql, sqlTruncated: false, statementId, startedAt: 0,
});

const result = (command: CommandStart, more: Partial<StatementResult> = {}): StatementResult => ({
  command, index: 0, rows: 1, affectedRows: 0, lastInsertId: 0, warnings: 0, error: null, bytesOut: 90, durationNs: 250_000, ...more,
});

async function run(maxSql: number, drive: (h: ReturnType<typeof auditHooks>) => void): Promise<{ lines: QueryLine[]; stats: DigestStats }> {
  const sink = new MemorySink();
  const registry = new Registry();
  const auditor = createAuditor(
    { sinks: [], events: ['query'], max_sql_length: maxSql, when_full: 'block' },
    { registry, logger: pino({ level: 'silent' }), extraSinks: [sink] },
  );
  const stats = new DigestStats({ registry });
  const hooks = auditHooks(auditor, stats, new AnalysisCache());
  drive(hooks);
  hooks.flush();
  await auditor.close({ timeoutMs: 2000 });
  stats.close();
  return { lines: sink.lines.map((l) => JSON.parse(l) as QueryLine), stats };
}

test('executions of one prepared statement: the same line each time, tables in the session schema of the moment', async () => {
  const sql = 'SELECT name FROM users WHERE id = ?';
  const inShop = facts('shop');
  const inCrm = facts('crm'); // USE crm: the session hands the hooks new facts
  const { lines, stats } = await run(4096, (h) => {
    h.onStatement?.(inShop, result(execute(sql)));
    h.onStatement?.(inShop, result(execute(sql), { rows: 0, durationNs: 1_500_000, bytesOut: 11 }));
    h.onStatement?.(inCrm, result(execute(sql)));
  });
  assert.equal(lines.length, 3);
  const [first, second, third] = lines as [QueryLine, QueryLine, QueryLine];
  for (const l of lines) {
    assert.deepEqual(
      { event: l.event, conn: l.conn, command: l.command, sql: l.sql, digest: l.digest, truncated: l.sql_truncated, masked: l.masked, error: l.error },
      { event: 'query', conn: 7, command: 'COM_STMT_EXECUTE', sql, digest: 'SELECT name FROM users WHERE id = ?', truncated: undefined, masked: [], error: null },
    );
  }
  assert.deepEqual([first.rows, first.duration_us, first.bytes_out], [1, 250, 90]);
  assert.deepEqual([second.rows, second.duration_us, second.bytes_out], [0, 1500, 11]);
  assert.deepEqual([first.schema, first.tables], ['shop', [{ schema: 'shop', table: 'users', op: 'select' }]]);
  assert.deepEqual([third.schema, third.tables], ['crm', [{ schema: 'crm', table: 'users', op: 'select' }]]);
  const [row] = stats.top(1);
  assert.deepEqual([row?.calls, row?.rows, row?.total_ms], [3, 2, 2]);
});

test('an execution that failed, or whose columns were masked, says so in its line', async () => {
  const sql = 'INSERT INTO t (id) VALUES (?)';
  const s = facts('shop');
  const { lines, stats } = await run(4096, (h) => {
    h.onStatement?.(s, result(execute(sql), { rows: 0, affectedRows: 1 }));
    h.onStatement?.(s, result(execute(sql), { rows: 0, error: { code: 1062, sqlState: '23000', message: "Duplicate entry '1'" } }));
    h.onStatement?.(s, result(execute('SELECT phone FROM users', 2), { masked: ['phone'] }));
  });
  assert.deepEqual(
    lines.map((l) => [l.affected, l.error, l.masked]),
    [
      [1, null, []],
      [0, { code: 1062, sql_state: '23000', message: "Duplicate entry '1'" }, []],
      [0, null, ['phone']],
    ],
  );
  assert.equal(stats.top(2).find((r) => r.digest.startsWith('INSERT'))?.errors, 1);
});

test('a prepared statement longer than max_sql_length is cut and flagged on every execution', async () => {
  const sql = `SELECT id FROM users WHERE name IN (${Array.from({ length: 30 }, () => '?').join(', ')})`;
  const s = facts('shop');
  const { lines } = await run(40, (h) => {
    h.onStatement?.(s, result(execute(sql)));
    h.onStatement?.(s, result(execute(sql)));
  });
  assert.equal(lines.length, 2);
  for (const l of lines) {
    assert.equal(l.sql, sql.slice(0, 40));
    assert.equal(l.sql_truncated, true);
    assert.deepEqual(l.tables, [{ schema: 'shop', table: 'users', op: 'select' }], 'analysed from the whole statement');
  }
});
