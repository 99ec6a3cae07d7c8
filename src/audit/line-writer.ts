// JsonLinesWriter: serializes a batch of audit events straight into one Buffer, which the queue then
// holds as a LineChunk (offsets, no per-event string or copy). Query events, one per statement, are
// written from parts their producer caches as bytes (the session's facts, the digest's analysis, a
// prepared statement's escaped SQL), with the same bytes as serializeEvent + '\n' (a property test
// holds them together). Measured in isolation (point_select-like statements): a string per event,
// flattened, queued, joined and encoded by the sink cost ~4 µs of the pipeline's ~8 µs per statement,
// most of it garbage collection. Nothing here does I/O.
import { isoSecondPrefix, type AuditError } from './events.ts';
import type { LineChunk } from './queue.ts';

/** The part of a query line between `conn` and `duration_us`. */
export interface QueryLineMiddle {
  /** querySessionJson() as UTF-8 */
  readonly session: Uint8Array;
  readonly command: string;
  /** JSON.stringify(sql) as UTF-8 (sqlJsonBytes) */
  readonly sql: Uint8Array;
  readonly sqlTruncated: boolean;
  readonly statementIndex: number | undefined;
  /** queryAnalysisJson() as UTF-8 */
  readonly analysis: Uint8Array;
}

export interface QueryLineParts extends QueryLineMiddle {
  /** wall-clock time of the statement, epoch ms (fractional: microseconds are written) */
  readonly epochMs: number;
  readonly conn: number;
  readonly durationUs: number;
  readonly rows: number;
  readonly affected: number;
  readonly bytesOut: number;
  readonly masked: readonly string[];
  readonly error: AuditError | null;
}

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const TS_OPEN = ascii('{"ts":"');
const QUERY_CONN = ascii('Z","event":"query","conn":');
const SQL_TRUNCATED = ascii(',"sql_truncated":true');
const STATEMENT_INDEX = ascii(',"statement_index":');
const DURATION = ascii(',"duration_us":');
const ROWS = ascii(',"rows":');
const AFFECTED = ascii(',"affected":');
const BYTES_OUT = ascii(',"bytes_out":');
const MASKED_NONE_ERROR = ascii(',"masked":[],"error":');
const MASKED = ascii(',"masked":');
const ERROR = ascii(',"error":');
const NULL_CLOSE = ascii('null}\n');
const COMMA = 0x2c;
const NL = 0x0a;

/** Bytes a query line's head (`{"ts":…,"conn":N`) takes at most, and its tail besides masked columns and
 * error (numbers, keys, newline). */
const HEAD_ROOM = 128;
const TAIL_ROOM = 256;

/** Bytes #middle() writes at most (`command`: the cached `,"command":…,"sql":` bytes). */
function middleLength(p: QueryLineMiddle, command: Buffer): number {
  return 2 + p.session.length + command.length + p.sql.length + SQL_TRUNCATED.length + STATEMENT_INDEX.length + 20 + p.analysis.length;
}

/** JSON.stringify(sql) as UTF-8: what a query line carries as `"sql":…`. */
export function sqlJsonBytes(sql: string): Buffer {
  return Buffer.from(JSON.stringify(sql), 'utf8');
}

export class JsonLinesWriter {
  #buf: Buffer;
  #len = 0;
  #ends: number[] = [];
  #conns: number[] = [];
  /** `,"command":"X","sql":` per command name (a handful of names) */
  readonly #commands = new Map<string, Buffer>();
  #second = -1;
  #prefix: Buffer = Buffer.alloc(0);

  constructor(initialBytes = 64 * 1024) {
    this.#buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** One event serialized elsewhere (serializeEvent), without its '\n'. */
  line(line: string, conn: number): void {
    this.#room(line.length * 3 + 1);
    this.#len += this.#buf.write(line, this.#len, 'utf8');
    this.#buf[this.#len++] = NL;
    this.#end(conn);
  }

  query(p: QueryLineParts): void {
    const command = this.#command(p.command);
    this.#room(HEAD_ROOM + middleLength(p, command));
    this.#head(p.epochMs, p.conn);
    this.#middle(p, command);
    this.#tail(p.durationUs, p.rows, p.affected, p.bytesOut, p.masked, p.error, p.conn);
  }

  /**
   * A query event whose middle (session, command, SQL, analysis: what every execution of one prepared
   * statement in one session shares) the caller built once with middle(). The same bytes as query().
   */
  queryWithMiddle(
    epochMs: number,
    conn: number,
    middle: Uint8Array,
    durationUs: number,
    rows: number,
    affected: number,
    bytesOut: number,
    masked: readonly string[],
    error: AuditError | null,
  ): void {
    this.#room(HEAD_ROOM + middle.length);
    this.#head(epochMs, conn);
    this.#put(middle);
    this.#tail(durationUs, rows, affected, bytesOut, masked, error, conn);
  }

  /** `,<session>,"command":…,"sql":…[,…],<analysis>` of a query line, in memory of its own. */
  middle(p: QueryLineMiddle): Buffer {
    const command = this.#command(p.command);
    this.#room(middleLength(p, command));
    const start = this.#len;
    this.#middle(p, command);
    const out = Buffer.from(this.#buf.subarray(start, this.#len));
    this.#len = start;
    return out;
  }

  /** `{"ts":"…Z","event":"query","conn":N` */
  #head(epochMs: number, conn: number): void {
    this.#put(TS_OPEN);
    this.#timestamp(epochMs);
    this.#put(QUERY_CONN);
    this.#number(conn);
  }

  #middle(p: QueryLineMiddle, command: Buffer): void {
    this.#buf[this.#len++] = COMMA;
    this.#put(p.session);
    this.#put(command);
    this.#put(p.sql);
    if (p.sqlTruncated) this.#put(SQL_TRUNCATED);
    if (p.statementIndex !== undefined) {
      this.#put(STATEMENT_INDEX);
      this.#number(p.statementIndex);
    }
    this.#buf[this.#len++] = COMMA;
    this.#put(p.analysis);
  }

  /** `,"duration_us":…}` and the newline */
  #tail(durationUs: number, rows: number, affected: number, bytesOut: number, maskedColumns: readonly string[], auditError: AuditError | null, conn: number): void {
    const masked = maskedColumns.length === 0 ? null : JSON.stringify(maskedColumns);
    const error = auditError === null ? null : JSON.stringify(auditError);
    this.#room(TAIL_ROOM + (masked?.length ?? 0) * 3 + (error?.length ?? 0) * 3);
    this.#put(DURATION);
    this.#number(durationUs);
    this.#put(ROWS);
    this.#number(rows);
    this.#put(AFFECTED);
    this.#number(affected);
    this.#put(BYTES_OUT);
    this.#number(bytesOut);
    if (masked === null) {
      this.#put(MASKED_NONE_ERROR);
    } else {
      this.#put(MASKED);
      this.#len += this.#buf.write(masked, this.#len, 'utf8');
      this.#put(ERROR);
    }
    if (error === null) {
      this.#put(NULL_CLOSE);
    } else {
      this.#len += this.#buf.write(error, this.#len, 'utf8');
      this.#buf[this.#len++] = 0x7d; // }
      this.#buf[this.#len++] = NL;
    }
    this.#end(conn);
  }

  /** The events written since the last seal, in memory of their own (the queue holds it until every sink
   * wrote it); null when none. A batch that fills at least half the scratch buffer takes it over (no copy;
   * at most half of it is wasted while queued); a smaller one is copied out at its exact size. */
  seal(): LineChunk | null {
    if (this.#ends.length === 0) return null;
    let buf: Buffer;
    if (this.#len * 2 >= this.#buf.length) {
      buf = this.#buf.subarray(0, this.#len);
      this.#buf = Buffer.allocUnsafeSlow(this.#buf.length);
    } else {
      buf = Buffer.allocUnsafeSlow(this.#len);
      this.#buf.copy(buf, 0, 0, this.#len);
    }
    const chunk = { buf, ends: this.#ends, conns: this.#conns };
    this.#len = 0;
    this.#ends = [];
    this.#conns = [];
    return chunk;
  }

  #end(conn: number): void {
    this.#ends.push(this.#len);
    this.#conns.push(conn);
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  #put(b: Uint8Array): void {
    const n = b.length;
    if (n > 32) {
      this.#buf.set(b, this.#len);
    } else {
      // most pieces are a few bytes: a loop beats the builtin's call overhead
      const buf = this.#buf;
      const at = this.#len;
      for (let i = 0; i < n; i++) buf[at + i] = b[i] as number;
    }
    this.#len += n;
  }

  #command(name: string): Buffer {
    let b = this.#commands.get(name);
    if (b === undefined) {
      b = Buffer.from(`,"command":${JSON.stringify(name)},"sql":`, 'utf8');
      this.#commands.set(name, b);
    }
    return b;
  }

  /** `2026-11-21T10:00:00.123456` (the caller writes the `Z`), as auditTimestamp() formats it */
  #timestamp(epochMs: number): void {
    const second = Math.floor(epochMs / 1000);
    if (second !== this.#second) {
      this.#prefix = Buffer.from(isoSecondPrefix(second), 'latin1');
      this.#second = second;
    }
    this.#put(this.#prefix);
    let micros = Math.min(999_999, Math.floor((epochMs - second * 1000) * 1000));
    for (let i = this.#len + 5; i >= this.#len; i--) {
      this.#buf[i] = 0x30 + (micros % 10);
      micros = Math.floor(micros / 10);
    }
    this.#len += 6;
  }

  /** A number as JSON.stringify writes it: digits for safe non-negative integers, else String(n). */
  #number(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      this.#len += this.#buf.write(Number.isFinite(n) ? String(n) : 'null', this.#len, 'latin1');
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let v = n;
    for (let i = this.#len + digits - 1; i >= this.#len; i--) {
      this.#buf[i] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
    this.#len += digits;
  }
}
