// Bypass guard: decide, before a statement reaches the server, whether it would carry a masked
// column's values out in a form the column rules (which match result columns by ORIGIN) cannot see.
// Fast path: when no identifier of the statement can name a table of a column rule, pass WITHOUT
// parsing. Otherwise use the cached analysis (one parse per digest) and fail closed: a statement that
// references a masked table but cannot be parsed is rejected. Pure: no sockets; the caller sends ERR 1142.

import { tokenize } from '../sql/tokenizer.ts';
import type { Token } from '../sql/tokenizer.ts';
import type { AnalysisCache } from '../sql/cache.ts';
import type { Analysis, ColumnSource, OutputColumn } from '../sql/analyze.ts';
import type { ColumnGlob, RuleSet } from './policy.ts';

export type GuardResult =
  | { readonly action: 'pass' }
  | { readonly action: 'reject'; readonly column: string; readonly reason: string }
  | { readonly action: 'mask_outputs'; readonly outputs: number[] };

export interface GuardOptions {
  /** The session's current schema, for unqualified tables (null: unknown, matched against any schema glob). */
  readonly defaultSchema: string | null;
  readonly onBypass: 'reject' | 'mask_expression';
  readonly cache: AnalysisCache;
  readonly exemptRules: ReadonlySet<string>;
}

const PASS: GuardResult = Object.freeze({ action: 'pass' });

export const UNPARSEABLE = 'unparseable statement references masked table';

/** The ERR packet fields for a rejected statement (DESIGN §5.6: 1142 / 42000). */
export function bypassError(column: string, reason?: string, user?: string): { code: 1142; sqlState: '42000'; message: string } {
  const who = user === undefined ? '' : ` '${user}'`;
  const why = reason === undefined ? 'cannot be read through an expression, subquery, UNION or export' : reason;
  return { code: 1142, sqlState: '42000', message: `SELECT command denied to user${who} (sluice: masked column ${column} ${why})` };
}

/** Does any identifier token name a table a column glob could match? (case-insensitive; hot path) */
function mentionsMaskedTable(tokens: readonly Token[], globs: readonly ColumnGlob[]): ColumnGlob | null {
  for (const t of tokens) {
    if (t.type !== 'ident' && t.type !== 'qident') continue;
    for (const g of globs) if (g.table.test(t.value)) return g;
  }
  return null;
}

function sourceGlob(s: ColumnSource, globs: readonly ColumnGlob[], defaultSchema: string | null): ColumnGlob | null {
  const schema = s.schema ?? defaultSchema;
  for (const g of globs) {
    if (schema !== null && !g.schema.test(schema)) continue;
    if (!g.table.test(s.table)) continue;
    // `*`: a star over a base table whose columns are unknown here — it may carry a masked one
    if (s.column === '*' || g.column.test(s.column)) return g;
  }
  return null;
}

function columnName(s: ColumnSource, g: ColumnGlob, defaultSchema: string | null): string {
  const schema = s.schema ?? defaultSchema ?? g.pattern.split('.')[0] ?? '*';
  return `${schema}.${s.table}.${s.column === '*' ? (g.pattern.split('.').at(-1) ?? '*') : s.column}`;
}

const CLAUSE_END: ReadonlySet<string> = new Set(['WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT', 'WINDOW', 'INTO', 'FOR', 'SELECT']);

/**
 * Does the statement re-expose columns under another origin: UNION/INTERSECT/EXCEPT, a CTE, or a
 * derived table (`FROM (SELECT …)`)? Then even a "direct" output column is not trusted to carry
 * its base table as origin in the column definition.
 */
function reshapes(tokens: readonly Token[]): boolean {
  const inFrom: boolean[] = [false];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.type === 'keyword') {
      if (t.value === 'UNION' || t.value === 'INTERSECT' || t.value === 'EXCEPT') return true;
      if (t.value === 'WITH' && i === 0) return true;
      if (t.value === 'FROM' || t.value === 'JOIN' || t.value === 'STRAIGHT_JOIN') inFrom[inFrom.length - 1] = true;
      else if (CLAUSE_END.has(t.value)) inFrom[inFrom.length - 1] = false;
    }
    if (t.type === 'lparen') {
      const n = tokens[i + 1];
      if (inFrom[inFrom.length - 1] === true && n?.type === 'keyword' && (n.value === 'SELECT' || n.value === 'WITH' || n.value === 'VALUES')) return true;
      inFrom.push(false);
    } else if (t.type === 'rparen' && inFrom.length > 1) inFrom.pop();
  }
  return false;
}

/** In an UPDATE, does a SET right-hand side read a masked column (`SET notes = phone`)? */
function updateReadsMasked(tokens: readonly Token[], globs: readonly ColumnGlob[]): ColumnGlob | null {
  let inSet = false;
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.type === 'lparen') depth++;
    else if (t.type === 'rparen') depth--;
    else if (t.type === 'keyword' && depth === 0) {
      if (t.value === 'SET') inSet = true;
      else if (t.value === 'WHERE' || t.value === 'ORDER' || t.value === 'LIMIT') inSet = false;
    } else if (inSet && (t.type === 'ident' || t.type === 'qident')) {
      const next = tokens[i + 1];
      if (next?.type === 'dot') continue; // a qualifier
      if (next?.type === 'op' && next.value === '=' && depth === 0) continue; // an assignment target
      const g = globs.find((x) => x.column.test(t.value));
      if (g !== undefined) return g;
    }
  }
  return null;
}

function reject(column: string, reason: string): GuardResult {
  return { action: 'reject', column, reason };
}

/** Check one statement (COM_QUERY text or COM_STMT_PREPARE text) against the session's rule set. */
export function checkStatement(sql: string, ruleSet: RuleSet, opts: GuardOptions): GuardResult {
  const globs = ruleSet.columnGlobs(opts.exemptRules);
  if (globs.length === 0) return PASS;
  const tokens = tokenize(sql);
  const touched = mentionsMaskedTable(tokens, globs);
  if (touched === null) return PASS; // hot path: no parse
  const { analysis } = opts.cache.analyzeCached(sql);
  if (!analysis.parsed) return reject(touched.pattern, UNPARSEABLE);
  return checkAnalysis(analysis, tokens, globs, opts);
}

function maskedTableRead(a: Analysis, globs: readonly ColumnGlob[], defaultSchema: string | null): string | null {
  for (const t of a.tables) {
    if (t.op !== 'select') continue;
    const g = sourceGlob({ schema: t.schema, table: t.table, column: '*' }, globs, defaultSchema);
    if (g !== null) return columnName({ schema: t.schema, table: t.table, column: '*' }, g, defaultSchema);
  }
  return null;
}

function checkAnalysis(a: Analysis, tokens: readonly Token[], globs: readonly ColumnGlob[], opts: GuardOptions): GuardResult {
  const ds = opts.defaultSchema;
  if (a.kind === 'update') {
    const g = updateReadsMasked(tokens, globs);
    return g === null || maskedTableRead({ ...a, tables: a.tables.map((t) => ({ ...t, op: 'select' as const })) }, globs, ds) === null
      ? PASS
      : reject(g.pattern, 'is copied by UPDATE … SET into another column');
  }
  if (a.kind === 'delete') return PASS; // reads in WHERE carry no values out
  if (a.kind !== 'select' || a.outputs === undefined) {
    // CREATE TABLE/VIEW … AS SELECT, INSERT/REPLACE … SELECT, SET @v = (SELECT …): no result set to mask
    const col = maskedTableRead(a, globs, ds);
    return col === null ? PASS : reject(col, `is read by ${a.kind.toUpperCase()} … SELECT (no result set to mask)`);
  }
  const outputs: readonly OutputColumn[] = a.outputs;
  const hits: Array<{ pos: number; col: string; star: boolean }> = [];
  const reshaped = reshapes(tokens);
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i] as OutputColumn;
    let first: string | null = null;
    for (const s of o.sources) {
      const g = sourceGlob(s, globs, ds);
      if (g !== null) {
        first = columnName(s, g, ds);
        break;
      }
    }
    if (first === null) continue;
    if (a.into !== null && a.into !== undefined) {
      return reject(first, `is exported by SELECT … INTO ${a.into === 'var' ? '@var' : a.into.toUpperCase()}`);
    }
    if (o.kind === 'expression' || o.sources.length > 1 || reshaped) hits.push({ pos: i, col: first, star: o.kind === 'star' });
  }
  const firstHit = hits[0];
  if (firstHit === undefined) return PASS;
  const reason = 'reaches the result through an expression, UNION, subquery, derived table or CTE';
  if (opts.onBypass === 'reject') return reject(firstHit.col, reason);
  // mask_expression: positions are only known when no star precedes (a star expands to an unknown count)
  const starAt = outputs.findIndex((o) => o.kind === 'star');
  const last = hits[hits.length - 1] as (typeof hits)[number];
  if (hits.some((h) => h.star) || (starAt !== -1 && starAt < last.pos)) return reject(firstHit.col, reason);
  return { action: 'mask_outputs', outputs: hits.map((h) => h.pos) };
}
