// Session hooks that turn what the ResultTracker reports into audit events (DESIGN §5.5): one query event
// per statement (each statement of a multi-statement gets its own SQL), with digest and tables from the
// per-digest AnalysisCache of src/sql, so the SQL parser only runs on a digest's first sighting.
// The same per-statement analysis feeds the digest statistics. When the audit queue is full and
// `when_full: block`, the returned promise pauses the client's reads.
import type { Auditor } from '../audit/auditor.ts';
import type { DigestStats } from '../audit/digest-stats.ts';
import { auditTimestamp, type AuditError, type ClientFacts } from '../audit/events.ts';
import type { AnalysisCache } from '../sql/cache.ts';
import { splitStatements } from '../sql/digest.ts';
import type { SessionFacts, SessionHooks } from './hooks.ts';
import type { CommandStart } from './result-tracker.ts';

const EMPTY: readonly never[] = Object.freeze([]);

export function auditHooks(auditor: Auditor | null, stats: DigestStats | null, cache: AnalysisCache): SessionHooks {
  const client = (s: SessionFacts): ClientFacts => ({ addr: s.clientAddress, tls: s.clientTls ?? null });
  const wants = (k: Parameters<Auditor['wants']>[0]): boolean => auditor !== null && auditor.wants(k);
  const wantQuery = wants('query');
  // per command: the statements of a multi-statement, split once on its second result
  let split: { cmd: CommandStart; parts: string[] } | null = null;
  const statementSql = (cmd: CommandStart, index: number): string => {
    const sql = cmd.sql ?? '';
    if (index === 0 && !sql.includes(';')) return sql;
    if (split?.cmd !== cmd) split = { cmd, parts: splitStatements(sql) };
    return split.parts[index] ?? sql;
  };
  const hooks: SessionHooks = {
    wantsSql: wantQuery || stats !== null,
    onConnect(s) {
      if (auditor !== null && wants('connect')) return settle(auditor.emit({ ts: auditTimestamp(), event: 'connect', conn: s.conn, client: client(s), listener: s.listener }));
    },
    onAuth(s, o) {
      if (auditor === null || !wants('auth')) return;
      return settle(
        auditor.emit({
          ts: auditTimestamp(),
          event: 'auth',
          conn: s.conn,
          client: client(s),
          user: s.user ?? '',
          route: s.route,
          backend: s.backend,
          schema: s.schema,
          ok: o.ok,
          error: auditError(o.error),
        }),
      );
    },
    onStatement(s, r) {
      const cmd = r.command;
      const sql = statementSql(cmd, r.index);
      const a = sql === '' ? null : cache.analyzeCached(sql);
      const tables = a === null ? EMPTY : a.analysis.tables.map((t) => ({ schema: t.schema ?? s.schema, table: t.table, op: t.op }));
      if (stats !== null && a !== null) {
        stats.record({ digest: a.digest, hash: a.hash, user: s.user ?? '', tables, durationNs: r.durationNs, rows: r.rows, error: r.error !== null });
      }
      if (auditor === null || !wantQuery) return;
      return settle(
        auditor.emit({
          ts: auditTimestamp(),
          event: 'query',
          conn: s.conn,
          client: client(s),
          user: s.user ?? '',
          route: s.route,
          backend: s.backend,
          schema: s.schema,
          command: cmd.name,
          sql,
          ...(cmd.sqlTruncated ? { sql_truncated: true as const } : {}),
          ...(r.index > 0 || sql !== (cmd.sql ?? '') ? { statement_index: r.index } : {}),
          digest: a?.digest ?? '',
          tables,
          duration_us: Number(r.durationNs / 1000n),
          rows: r.rows,
          affected: r.affectedRows,
          bytes_out: r.bytesOut,
          masked: r.masked ?? EMPTY,
          error: auditError(r.error),
        }),
      );
    },
    onDisconnect(s, t) {
      if (auditor === null || !wants('disconnect')) return;
      return settle(
        auditor.emit({
          ts: auditTimestamp(),
          event: 'disconnect',
          conn: s.conn,
          duration_ms: t.durationMs,
          statements: t.statements,
          bytes_in: t.bytesIn,
          bytes_out: t.bytesOut,
          reason: t.reason,
        }),
      );
    },
  };
  return hooks;
}

function auditError(e: { code: number; sqlState: string | null; message: string } | null): AuditError | null {
  return e === null ? null : { code: e.code, ...(e.sqlState !== null ? { sql_state: e.sqlState } : {}), message: e.message };
}

/** `true`/`false` (accepted/dropped and counted) need nothing; a promise is the back-pressure signal. */
function settle(r: true | false | Promise<void>): Promise<void> | undefined {
  return r === true || r === false ? undefined : r;
}
