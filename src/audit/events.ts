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

/** Wall-clock time as ISO 8601 with microseconds. performance.timeOrigin + now() carries sub-ms
 * precision; Date alone has only ms. The date part is formatted once per second (toISOString costs
 * ~1 µs, a large share of the per-event budget). `epochMs` (fractional) may be given, e.g. by tests. */
export function auditTimestamp(epochMs: number = performance.timeOrigin + performance.now()): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2026-11-21T10:00:00.000Z
    cachedPrefix = iso.substring(0, 20);
    cachedSecond = second;
  }
  const micros = Math.min(999_999, Math.floor((epochMs - second * 1000) * 1000));
  return `${cachedPrefix}${String(micros).padStart(6, '0')}Z`;
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

const str = JSON.stringify;

function client(c: ClientFacts): string {
  if (c.tls === null) return `{"addr":${str(c.addr)},"tls":null}`;
  const t = c.tls;
  return `{"addr":${str(c.addr)},"tls":{"version":${str(t.version)},"sni":${t.sni === null ? 'null' : str(t.sni)}${
    t.cipher === undefined ? '' : `,"cipher":${str(t.cipher)}`
  }}}`;
}

function error(e: AuditError | null): string {
  if (e === null) return 'null';
  return `{"code":${num(e.code)}${e.sql_state === undefined ? '' : `,"sql_state":${str(e.sql_state)}`},"message":${str(e.message)}}`;
}

function nullable(s: string | null): string {
  return s === null ? 'null' : str(s);
}

/** Numbers as JSON does: NaN/Infinity become null instead of breaking the line. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

function tables(ts: readonly TableAccess[]): string {
  if (ts.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as TableAccess;
    out += `${i === 0 ? '' : ','}{"schema":${nullable(t.schema)},"table":${str(t.table)},"op":${str(t.op)}}`;
  }
  return `${out}]`;
}

function strings(a: readonly string[]): string {
  if (a.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < a.length; i++) out += (i === 0 ? '' : ',') + str(a[i]);
  return `${out}]`;
}

// hot path: one query event per statement. Measured on the §5.5 example event: this template takes
// ~1.9 µs against ~2.2 µs for JSON.stringify(event) (docs/audit.md), and, unlike JSON.stringify, it
// pins the key order of §5.5 whatever order the producer built the object in.
function serializeQuery(e: QueryEvent): string {
  return `{"ts":${str(e.ts)},"event":"query","conn":${num(e.conn)},"client":${client(e.client)},"user":${str(e.user)},"route":${nullable(
    e.route,
  )},"backend":${nullable(e.backend)},"schema":${nullable(e.schema)},"command":${str(e.command)},"sql":${str(e.sql)}${
    e.sql_truncated === true ? ',"sql_truncated":true' : ''
  }${e.statement_index === undefined ? '' : `,"statement_index":${num(e.statement_index)}`},"digest":${str(e.digest)},"tables":${tables(
    e.tables,
  )},"duration_us":${num(e.duration_us)},"rows":${num(e.rows)},"affected":${num(e.affected)},"bytes_out":${num(e.bytes_out)},"masked":${strings(
    e.masked,
  )},"error":${error(e.error)}}`;
}

/** The JSON line of an event, without the trailing newline. */
export function serializeEvent(e: AuditEvent): string {
  switch (e.event) {
    case 'query':
      return serializeQuery(e);
    case 'connect':
      return `{"ts":${str(e.ts)},"event":"connect","conn":${num(e.conn)},"client":${client(e.client)}${
        e.listener === undefined ? '' : `,"listener":${str(e.listener)}`
      }}`;
    case 'auth':
      return `{"ts":${str(e.ts)},"event":"auth","conn":${num(e.conn)}${e.client === undefined ? '' : `,"client":${client(e.client)}`},"user":${str(
        e.user,
      )},"route":${nullable(e.route)},"backend":${nullable(e.backend)}${
        e.schema === undefined ? '' : `,"schema":${nullable(e.schema)}`
      },"ok":${e.ok ? 'true' : 'false'},"error":${error(e.error)}}`;
    case 'disconnect':
      return `{"ts":${str(e.ts)},"event":"disconnect","conn":${num(e.conn)},"duration_ms":${num(e.duration_ms)},"statements":${num(
        e.statements,
      )},"bytes_in":${num(e.bytes_in)},"bytes_out":${num(e.bytes_out)},"reason":${str(e.reason)}}`;
    case 'admin':
      return `{"ts":${str(e.ts)},"event":"admin","conn":${num(e.conn)},"caller":${str(e.caller)},"verb":${str(e.verb)},"target":${nullable(
        e.target,
      )},"reason":${nullable(e.reason)},"ok":${e.ok ? 'true' : 'false'}${e.details === undefined ? '' : `,"details":${str(e.details)}`}}`;
    default:
      return assertNever(e);
  }
}

function assertNever(x: never): never {
  throw new Error(`unknown audit event: ${String((x as { event?: unknown }).event)}`);
}
