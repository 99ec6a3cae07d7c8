// MaskingController: the session's side of masking (issue 5). It runs the bypass guard on COM_QUERY and
// COM_STMT_PREPARE (and re-checks COM_STMT_EXECUTE's prepared SQL, a cache hit), observes the column
// definitions of every result set through the ResultTracker, and, only when a rule touches a column, hands
// the relay a ResultPlan that rewrites that result set's rows. Exemptions (exempt_users and time-limited
// grants) are read at each statement, so a grant takes effect on the next statement of a live session.
import { Command } from '../protocol/constants.ts';
import { parseColumnDefinition41, type ColumnDefinition41 } from '../protocol/column-definition.ts';
import type { RuleSet, ResultPlan } from '../masking/policy.ts';
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
  user(): string;
  schema(): string | null;
  warn(message: string): void;
}

export type Verdict = { readonly kind: 'pass' } | { readonly kind: 'reject'; readonly err: { code: number; sqlState: string; message: string } };

export class MaskingController implements ResultSetObserver {
  readonly #o: MaskingControllerOptions;
  #columns: ColumnDefinition41[] = [];
  #truncated = false;
  /** Output positions to NULL, per command (guard outcome `mask_outputs`). */
  readonly #forced = new Map<number, number[]>();
  #pendingForced: number[] | null = null;
  /** Plans of cursors opened by COM_STMT_EXECUTE, by statement id, for their COM_STMT_FETCH rows. */
  readonly #cursorPlans = new Map<number, ResultPlan>();
  /** The plan of the result set whose rows are streaming now (null: rows pass untouched). */
  rowPlan: ResultPlan | null = null;
  /** Columns masked in the current statement (for the audit event). */
  masked: string[] = [];

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
  onCommand(cmd: CommandStart): void {
    this.masked = [];
    if (this.#pendingForced !== null) {
      this.#forced.set(cmd.seqNo, this.#pendingForced);
      this.#pendingForced = null;
    } else if (cmd.code === Command.COM_STMT_EXECUTE && cmd.sql !== null) {
      const r = this.#guard(cmd.sql);
      if (r.action === 'mask_outputs') this.#forced.set(cmd.seqNo, r.outputs);
    }
    if (cmd.code === Command.COM_STMT_FETCH && cmd.statementId !== null) this.rowPlan = this.#cursorPlans.get(cmd.statementId) ?? null;
    if (cmd.code === Command.COM_STMT_CLOSE && cmd.statementId !== null) this.#cursorPlans.delete(cmd.statementId);
  }

  /** A COM_STMT_FETCH of a masked cursor must be decoded from its first packet. */
  fetchNeedsRewrite(statementId: number | null): boolean {
    return statementId !== null && this.#cursorPlans.has(statementId);
  }

  onCommandDone(cmd: CommandStart): void {
    this.#forced.delete(cmd.seqNo);
    this.rowPlan = null;
  }

  onResultSetStart(_cmd: CommandStart, _columns: number): void {
    this.#columns = [];
    this.#truncated = false;
    this.rowPlan = null;
  }

  onColumnDefinition(_cmd: CommandStart, buf: Buffer, off: number, head: number, length: number): void {
    if (head < length) {
      this.#truncated = true;
      return;
    }
    this.#columns.push(parseColumnDefinition41(buf.subarray(off, off + head), { extendedMetadata: this.#o.extendedMetadata }));
  }

  onRowsStart(cmd: CommandStart, _binary: boolean): boolean {
    if (this.#truncated) {
      // fail closed: a definition we could not read cannot be judged, so every column is withheld
      this.#o.warn('a column definition exceeded the inspection limit; the whole result set is masked');
      this.rowPlan = this.#o.rules.planColumns(this.#columns, { exemptRules: new Set(), maskOutputs: this.#columns.map((_, i) => i) });
    } else {
      const forced = this.#forced.get(cmd.seqNo);
      this.rowPlan = this.#o.rules.planColumns(this.#columns, { exemptRules: this.#exempt(), ...(forced !== undefined ? { maskOutputs: forced } : {}) });
    }
    if (this.rowPlan !== null) {
      for (const w of this.rowPlan.warnings) this.#o.warn(w);
      for (const c of this.rowPlan.maskedColumns) if (!this.masked.includes(c)) this.masked.push(c);
    }
    return this.rowPlan !== null;
  }

  onCursorOpened(cmd: CommandStart): void {
    const plan = this.#o.rules.planColumns(this.#columns, { exemptRules: this.#exempt() });
    if (cmd.statementId !== null && plan !== null) this.#cursorPlans.set(cmd.statementId, plan);
  }

  #exempt(): ReadonlySet<string> {
    return this.#o.grants.exemptRules(this.#o.user());
  }

  #guard(sql: string): GuardResult {
    return checkStatement(sql, this.#o.rules, { defaultSchema: this.#o.schema(), onBypass: this.#o.onBypass, cache: this.#o.cache, exemptRules: this.#exempt() });
  }
}
