// Bypass guard: decide, before a statement reaches the server, whether it would carry a masked
// column's values out in a form the column rules (which match result columns by ORIGIN) cannot see.
// Fast path: when no identifier of the statement can name a table of a column rule, pass WITHOUT
// parsing. Otherwise use the cached analysis (one parse per digest) and fail closed: a statement that
// references a masked table but cannot be parsed is rejected. Pure: no sockets; the caller sends ERR 1142.

import { tokenize } from '../sql/tokenizer.ts';
import { splitTokenRanges } from '../sql/digest.ts';
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
  return checkText(sql, tokenize(sql), globs, opts, 0);
}

const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && (t.type === 'keyword' || t.type === 'ident') && t.value.toUpperCase() === w;

/** The text of a string literal token (`'…'`, `"…"`, with an optional _charset / N introducer). */
function unquote(raw: string): string {
  const q = raw.search(/['"]/);
  const quote = raw[q] as string;
  const body = raw.slice(q + 1, -1);
  return body.replace(/\\(.)/gs, (_m, esc: string) => {
    const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', Z: '\x1a' };
    return map[esc] ?? esc;
  }).replace(quote === "'" ? /''/g : /""/g, quote);
}

/**
 * Dynamic SQL (`PREPARE s FROM …`, `EXECUTE IMMEDIATE …`) hides its statement in a string the token scan
 * does not look into: a literal is checked as a statement of its own; anything else (a variable, an
 * expression) cannot be known before it runs, so it is refused while column rules apply (fail closed).
 */
function dynamicSql(tokens: readonly Token[], from: number, to: number): { text: string | null } | null {
  let i = from;
  if (isWord(tokens[i], 'PREPARE') && (tokens[i + 1]?.type === 'ident' || tokens[i + 1]?.type === 'qident') && isWord(tokens[i + 2], 'FROM')) i += 3;
  else if (isWord(tokens[i], 'EXECUTE') && isWord(tokens[i + 1], 'IMMEDIATE')) i += 2;
  else return null;
  const t = tokens[i];
  if (t?.type === 'string' && i + 1 === to) return { text: unquote(t.value) };
  return { text: null };
}

function checkText(sql: string, tokens: readonly Token[], globs: readonly ColumnGlob[], opts: GuardOptions, depth: number): GuardResult {
  // several statements in one COM_QUERY (CLIENT_MULTI_STATEMENTS): each is judged on its own
  const ranges = tokens.some((t) => t.type === 'semicolon') ? splitTokenRanges(tokens) : [[0, tokens.length] as [number, number]];
  if (ranges.length > 1) {
    for (const [a, b] of ranges) {
      const part = sql.slice((tokens[a] as Token).start, (tokens[b - 1] as Token).end);
      const r = checkText(part, tokenize(part), globs, opts, depth);
      if (r.action === 'reject') return r;
      // a forced NULL output is known per statement, not per result set of a multi-statement: refuse
      if (r.action === 'mask_outputs') return reject(columnOfOutputs(part, globs), 'reaches the result through an expression inside a multi-statement query');
    }
    return PASS;
  }
  const dyn = ranges.length === 1 ? dynamicSql(tokens, (ranges[0] as [number, number])[0], (ranges[0] as [number, number])[1]) : null;
  if (dyn !== null) {
    const g = globs[0] as ColumnGlob;
    if (dyn.text === null || depth > 2) return reject(g.pattern, 'may be read by dynamic SQL Sluice cannot check (PREPARE … FROM / EXECUTE IMMEDIATE of a non-literal)');
    const inner = checkText(dyn.text, tokenize(dyn.text), globs, opts, depth + 1);
    // the outputs of a server-side prepared statement show up later, under EXECUTE: refuse instead of masking
    return inner.action === 'mask_outputs' ? reject(columnOfOutputs(dyn.text, globs), 'reaches the result through an expression in dynamic SQL') : inner;
  }
  const touched = mentionsMaskedTable(tokens, globs);
  if (touched === null) return PASS; // hot path: no parse
  const { analysis } = opts.cache.analyzeCached(sql);
  if (!analysis.parsed) return reject(touched.pattern, UNPARSEABLE);
  return checkAnalysis(analysis, tokens, globs, opts);
}

/** A column name for the ERR of a statement whose masked outputs cannot be forced to NULL. */
function columnOfOutputs(sql: string, globs: readonly ColumnGlob[]): string {
  return mentionsMaskedTable(tokenize(sql), globs)?.pattern ?? (globs[0] as ColumnGlob).pattern;
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
