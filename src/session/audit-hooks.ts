// Session hooks that turn what the ResultTracker reports into audit events (DESIGN §5.5): one query event
// per statement (each statement of a multi-statement gets its own SQL), with digest and tables from the
// per-digest AnalysisCache of src/sql, so the SQL parser only runs on a digest's first sighting.
// The same per-statement analysis feeds the digest statistics. When the audit queue is full and
// `when_full: block`, the returned promise pauses the client's reads.
import type { Auditor } from '../audit/auditor.ts';
import type { DigestHandle, DigestStats } from '../audit/digest-stats.ts';
import { auditTimestamp, epochNow, queryAnalysisJson, querySessionJson, serializeEvent, truncateSql, type AuditError, type AuditEvent, type ClientFacts, type TableAccess } from '../audit/events.ts';
import { JsonLinesWriter, sqlJsonBytes } from '../audit/line-writer.ts';
import type { AnalysisCache, CachedAnalysis } from '../sql/cache.ts';
import { splitStatements } from '../sql/digest.ts';
import type { SessionFacts, SessionHooks } from './hooks.ts';
import type { CommandStart, StatementError, StatementResult } from './result-tracker.ts';

const EMPTY: readonly never[] = Object.freeze([]);
const NO_MIDDLE = Buffer.alloc(0);

/** Most statements held before a batch runs at once (the timer normally runs it first). */
const BATCH_MAX = 512;
/**
 * ms a statement may wait for its batch. Each batch costs a few wake-ups (this timer, the sink's write and
 * its completion), and on a busy machine a wake-up costs more than the batch's work: measured on 2 cores
 * at a fixed 4,000 q/s, the audit cost 30–35 µs of relay CPU per query with a 1 ms timer (and the sink's
 * 5 ms linger), 16–23 with 10 ms, 14–15 with 20 ms and no linger. A crash loses what is not yet in the
 * sink either way (the queue is memory); a graceful shutdown flushes the batch first.
 */
const BATCH_DELAY_MS = 20;
/** statements run per event-loop turn once the batch is due */
const SLICE = 64;

/** numbers kept per pending statement (pendingNums) */
const NUMS = 5;
const FLAG_PREPARED = 1;
const FLAG_TRUNCATED = 2;
const INDEX_SHIFT = 2;
/** prepared statements' shapes kept per session */
const SHAPES_PER_SESSION = 256;

interface Rare {
  readonly masked: readonly string[];
  readonly error: StatementError | null;
}

interface StatementShape {
  readonly command: string;
  /** the query line between `conn` and `duration_us` (JsonLinesWriter.middle) */
  readonly middle: Buffer;
  readonly stats: DigestHandle | null;
}

export interface AuditHooks extends SessionHooks {
  /** Runs the pending batch now (before the auditor closes, or before digest statistics are read). */
  flush(): void;
}

export function auditHooks(auditor: Auditor | null, stats: DigestStats | null, cache: AnalysisCache): AuditHooks {
  const client = (s: SessionFacts): ClientFacts => ({ addr: s.clientAddress, tls: s.clientTls ?? null });
  const wants = (k: Parameters<Auditor['wants']>[0]): boolean => auditor !== null && auditor.wants(k);
  const wantQuery = wants('query');
  const maxSql = auditor === null ? Infinity : auditor.maxSqlLength;
  // per command: the statements of a multi-statement, split once on its second result
  let split: { cmd: CommandStart; parts: string[] } | null = null;
  const statementSql = (cmd: CommandStart, index: number): string => {
    const sql = cmd.sql ?? '';
    // a prepared statement is one statement (MariaDB prepares no multi-statements): no scan for ';'
    if (index === 0 && (cmd.statementId !== null || !sql.includes(';'))) return sql;
    if (split?.cmd !== cmd) split = { cmd, parts: splitStatements(sql) };
    return split.parts[index] ?? sql;
  };

  // Per-statement work (analysis, statistics, serialisation) runs in batches, off the relay's round trip:
  // measured under load, the same work done one statement at a time between socket events costs several
  // times what it costs in a tight loop (cold caches after every context switch). Events of one batch
  // keep their order, and connection events go through the same batch, so per-connection order holds.
  // A pending statement is copied into parallel arrays (its facts, its SQL, its command's name, numbers in
  // typed arrays), so the tracker's per-statement objects die young instead of being kept up to a batch
  // long (kept, they outlived scavenges and every store into these arrays took V8's slow write barrier).
  // A connection event has no facts (null) and is its own item.
  const pendingFacts: Array<SessionFacts | null> = new Array<SessionFacts | null>(BATCH_MAX).fill(null);
  /** a statement's SQL, or a connection event */
  const pendingItems: Array<string | AuditEvent | null> = new Array<string | AuditEvent | null>(BATCH_MAX).fill(null);
  const pendingCommand: Array<string | null> = new Array<string | null>(BATCH_MAX).fill(null);
  /** masked columns and error, for the few statements that have either */
  const pendingRare: Array<Rare | null> = new Array<Rare | null>(BATCH_MAX).fill(null);
  /** FLAG_* bits, and the statement index + 1 above them (0: none written) */
  const pendingFlags = new Int32Array(BATCH_MAX);
  /** per item NUMS numbers: wall-clock time (epoch ms), duration (ns), rows, affected rows, bytes out */
  const pendingNums = new Float64Array(BATCH_MAX * NUMS);
  /** items [done, pending) wait; a slice of the batch may have run already */
  let pending = 0;
  let done = 0;
  let timer: NodeJS.Timeout | null = null;
  let slice: NodeJS.Immediate | null = null;
  const writer = new JsonLinesWriter();

  // what every statement of a session / of a digest / of a prepared statement shares, serialized once
  const sessionJson = new WeakMap<SessionFacts, Buffer>();
  const sessionPart = (s: SessionFacts): Buffer => {
    let j = sessionJson.get(s);
    if (j === undefined) {
      j = Buffer.from(querySessionJson(client(s), s.user ?? '', s.route, s.backend, s.schema), 'utf8');
      sessionJson.set(s, j);
    }
    return j;
  };
  // unqualified tables are in the session's schema: one memo per analysis for the schema seen last
  const tablesMemo = new WeakMap<object, { schema: string | null; tables: readonly TableAccess[]; json: Buffer }>();
  const tablesIn = (a: CachedAnalysis, schema: string | null): { tables: readonly TableAccess[]; json: Buffer } => {
    let m = tablesMemo.get(a.analysis);
    if (m === undefined || m.schema !== schema) {
      const tables = a.analysis.tables.map((t) => ({ schema: t.schema ?? schema, table: t.table, op: t.op }));
      m = { schema, tables, json: Buffer.from(queryAnalysisJson(a.digest, tables), 'utf8') };
      tablesMemo.set(a.analysis, m);
    }
    return m;
  };
  const NO_ANALYSIS = { tables: EMPTY, json: Buffer.from(queryAnalysisJson('', EMPTY), 'utf8') };

  // What every execution of one prepared statement in one session shares: its line's middle and its
  // statistics handle, built on its first execution (bounded per session; sessions' maps go with them).
  const shapes = new WeakMap<SessionFacts, Map<string, StatementShape>>();
  const shapeOf = (s: SessionFacts, command: string, sql: string): StatementShape => {
    let bySql = shapes.get(s);
    if (bySql === undefined) shapes.set(s, (bySql = new Map()));
    let shape = bySql.get(sql);
    if (shape === undefined || shape.command !== command) {
      const a = cache.analyzeCached(sql);
      const t = tablesIn(a, s.schema);
      shape = {
        command,
        middle: wantQuery ? writer.middle({ session: sessionPart(s), command, sql: sqlJsonBytes(sql), sqlTruncated: false, statementIndex: undefined, analysis: t.json }) : NO_MIDDLE,
        stats: stats === null ? null : stats.handle(a.digest, a.hash, s.user ?? '', t.tables),
      };
      if (bySql.size >= SHAPES_PER_SESSION) bySql.clear();
      bySql.set(sql, shape);
    }
    return shape;
  };

  /** Serializes pending statement `i` and counts it in the digest statistics. */
  const record = (i: number, s: SessionFacts, sql: string, command: string): void => {
    const flags = pendingFlags[i] as number;
    const n = i * NUMS;
    const epochMs = pendingNums[n] as number;
    const durationNs = pendingNums[n + 1] as number;
    const rows = pendingNums[n + 2] as number;
    const rare = pendingRare[i] as Rare | null;
    const error = rare === null ? null : rare.error;
    // an execution of a prepared statement, whole and uncut: from its shape
    if (flags === FLAG_PREPARED && sql !== '' && sql.length <= maxSql) {
      const shape = shapeOf(s, command, sql);
      if (shape.stats !== null) (stats as DigestStats).recordWith(shape.stats, durationNs, rows, error !== null, epochMs);
      if (wantQuery) {
        writer.queryWithMiddle(epochMs, s.conn, shape.middle, Math.round(durationNs / 1000), rows, pendingNums[n + 3] as number, pendingNums[n + 4] as number, rare?.masked ?? EMPTY, auditError(error));
      }
      return;
    }
    const a = sql === '' ? null : cache.analyzeCached(sql);
    const t = a === null ? NO_ANALYSIS : tablesIn(a, s.schema);
    if (stats !== null && a !== null) {
      stats.record({ digest: a.digest, hash: a.hash, user: s.user ?? '', tables: t.tables, durationNs, rows, error: error !== null });
    }
    if (!wantQuery) return;
    const cut = sql.length > maxSql ? truncateSql(sql, maxSql) : null;
    writer.query({
      epochMs,
      conn: s.conn,
      session: sessionPart(s),
      command,
      sql: sqlJsonBytes(cut === null ? sql : cut.sql),
      sqlTruncated: (flags & FLAG_TRUNCATED) !== 0 || cut !== null,
      statementIndex: flags >>> INDEX_SHIFT === 0 ? undefined : (flags >>> INDEX_SHIFT) - 1,
      analysis: t.json,
      durationUs: Math.round(durationNs / 1000),
      rows,
      affected: pendingNums[n + 3] as number,
      bytesOut: pendingNums[n + 4] as number,
      masked: rare?.masked ?? EMPTY,
      error: auditError(error),
    });
  };

  /** Runs pending items in order, from `done` up to `end`, and hands them to the auditor as one chunk. */
  const run = (end: number): Ret => {
    for (let i = done; i < end; i++) {
      const s = pendingFacts[i] as SessionFacts | null;
      const item = pendingItems[i] as string | AuditEvent;
      if (s !== null) record(i, s, item as string, pendingCommand[i] as string);
      else writer.line(serializeEvent(item as AuditEvent), (item as AuditEvent).conn);
      pendingFacts[i] = pendingItems[i] = pendingCommand[i] = pendingRare[i] = null;
    }
    done = end;
    if (done === pending) done = pending = 0;
    const chunk = writer.seal();
    return chunk === null || auditor === null ? undefined : settle(auditor.emitChunk(chunk));
  };

  /** Runs every pending item now (a full batch, shutdown, a digest scrape); returns the back-pressure signal. */
  const flush = (): Ret => {
    if (timer !== null) clearTimeout(timer);
    if (slice !== null) clearImmediate(slice);
    timer = slice = null;
    return run(pending);
  };

  /**
   * The timer's batch, a slice per event-loop turn: a whole batch (hundreds of statements, ~1 ms) run at
   * once stalls every session's relaying for that long, so sockets get their turn between slices.
   */
  const runSlice = (): void => {
    timer = slice = null;
    void run(Math.min(pending, done + SLICE));
    if (pending > 0) slice = setImmediate(runSlice);
  };

  /** Runs the batch at once when it is full or when the audit queue has no room left (so `when_full: block`
   * still pauses the session that produced the event, and `drop` counts it); else makes sure it will run. */
  const queued = (): Ret => {
    pending++;
    if (pending >= BATCH_MAX || (auditor !== null && auditor.room() <= pending - done)) return flush();
    if (slice === null) timer ??= setTimeout(runSlice, BATCH_DELAY_MS);
  };
  const event = (e: AuditEvent): Ret => {
    pendingFacts[pending] = null;
    pendingItems[pending] = e;
    return queued();
  };
  const statement = (s: SessionFacts, r: StatementResult): Ret => {
    const cmd = r.command;
    const sql = statementSql(cmd, r.index);
    const i = pending;
    pendingFacts[i] = s;
    pendingItems[i] = sql;
    pendingCommand[i] = cmd.name;
    pendingFlags[i] =
      (cmd.statementId !== null ? FLAG_PREPARED : 0) |
      (cmd.sqlTruncated ? FLAG_TRUNCATED : 0) |
      (r.index > 0 || sql !== (cmd.sql ?? '') ? (r.index + 1) << INDEX_SHIFT : 0);
    const n = i * NUMS;
    pendingNums[n] = epochNow();
    pendingNums[n + 1] = r.durationNs;
    pendingNums[n + 2] = r.rows;
    pendingNums[n + 3] = r.affectedRows;
    pendingNums[n + 4] = r.bytesOut;
    if (r.error !== null || (r.masked !== undefined && r.masked.length > 0)) pendingRare[i] = { masked: r.masked ?? EMPTY, error: r.error };
    return queued();
  };

  return {
    wantsSql: wantQuery || stats !== null,
    flush: () => void flush(),
    onConnect(s) {
      if (auditor !== null && wants('connect')) return event({ ts: auditTimestamp(), event: 'connect', conn: s.conn, client: client(s), listener: s.listener });
    },
    onAuth(s, o) {
      if (auditor === null || !wants('auth')) return;
      return event({
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
      return statement(s, r);
    },
    onDisconnect(s, t) {
      if (auditor === null || !wants('disconnect')) return;
      return event({
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
