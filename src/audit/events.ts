// Audit event model (DESIGN §5.5): the types every producer fills in, the timestamp format, the one
// serializer (event → JSON line without '\n') and SQL truncation. Key order on the wire is fixed by the
// serializer, not by how the producer built the object, so every sink and every reader sees the same
// shape. Strings are escaped by JSON.stringify itself (lone surrogates included), never by hand.

export const AUDIT_EVENT_KINDS = ['connect', 'auth', 'query', 'disconnect', 'admin'] as const;
export type AuditEventKind = (typeof AUDIT_EVENT_KINDS)[number];

export interface TlsFacts {
  /** `TLSv1.2`, `TLSv1.3` … */
  readonly version: string;
  /** server name the client sent (SNI), null when none */
  readonly sni: string | null;
  readonly cipher?: string;
}

export interface ClientFacts {
  /** `ip:port` of the client as seen by Sluice (after PROXY protocol) */
  readonly addr: string;
  /** null: plaintext client leg */
  readonly tls: TlsFacts | null;
}

/** Error reported by the backend (or by Sluice, see DESIGN §5.6). */
export interface AuditError {
  readonly code: number;
  readonly sql_state?: string;
  readonly message: string;
}

/** One table a statement touches, and what it does to it (`select`, `insert`, `update`, `delete`,
 * `replace`, `create`, `alter`, `drop`, `truncate`, `rename`, …; the list is owned by `src/sql/`). */
export interface TableAccess {
  readonly schema: string | null;
  readonly table: string;
  readonly op: string;
}

interface EventBase {
  /** ISO 8601 UTC with microseconds: `2026-11-21T10:00:00.123456Z` (see auditTimestamp) */
  readonly ts: string;
  /** Sluice connection id; 0 for events not tied to a connection (admin) */
  readonly conn: number;
}

export interface ConnectEvent extends EventBase {
  readonly event: 'connect';
  readonly client: ClientFacts;
  readonly listener?: string;
}

export interface AuthEvent extends EventBase {
  readonly event: 'auth';
  readonly client?: ClientFacts;
  readonly user: string;
  readonly route: string | null;
  readonly backend: string | null;
  readonly schema?: string | null;
  readonly ok: boolean;
  /** the backend's ERR (or Sluice's own, e.g. no route) when ok is false */
  readonly error: AuditError | null;
}

export interface QueryEvent extends EventBase {
  readonly event: 'query';
  readonly client: ClientFacts;
  readonly user: string;
  readonly route: string | null;
  readonly backend: string | null;
  readonly schema: string | null;
  /** `COM_QUERY`, `COM_STMT_PREPARE`, `COM_STMT_EXECUTE`, `COM_INIT_DB`, `COM_CHANGE_USER` … */
  readonly command: string;
  readonly sql: string;
  /** present (true) only when `sql` was cut to `max_sql_length` */
  readonly sql_truncated?: true;
  /** 0-based position inside a multi-statement COM_QUERY; absent for single statements */
  readonly statement_index?: number;
  readonly digest: string;
  readonly tables: readonly TableAccess[];
  readonly duration_us: number;
  readonly rows: number;
  readonly affected: number;
  readonly bytes_out: number;
  /** masked column names (empty when nothing was masked) */
  readonly masked: readonly string[];
  readonly error: AuditError | null;
}

export interface DisconnectEvent extends EventBase {
  readonly event: 'disconnect';
  readonly duration_ms: number;
  readonly statements: number;
  readonly bytes_in: number;
  readonly bytes_out: number;
  /** `client_quit`, `client_closed`, `backend_closed`, `idle_timeout`, `shutdown`, `error: …` */
  readonly reason: string;
}

export type AdminDetail = string | number | boolean | null;

export interface AdminEvent extends EventBase {
  readonly event: 'admin';
  /** who: token name / remote address of the caller */
  readonly caller: string;
  /** the verb, e.g. `backend.drain`, `masking.grant.create`, `reload` */
  readonly verb: string;
  readonly target: string | null;
  /** why: the reason the caller gave (grants require one), null when none */
  readonly reason: string | null;
  readonly ok: boolean;
  readonly details?: Readonly<Record<string, AdminDetail>>;
}

export type AuditEvent = ConnectEvent | AuthEvent | QueryEvent | DisconnectEvent | AdminEvent;

export function isAuditEventKind(s: string): s is AuditEventKind {
  return (AUDIT_EVENT_KINDS as readonly string[]).includes(s);
}

let cachedSecond = -1;
let cachedPrefix = ''; // "2026-11-21T10:00:00." for cachedSecond

/** `2026-11-21T10:00:00.` for an epoch second, formatted once per second (toISOString costs ~1 µs). */
export function isoSecondPrefix(second: number): string {
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().substring(0, 20);
    cachedSecond = second;
  }
  return cachedPrefix;
}

/** Wall-clock time as ISO 8601 with microseconds. performance.timeOrigin + now() carries sub-ms
 * precision; Date alone has only ms. `epochMs` (fractional) may be given, e.g. by tests. */
export function auditTimestamp(epochMs: number = epochNow()): string {
  const second = Math.floor(epochMs / 1000);
  const micros = Math.min(999_999, Math.floor((epochMs - second * 1000) * 1000));
  return `${isoSecondPrefix(second)}${String(micros).padStart(6, '0')}Z`;
}

// performance.timeOrigin is a getter that calls into C++ each time: read it once
const TIME_ORIGIN = performance.timeOrigin;

/** Epoch ms with sub-ms precision (what audit timestamps are made of). */
export function epochNow(): number {
  return TIME_ORIGIN + performance.now();
}

export interface TruncatedSql {
  readonly sql: string;
  readonly truncated: boolean;
}

/** Cut `sql` to at most `max` UTF-16 code units, never between the two halves of a surrogate pair
 * (so the result is always valid Unicode and JSON). The caller must flag the event (sql_truncated). */
export function truncateSql(sql: string, max: number): TruncatedSql {
  if (sql.length <= max) return { sql, truncated: false };
  let end = Math.max(0, Math.floor(max));
  if (end > 0) {
    const last = sql.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1; // high surrogate: its low half would be cut off
  }
  return { sql: sql.substring(0, end), truncated: true };
}

/** Apply `max_sql_length` to a query event: same object when short, a flagged copy when cut. */
export function limitQuerySql(e: QueryEvent, max: number): QueryEvent {
  if (e.sql.length <= max) return e;
  const t = truncateSql(e.sql, max);
  return { ...e, sql: t.sql, sql_truncated: true };
}

// Serialization. Measured end to end (emit → queue → file, 200k §5.5 query events, queue full):
// a hand-written template serializer costs ~1.9 µs/event against ~2.2 µs for JSON.stringify in
// isolation, but its result is a rope of dozens of cons-string pieces that stays alive in the queue,
// and GC then dominates: ~25k events/s against ~100k events/s for JSON.stringify, whose output is
// one flat string. So: JSON.stringify over a freshly built object whose literal key order pins the
// §5.5 order whatever order the producer used (the short-lived copy is cheap young-generation garbage).
// JSON.stringify also escapes lone surrogates and U+2028 safely and turns NaN/Infinity into null.

function client(c: ClientFacts): ClientFacts {
  return { addr: c.addr, tls: c.tls };
}

function ordered(e: AuditEvent): object {
  switch (e.event) {
    case 'query':
      // hot path: one per statement
      return {
        ts: e.ts, event: e.event, conn: e.conn, client: client(e.client), user: e.user, route: e.route, backend: e.backend,
        schema: e.schema, command: e.command, sql: e.sql,
        sql_truncated: e.sql_truncated, // undefined keys are left out by JSON.stringify
        statement_index: e.statement_index,
        digest: e.digest, tables: e.tables, duration_us: e.duration_us, rows: e.rows, affected: e.affected,
        bytes_out: e.bytes_out, masked: e.masked, error: e.error,
      };
    case 'connect':
      return { ts: e.ts, event: e.event, conn: e.conn, client: client(e.client), listener: e.listener };
    case 'auth':
      return {
        ts: e.ts, event: e.event, conn: e.conn, client: e.client === undefined ? undefined : client(e.client), user: e.user,
        route: e.route, backend: e.backend, schema: e.schema, ok: e.ok, error: e.error,
      };
    case 'disconnect':
      return {
        ts: e.ts, event: e.event, conn: e.conn, duration_ms: e.duration_ms, statements: e.statements, bytes_in: e.bytes_in,
        bytes_out: e.bytes_out, reason: e.reason,
      };
    case 'admin':
      return {
        ts: e.ts, event: e.event, conn: e.conn, caller: e.caller, verb: e.verb, target: e.target, reason: e.reason, ok: e.ok,
        details: e.details,
      };
    default:
      return assertNever(e);
  }
}

// Hot path: query events (one per statement) are written as bytes by JsonLinesWriter (line-writer.ts) from
// pieces their producer caches: the per-session facts and the per-digest analysis below.

/** `"client":…,"user":…,"route":…,"backend":…,"schema":…` of a query event: the same for a session's statements. */
export function querySessionJson(client: ClientFacts, user: string, route: string | null, backend: string | null, schema: string | null): string {
  const j = JSON.stringify({ client: { addr: client.addr, tls: client.tls }, user, route, backend, schema });
  return j.slice(1, -1);
}

/** `"digest":…,"tables":[…]` of a query event: the same for every statement of a digest (in one schema). */
export function queryAnalysisJson(digest: string, tables: readonly TableAccess[]): string {
  return JSON.stringify({ digest, tables }).slice(1, -1);
}

/** The JSON line of an event, without the trailing newline. Key order: `ts`, `event`, `conn`, then
 * the §5.5 order of that kind. */
export function serializeEvent(e: AuditEvent): string {
  return JSON.stringify(ordered(e));
}

function assertNever(x: never): never {
  throw new Error(`unknown audit event: ${String((x as { event?: unknown }).event)}`);
}
