// Session hooks that turn what the ResultTracker reports into audit events (DESIGN §5.5): one query event
// per statement (each statement of a multi-statement gets its own SQL), with digest and tables from the
// per-digest AnalysisCache of src/sql, so the SQL parser only runs on a digest's first sighting.
// The same per-statement analysis feeds the digest statistics. When the audit queue is full and
// `when_full: block`, the returned promise pauses the client's reads.
import type { Auditor } from '../audit/auditor.ts';
import type { DigestStats } from '../audit/digest-stats.ts';
import { auditTimestamp, queryAnalysisJson, queryEventLine, querySessionJson, truncateSql, type AuditError, type AuditEvent, type ClientFacts, type TableAccess } from '../audit/events.ts';
import type { AnalysisCache, CachedAnalysis } from '../sql/cache.ts';
import { splitStatements } from '../sql/digest.ts';
import type { SessionFacts, SessionHooks } from './hooks.ts';
import type { CommandStart, StatementResult } from './result-tracker.ts';

const EMPTY: readonly never[] = Object.freeze([]);

/** Statements waiting for the batch step: facts + result as the tracker reported them, and when. */
interface PendingStatement {
  readonly s: SessionFacts;
  readonly r: StatementResult;
  readonly ts: string;
}

/** Most statements held before a batch runs at once (the timer normally runs it first). */
const BATCH_MAX = 256;
/** ms a statement may wait for its batch; the sink driver lingers 5 ms anyway. */
const BATCH_DELAY_MS = 1;

export interface AuditHooks extends SessionHooks {
  /** Runs the pending batch now (before the auditor closes, or before digest statistics are read). */
  flush(): void;
}

export function auditHooks(auditor: Auditor | null, stats: DigestStats | null, cache: AnalysisCache): AuditHooks {
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

  // Per-statement work (analysis, statistics, serialisation) runs in batches, off the relay's round trip:
  // measured under load, the same work done one statement at a time between socket events costs several
  // times what it costs in a tight loop (cold caches after every context switch). Events of one batch
  // keep their order, and connection events go through the same batch, so per-connection order holds.
  let pending: Array<PendingStatement | AuditEvent> = [];
  let timer: NodeJS.Timeout | null = null;

  // what every statement of a session / of a digest shares, serialized once
  const sessionJson = new WeakMap<SessionFacts, string>();
  const sessionPart = (s: SessionFacts): string => {
    let j = sessionJson.get(s);
    if (j === undefined) {
      j = querySessionJson(client(s), s.user ?? '', s.route, s.backend, s.schema);
      sessionJson.set(s, j);
    }
    return j;
  };
  // unqualified tables are in the session's schema: one memo per analysis for the schema seen last
  const tablesMemo = new WeakMap<object, { schema: string | null; tables: readonly TableAccess[]; json: string }>();
  const tablesIn = (a: CachedAnalysis, schema: string | null): { tables: readonly TableAccess[]; json: string } => {
    let m = tablesMemo.get(a.analysis);
    if (m === undefined || m.schema !== schema) {
      const tables = a.analysis.tables.map((t) => ({ schema: t.schema ?? schema, table: t.table, op: t.op }));
      m = { schema, tables, json: queryAnalysisJson(a.digest, tables) };
      tablesMemo.set(a.analysis, m);
    }
    return m;
  };
  const NO_ANALYSIS = { tables: EMPTY, json: queryAnalysisJson('', EMPTY) };

  const record = (p: PendingStatement): Ret => {
    const { s, r } = p;
    const cmd = r.command;
    const sql = statementSql(cmd, r.index);
    const a = sql === '' ? null : cache.analyzeCached(sql);
    const t = a === null ? NO_ANALYSIS : tablesIn(a, s.schema);
    if (stats !== null && a !== null) {
      stats.record({ digest: a.digest, hash: a.hash, user: s.user ?? '', tables: t.tables, durationNs: r.durationNs, rows: r.rows, error: r.error !== null });
    }
    if (auditor === null || !wantQuery) return;
    const cut = sql.length > auditor.maxSqlLength ? truncateSql(sql, auditor.maxSqlLength) : null;
    const line = queryEventLine({
      ts: p.ts,
      conn: s.conn,
      session: sessionPart(s),
      command: cmd.name,
      sql: cut?.sql ?? sql,
      sqlTruncated: cmd.sqlTruncated || cut !== null,
      statementIndex: r.index > 0 || sql !== (cmd.sql ?? '') ? r.index : undefined,
      analysis: t.json,
      durationUs: Math.round(r.durationNs / 1000),
      rows: r.rows,
      affected: r.affectedRows,
      bytesOut: r.bytesOut,
      masked: r.masked ?? EMPTY,
      error: auditError(r.error),
    });
    return settle(auditor.emitLine('query', s.conn, line));
  };

  /** Runs every pending item in order; returns the back-pressure signal of the last one (if any). */
  const flush = (): Ret => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    let last: Ret = undefined;
    for (const p of batch) last = 'event' in p ? settle(auditor!.emit(p)) : record(p);
    return last;
  };

  /** Queues an item; runs the batch at once when it is full or when the audit queue has no room left
   * (so `when_full: block` still pauses the session that produced the event, and `drop` counts it). */
  const defer = (p: PendingStatement | AuditEvent): Ret => {
    pending.push(p);
    if (pending.length >= BATCH_MAX || (auditor !== null && auditor.room() <= pending.length)) return flush();
    timer ??= setTimeout(flush, BATCH_DELAY_MS);
  };

  return {
    wantsSql: wantQuery || stats !== null,
    flush: () => void flush(),
    onConnect(s) {
      if (auditor !== null && wants('connect')) return defer({ ts: auditTimestamp(), event: 'connect', conn: s.conn, client: client(s), listener: s.listener });
    },
    onAuth(s, o) {
      if (auditor === null || !wants('auth')) return;
      return defer({
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
      });
    },
    onStatement(s, r) {
      if (stats === null && (auditor === null || !wantQuery)) return;
      return defer({ s, r, ts: auditTimestamp() });
    },
    onDisconnect(s, t) {
      if (auditor === null || !wants('disconnect')) return;
      return defer({
        ts: auditTimestamp(),
        event: 'disconnect',
        conn: s.conn,
        duration_ms: t.durationMs,
        statements: t.statements,
        bytes_in: t.bytesIn,
        bytes_out: t.bytesOut,
        reason: t.reason,
      });
    },
  };
}

type Ret = void | Promise<void>;

function auditError(e: { code: number; sqlState: string | null; message: string } | null): AuditError | null {
  return e === null ? null : { code: e.code, ...(e.sqlState !== null ? { sql_state: e.sqlState } : {}), message: e.message };
}

/** `true`/`false` (accepted/dropped and counted) need nothing; a promise is the back-pressure signal. */
function settle(r: true | false | Promise<void>): Promise<void> | undefined {
  return r === true || r === false ? undefined : r;
}
