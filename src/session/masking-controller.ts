// MaskingController: the session's side of masking (issue 5). It runs the bypass guard on COM_QUERY and
// COM_STMT_PREPARE (and re-checks COM_STMT_EXECUTE's prepared SQL, a cache hit), observes the column
// definitions of every result set through the ResultTracker, and, only when a rule touches a column, hands
// the relay a ResultPlan that rewrites that result set's rows. Exemptions (exempt_users and time-limited
// grants) are read at each statement, so a grant takes effect on the next statement of a live session.
import { Command } from '../protocol/constants.ts';
import { parseColumnDefinition41, type ColumnDefinition41 } from '../protocol/column-definition.ts';
import { withholdAll, type RuleSet, type ResultPlan } from '../masking/policy.ts';
import { checkStatement, bypassError, type GuardResult } from '../masking/guard.ts';
import type { GrantStore } from '../masking/grants.ts';
import type { AnalysisCache } from '../sql/cache.ts';
import type { CommandStart, ResultSetObserver } from './result-tracker.ts';

export interface MaskingControllerOptions {
  readonly rules: RuleSet;
  readonly onBypass: 'reject' | 'mask_expression';
  readonly grants: GrantStore;
  readonly cache: AnalysisCache;
  /** MariaDB EXTENDED_METADATA negotiated on the client leg (column definitions carry an extra block). */
  readonly extendedMetadata: boolean;
  /** MariaDB CACHE_METADATA negotiated: EXECUTEs may skip column definitions, so prepared statements' are kept. */
  cacheMetadata(): boolean;
  user(): string;
  schema(): string | null;
  warn(message: string): void;
}

/** Statement texts whose guard verdict a session remembers (cleared wholesale when full). */
const VERDICTS_MAX = 256;
const VERDICT_MAX_SQL = 4096;
/** Result-set shapes whose plan a session remembers, and the largest definitions key kept. */
const PLANS_MAX = 64;
const PLAN_KEY_MAX = 16384;
/** Bytes of column definitions a session starts with, and the most it keeps after a wider result set. */
const DEFS_INITIAL = 1024;
const DEFS_KEPT = 64 * 1024;
/** Result-set shapes compared byte for byte before the map (a workload that rotates over a few tables). */
const RECENT_MAX = 8;
/**
 * Bytes of prepared statements' column definitions a session keeps for the EXECUTEs whose definitions the
 * server skips (MARIADB_CLIENT_CACHE_METADATA). The least recently used go first; an EXECUTE of a statement
 * whose definitions are gone has every value withheld (see docs/masking.md § Prepared statements).
 */
export const PREPARED_DEFS_MAX_BYTES = 1024 * 1024;
const NO_MASKED: readonly string[] = Object.freeze([]);

/** A prepared statement's column definitions, as they came (one buffer, and the length of each). */
interface StatementColumns {
  readonly defs: Buffer;
  readonly lengths: readonly number[];
}

interface KnownShape {
  readonly defs: Buffer;
  readonly exempt: ReadonlySet<string>;
  readonly plan: ResultPlan | null;
}

export type Verdict = { readonly kind: 'pass' } | { readonly kind: 'reject'; readonly err: { code: number; sqlState: string; message: string } };

export class MaskingController implements ResultSetObserver {
  readonly #o: MaskingControllerOptions;
  /**
   * Column definitions of the current result set, copied into one buffer (`#defsLen` bytes), and the length
   * of each. Never views: the chunks they came in are read buffers the relay reuses, and a definition split
   * across two reads is handed over from the walker's scratch, which the next split packet overwrites.
   */
  #defs = Buffer.allocUnsafe(DEFS_INITIAL);
  #defsLen = 0;
  readonly #defLengths: number[] = [];
  #defCount = 0;
  /** The last planned result-set shapes: statements run again send the same bytes (a ring, no order kept). */
  readonly #recent: KnownShape[] = [];
  #recentNext = 0;
  #truncated = false;
  /** Output positions to NULL, per command (guard outcome `mask_outputs`). */
  readonly #forced = new Map<number, number[]>();
  #pendingForced: number[] | null = null;
  /** Plans of cursors opened by COM_STMT_EXECUTE, by statement id, for their COM_STMT_FETCH rows. */
  readonly #cursorPlans = new Map<number, ResultPlan>();
  /** Column definitions per prepared statement (least recently used first, at most PREPARED_DEFS_MAX_BYTES in all). */
  readonly #prepared = new Map<number, StatementColumns>();
  #preparedBytes = 0;
  /** The statement last used or stored: #prepared's newest entry, which needs no move on its next use. */
  #newest = -1;
  /** The current result set's definitions were skipped by the server and are not known here: every
   * value is withheld (its column count). -1: they are known. */
  #unknownColumns = -1;
  /** The current result set's definitions came on the wire (not from #prepared). */
  #defsOnWire = true;
  /** The plan of the result set whose rows are streaming now (null: rows pass untouched). */
  rowPlan: ResultPlan | null = null;
  /** Columns masked in the current statement (for the audit event); replaced, never changed in place. */
  #masked: readonly string[] = NO_MASKED;

  constructor(o: MaskingControllerOptions) {
    this.#o = o;
  }

  /** Whether statements must be inspected before they go upstream (some column rule applies to this user). */
  guarding(): boolean {
    return this.#o.rules.columnGlobs(this.#exempt()).length > 0;
  }

  /** Guard for a command packet (payload without header). Called before it is forwarded. */
  check(payload: Buffer): Verdict {
    const code = payload[0];
    if (code !== Command.COM_QUERY && code !== Command.COM_STMT_PREPARE) return { kind: 'pass' };
    const r = this.#guard(payload.toString('utf8', 1));
    if (r.action === 'reject') return { kind: 'reject', err: bypassError(r.column, r.reason, this.#o.user()) };
    this.#pendingForced = r.action === 'mask_outputs' && code === Command.COM_QUERY ? r.outputs : null;
    return { kind: 'pass' };
  }

  /** The tracker announced a command (after `check` passed it). */
  /** Columns masked in the statement that just ended (for the audit event); starts the next one empty. */
  takeMasked(): readonly string[] {
    const m = this.#masked;
    this.#masked = NO_MASKED;
    return m;
  }

  onCommand(cmd: CommandStart): void {
    this.#masked = NO_MASKED;
    if (this.#pendingForced !== null) {
      this.#forced.set(cmd.seqNo, this.#pendingForced);
      this.#pendingForced = null;
    } else if (cmd.code === Command.COM_STMT_EXECUTE && cmd.sql !== null) {
      const r = this.#guard(cmd.sql);
      if (r.action === 'mask_outputs') this.#forced.set(cmd.seqNo, r.outputs);
    }
    if (cmd.code === Command.COM_STMT_CLOSE && cmd.statementId !== null) {
      this.#cursorPlans.delete(cmd.statementId);
      this.#forgetPrepared(cmd.statementId);
    }
    // the server drops every prepared statement of the connection
    if (cmd.code === Command.COM_RESET_CONNECTION || cmd.code === Command.COM_CHANGE_USER) {
      this.#prepared.clear();
      this.#preparedBytes = 0;
      this.#newest = -1;
    }
  }

  /** A COM_STMT_FETCH's rows come next: a masked cursor's plan applies to them from their first packet. */
  onFetchStart(cmd: CommandStart): boolean {
    this.rowPlan = cmd.statementId === null ? null : (this.#cursorPlans.get(cmd.statementId) ?? null);
    return this.rowPlan !== null;
  }

  onCommandDone(cmd: CommandStart): void {
    this.#forced.delete(cmd.seqNo);
    this.rowPlan = null;
  }

  onResultSetStart(_cmd: CommandStart, _columns: number): void {
    if (this.#defs.length > DEFS_KEPT) this.#defs = Buffer.allocUnsafe(DEFS_INITIAL); // after a very wide result set
    this.#defsLen = 0;
    this.#defCount = 0;
    this.#truncated = false;
    this.#unknownColumns = -1;
    this.#defsOnWire = true;
    this.rowPlan = null;
  }

  onCachedResultSet(cmd: CommandStart, columns: number): void {
    this.onResultSetStart(cmd, columns);
    this.#defsOnWire = false;
    const id = cmd.statementId;
    const known = id === null ? undefined : this.#prepared.get(id);
    if (id === null || known === undefined || known.lengths.length !== columns) {
      this.#unknownColumns = columns;
      return;
    }
    this.#touch(id, known);
    this.#reserve(known.defs.length);
    known.defs.copy(this.#defs);
    this.#defsLen = known.defs.length;
    for (const n of known.lengths) this.#defLengths[this.#defCount++] = n;
  }

  onStatementPrepared(_cmd: CommandStart, statementId: number, columns: number): void {
    if (!this.#o.cacheMetadata()) return;
    // nothing to keep (and a definition cut at the inspection limit is not kept): an EXECUTE that skips
    // them anyway withholds every value
    if (columns === 0 || this.#truncated || this.#defCount !== columns) return this.#forgetPrepared(statementId);
    this.#remember(statementId);
  }

  onColumnDefinition(_cmd: CommandStart, buf: Buffer, off: number, head: number, length: number): void {
    if (head < length) {
      this.#truncated = true;
      return;
    }
    this.#reserve(this.#defsLen + head);
    buf.copy(this.#defs, this.#defsLen, off, off + head);
    this.#defsLen += head;
    this.#defLengths[this.#defCount++] = head;
  }

  #reserve(bytes: number): void {
    if (bytes <= this.#defs.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#defs.length * 2, bytes));
    this.#defs.copy(grown, 0, 0, this.#defsLen);
    this.#defs = grown;
  }

  /**
   * Keeps the current definitions as the statement's. The server skips an EXECUTE's definitions when they
   * equal the last ones it sent for the statement (with its PREPARE response or an EXECUTE): keeping the
   * last ones seen mirrors that.
   */
  #remember(statementId: number): void {
    const known = this.#prepared.get(statementId);
    if (known !== undefined && known.defs.equals(this.#defs.subarray(0, this.#defsLen))) return this.#touch(statementId, known);
    this.#forgetPrepared(statementId);
    const entry: StatementColumns = { defs: Buffer.from(this.#defs.subarray(0, this.#defsLen)), lengths: this.#defLengths.slice(0, this.#defCount) };
    if (entry.defs.length > PREPARED_DEFS_MAX_BYTES) return;
    this.#prepared.set(statementId, entry);
    this.#newest = statementId;
    this.#preparedBytes += entry.defs.length;
    for (const [id, old] of this.#prepared) {
      if (this.#preparedBytes <= PREPARED_DEFS_MAX_BYTES) break;
      this.#prepared.delete(id);
      this.#preparedBytes -= old.defs.length;
    }
  }

  /** A statement's definitions were used: they become the last to be evicted (the Map keeps insertion order). */
  #touch(statementId: number, entry: StatementColumns): void {
    if (statementId === this.#newest) return;
    this.#prepared.delete(statementId);
    this.#prepared.set(statementId, entry);
    this.#newest = statementId;
  }

  #forgetPrepared(statementId: number): void {
    const old = this.#prepared.get(statementId);
    if (old === undefined) return;
    if (statementId === this.#newest) this.#newest = -1;
    this.#prepared.delete(statementId);
    this.#preparedBytes -= old.defs.length;
  }

  #columns(): ColumnDefinition41[] {
    const out: ColumnDefinition41[] = [];
    for (let i = 0, at = 0; i < this.#defCount; i++) {
      const n = this.#defLengths[i]!;
      out.push(parseColumnDefinition41(this.#defs.subarray(at, (at += n)), { extendedMetadata: this.#o.extendedMetadata }));
    }
    return out;
  }

  onRowsStart(cmd: CommandStart, _binary: boolean): boolean {
    if (this.#unknownColumns >= 0) {
      // fail closed: rows whose definitions the server skipped and this session does not have (more
      // prepared statements than PREPARED_DEFS_MAX_BYTES holds) cannot be judged, so no value goes out
      this.#o.warn(`the column definitions of prepared statement ${cmd.statementId ?? '?'} are not known here (the server skipped them); every value of its result is withheld`);
      this.rowPlan = withholdAll(this.#unknownColumns);
      if (!this.#masked.includes('*')) this.#masked = [...this.#masked, '*'];
      return true;
    }
    if (this.#o.cacheMetadata() && cmd.code === Command.COM_STMT_EXECUTE && this.#defsOnWire && !this.#truncated && cmd.statementId !== null) {
      this.#remember(cmd.statementId);
    }
    if (this.#truncated) {
      // fail closed: a definition we could not read cannot be judged, so every column is withheld
      this.#o.warn('a column definition exceeded the inspection limit; the whole result set is masked');
      const columns = this.#columns();
      this.rowPlan = this.#o.rules.planColumns(columns, { exemptRules: new Set(), maskOutputs: columns.map((_, i) => i) });
    } else {
      const forced = this.#forced.get(cmd.seqNo);
      this.rowPlan = forced !== undefined ? this.#o.rules.planColumns(this.#columns(), { exemptRules: this.#exempt(), maskOutputs: forced }) : this.#plan();
    }
    if (this.rowPlan !== null) {
      for (const w of this.rowPlan.warnings) this.#o.warn(w);
      for (const c of this.rowPlan.maskedColumns) if (!this.#masked.includes(c)) this.#masked = [...this.#masked, c];
    }
    return this.rowPlan !== null;
  }

  onCursorOpened(cmd: CommandStart): void {
    const plan = this.#unknownColumns >= 0 ? withholdAll(this.#unknownColumns) : this.#plan();
    // the tracker resolved an EXECUTE's -1 to the real id, which the FETCHes name
    if (cmd.statementId !== null && plan !== null) this.#cursorPlans.set(cmd.statementId, plan);
  }

  #exempt(): ReadonlySet<string> {
    return this.#o.grants.exemptRules(this.#o.user());
  }

  /**
   * The verdict is a function of the text, the session's rules, its exemptions and its schema: remembered per
   * text while the last two stay the same, so a prepared statement is not tokenized again at every execute.
   */
  #guard(sql: string): GuardResult {
    const exempt = this.#exempt();
    const schema = this.#o.schema();
    if (exempt !== this.#verdictsExempt || schema !== this.#verdictsSchema || this.#verdicts.size >= VERDICTS_MAX) {
      this.#verdicts.clear();
      this.#verdictsExempt = exempt;
      this.#verdictsSchema = schema;
    }
    let r = this.#verdicts.get(sql);
    if (r === undefined) {
      r = checkStatement(sql, this.#o.rules, { defaultSchema: schema, onBypass: this.#o.onBypass, cache: this.#o.cache, exemptRules: exempt });
      if (sql.length <= VERDICT_MAX_SQL) this.#verdicts.set(sql, r);
    }
    return r;
  }

  /**
   * The plan of a result set depends only on its column definitions and the session's exemptions: the same
   * statement returns the same definitions every time. The last few shapes are compared first (a memcmp
   * each; the usual case is a few statements run again and again), then a map keyed by the bytes.
   * Definitions are self-delimiting, so equal bytes are equal definitions.
   */
  #plan(): ResultPlan | null {
    const exempt = this.#exempt();
    const defs = this.#defs.subarray(0, this.#defsLen);
    for (const known of this.#recent) if (known.exempt === exempt && known.defs.equals(defs)) return known.plan;
    if (exempt !== this.#plansExempt || this.#plans.size >= PLANS_MAX) {
      this.#plans.clear();
      this.#plansExempt = exempt;
    }
    const key = defs.length <= PLAN_KEY_MAX ? defs.toString('latin1') : null;
    let plan = key === null ? undefined : this.#plans.get(key);
    if (plan === undefined) {
      plan = this.#o.rules.planColumns(this.#columns(), { exemptRules: exempt });
      if (key !== null) this.#plans.set(key, plan);
    }
    if (key !== null) {
      this.#recent[this.#recentNext] = { defs: Buffer.from(defs), exempt, plan };
      this.#recentNext = (this.#recentNext + 1) % RECENT_MAX;
    }
    return plan;
  }

  readonly #plans = new Map<string, ResultPlan | null>();
  #plansExempt: ReadonlySet<string> | null = null;

  readonly #verdicts = new Map<string, GuardResult>();
  #verdictsExempt: ReadonlySet<string> | null = null;
  #verdictsSchema: string | null = null;
}
