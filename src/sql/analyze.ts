// Statement analysis: which tables a statement touches and how (audit), and which base-table columns each
// output column carries (masking lineage, resolved through aliases, derived tables, CTEs and UNION branches).
// node-sql-parser gives the AST (MariaDB grammar first, then MySQL); its loose `any` AST stays behind the
// narrow `Node` reader below. When neither grammar parses, a tokenizer scan still names tables (`parsed: false`).
// Lineage is deliberately over-approximate: an unqualified column with several tables in scope maps to all.

import { createRequire } from 'node:module';
import { tokenize } from './tokenizer.ts';
import type { Token } from './tokenizer.ts';
import { skipGroup, splitTokenRanges, statementKindOfTokens } from './digest.ts';

export type TableOp =
  | 'select' | 'insert' | 'update' | 'delete' | 'replace' | 'create' | 'alter' | 'drop' | 'truncate'
  | 'rename' | 'load' | 'lock' | 'other';

export interface TableRef {
  /** As written; `null` when unqualified (the caller fills in the session schema). */
  readonly schema: string | null;
  readonly table: string;
  readonly op: TableOp;
}

export interface ColumnSource {
  readonly schema: string | null;
  readonly table: string;
  /** `*` when the output is a star over a base table whose columns are unknown here. */
  readonly column: string;
}

export interface OutputColumn {
  /** Alias or column name; for an unaliased expression a normalised rendering (literals as `?`). */
  readonly name: string;
  readonly kind: 'column' | 'expression' | 'star';
  readonly sources: readonly ColumnSource[];
}

export interface Analysis {
  readonly kind: string;
  readonly tables: readonly TableRef[];
  /**
   * True when `tables` is authoritative (from the AST, or the kind names no tables: SET without a subquery,
   * SHOW, USE, transaction control); false when the parser failed and `tables` is a best-effort token scan.
   */
  readonly parsed: boolean;
  readonly error?: string;
  /** Result columns, in order, for SELECT-like statements (also DML … RETURNING). */
  readonly outputs?: readonly OutputColumn[];
  readonly into?: 'outfile' | 'dumpfile' | 'var' | null;
}

export interface AnalyzeOptions {
  /** Accepted for symmetry with callers; tables stay `schema: null` when unqualified (see TableRef). */
  readonly defaultSchema?: string | null;
}

// ---------------------------------------------------------------------------------------------------------
// The narrow view of node-sql-parser's AST

type Node = { readonly [key: string]: unknown };

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function arr(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}
/** A name that node-sql-parser gives as a string or as `{ type, value }` / `{ expr: { value } }`. */
function name(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (isNode(v)) {
    if (typeof v['value'] === 'string') return v['value'];
    if (isNode(v['expr'])) return name(v['expr']);
  }
  return null;
}

const GRAMMARS = ['MariaDB', 'MySQL'] as const;
type Grammar = (typeof GRAMMARS)[number];
interface SqlParser {
  astify(sql: string, opts: { database: string }): unknown;
}

// The parser is loaded on the first cache miss, and only the two dialect builds Sluice uses: the full
// package costs ~30 MiB of RSS at start-up, the two dialects ~4 MiB (most statements never need it).
const require = createRequire(import.meta.url);
const parsers = new Map<Grammar, SqlParser>();
function parserFor(g: Grammar): SqlParser {
  let p = parsers.get(g);
  if (p === undefined) {
    const mod = require(g === 'MariaDB' ? 'node-sql-parser/build/mariadb' : 'node-sql-parser/build/mysql') as { Parser: new () => SqlParser };
    p = new mod.Parser();
    parsers.set(g, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// Scopes and relations

type Rel =
  | { readonly kind: 'base'; readonly schema: string | null; readonly table: string }
  | { readonly kind: 'derived'; readonly outputs: readonly OutputColumn[] };

interface Scope {
  readonly parent: Scope | null;
  readonly ctes: Map<string, readonly OutputColumn[]>;
  readonly rels: Array<{ readonly alias: string; readonly rel: Rel }>;
}

function newScope(parent: Scope | null): Scope {
  return { parent, ctes: new Map(), rels: [] };
}

function findCte(scope: Scope | null, table: string): readonly OutputColumn[] | undefined {
  for (let s = scope; s !== null; s = s.parent) {
    const c = s.ctes.get(table.toLowerCase());
    if (c !== undefined) return c;
  }
  return undefined;
}

class Collector {
  readonly tables: TableRef[] = [];
  readonly #seen = new Set<string>();
  into: 'outfile' | 'dumpfile' | 'var' | null = null;

  add(schema: string | null, table: string, op: TableOp): void {
    const key = `${schema ?? ''}\u0000${table}\u0000${op}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.tables.push({ schema, table, op });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Walkers

/** Register a FROM/JOIN item in `scope`, recording base tables with `op`. */
function addFrom(item: unknown, scope: Scope, col: Collector, op: TableOp): void {
  if (!isNode(item)) return;
  const alias = name(item['as']);
  const expr = item['expr'];
  if (isNode(expr) && (isNode(expr['ast']) || expr['type'] === 'select')) {
    const sub = isNode(expr['ast']) ? expr['ast'] : expr;
    const outputs = analyzeSelect(sub, scope.parent, col);
    scope.rels.push({ alias: alias ?? '', rel: { kind: 'derived', outputs } });
  } else {
    const table = name(item['table']);
    if (table !== null) {
      const schema = name(item['db']) ?? name(item['schema']);
      const cte = schema === null ? findCte(scope, table) : undefined;
      if (cte !== undefined) {
        scope.rels.push({ alias: alias ?? table, rel: { kind: 'derived', outputs: cte } });
      } else {
        col.add(schema, table, op);
        scope.rels.push({ alias: alias ?? table, rel: { kind: 'base', schema, table } });
      }
    }
  }
  if (item['on'] !== undefined) walk(item['on'], scope, col);
}

/** Find subqueries anywhere under `v` (tables as `select`); return the column sources `v` reads. */
function walk(v: unknown, scope: Scope, col: Collector, sources?: ColumnSource[]): void {
  if (Array.isArray(v)) {
    for (const x of v) walk(x, scope, col, sources);
    return;
  }
  if (!isNode(v)) return;
  if (isNode(v['ast'])) {
    const outs = analyzeStatement(v['ast'], scope, col);
    if (sources !== undefined) for (const o of outs) sources.push(...o.sources);
    return;
  }
  const type = v['type'];
  if (type === 'select') {
    const outs = analyzeSelect(v, scope, col);
    if (sources !== undefined) for (const o of outs) sources.push(...o.sources);
    return;
  }
  if (type === 'column_ref') {
    if (sources !== undefined) sources.push(...resolveColumn(v, scope));
    return;
  }
  // COUNT(x) and window ordering/partitioning never carry the value of their columns
  const isCount = type === 'aggr_func' && typeof v['name'] === 'string' && v['name'].toUpperCase() === 'COUNT';
  for (const key in v) {
    if (key === 'tableList' || key === 'columnList' || key === 'loc') continue;
    const carries = sources !== undefined && !isCount && key !== 'over';
    walk(v[key], scope, col, carries ? sources : undefined);
  }
}

function resolveIn(rel: Rel, column: string): ColumnSource[] {
  if (rel.kind === 'base') return [{ schema: rel.schema, table: rel.table, column }];
  const lc = column.toLowerCase();
  const named = rel.outputs.filter((o) => o.name.toLowerCase() === lc);
  if (named.length > 0) return named.flatMap((o) => o.sources);
  // `SELECT * FROM (SELECT * FROM t) d`: a star over a base table stands for its columns
  return rel.outputs
    .filter((o) => o.kind === 'star')
    .flatMap((o) => o.sources.map((s) => (s.column === '*' ? { ...s, column } : s)));
}

function resolveColumn(ref: Node, scope: Scope): ColumnSource[] {
  const column = name(ref['column']);
  if (column === null) return [];
  const qual = name(ref['table']);
  const db = name(ref['db']) ?? name(ref['schema']);
  for (let s: Scope | null = scope; s !== null; s = s.parent) {
    if (qual !== null) {
      const hit = s.rels.find((r) => r.alias === qual && (db === null || (r.rel.kind === 'base' && r.rel.schema === db))) ??
        s.rels.find((r) => r.alias.toLowerCase() === qual.toLowerCase());
      if (hit !== undefined) return resolveIn(hit.rel, column);
      continue;
    }
    if (s.rels.length === 0) continue;
    if (s.rels.length === 1 && s.rels[0] !== undefined) return resolveIn(s.rels[0].rel, column);
    // several tables: a derived table that names the column wins, else every candidate (over-approximate)
    const lc = column.toLowerCase();
    const derived = s.rels.filter((r) => r.rel.kind === 'derived' && r.rel.outputs.some((o) => o.name.toLowerCase() === lc));
    if (derived.length > 0) return derived.flatMap((r) => resolveIn(r.rel, column));
    return s.rels.flatMap((r) => resolveIn(r.rel, column));
  }
  return [];
}

/** Output columns of a SELECT list (or RETURNING list) in `scope`. */
function selectList(columns: unknown, scope: Scope, col: Collector): OutputColumn[] {
  const out: OutputColumn[] = [];
  for (const c of arr(columns)) {
    const expr = isNode(c) ? (c['expr'] ?? c) : c;
    const alias = isNode(c) ? name(c['as']) : null;
    if (c === '*' || (isNode(expr) && (expr['type'] === 'star' || (expr['type'] === 'column_ref' && name(expr['column']) === '*')))) {
      const qual = isNode(expr) ? name(expr['table']) : null;
      for (const r of scope.rels) {
        if (qual !== null && r.alias !== qual) continue;
        if (r.rel.kind === 'base') {
          out.push({ name: '*', kind: 'star', sources: [{ schema: r.rel.schema, table: r.rel.table, column: '*' }] });
        } else {
          out.push(...r.rel.outputs);
        }
      }
      continue;
    }
    if (isNode(expr) && expr['type'] === 'column_ref') {
      out.push({ name: alias ?? name(expr['column']) ?? '?', kind: 'column', sources: dedupe(resolveColumn(expr, scope)) });
      continue;
    }
    const sources: ColumnSource[] = [];
    walk(expr, scope, col, sources);
    out.push({ name: alias ?? render(expr), kind: 'expression', sources: dedupe(sources) });
  }
  return out;
}

function dedupe(s: readonly ColumnSource[]): ColumnSource[] {
  const seen = new Set<string>();
  const out: ColumnSource[] = [];
  for (const x of s) {
    const k = `${x.schema ?? ''}\u0000${x.table}\u0000${x.column}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(x);
    }
  }
  return out;
}

/** Process `WITH` entries of `node` into `scope.ctes`. */
function withClause(node: Node, scope: Scope, col: Collector): void {
  for (const w of arr(node['with'])) {
    if (!isNode(w)) continue;
    const cteName = name(w['name']);
    if (cteName === null) continue;
    scope.ctes.set(cteName.toLowerCase(), []); // visible inside its own body (RECURSIVE)
    const stmt = w['stmt'];
    const body = isNode(stmt) && isNode(stmt['ast']) ? stmt['ast'] : stmt;
    let outs: readonly OutputColumn[] = isNode(body) ? analyzeSelect(body, scope, col) : [];
    const names = arr(w['columns']).map(name);
    if (names.length > 0) outs = outs.map((o, i) => ({ ...o, name: names[i] ?? o.name }));
    scope.ctes.set(cteName.toLowerCase(), outs);
  }
}

function analyzeSelect(node: Node, outer: Scope | null, col: Collector): OutputColumn[] {
  if (node['type'] !== 'select') return analyzeStatement(node, outer ?? newScope(null), col);
  const cteScope = newScope(outer);
  withClause(node, cteScope, col);
  const scope = newScope(cteScope);
  for (const f of arr(node['from'])) addFrom(f, scope, col, 'select');
  const outputs = selectList(node['columns'], scope, col);
  for (const key of ['where', 'having', 'groupby', 'orderby', 'window', 'qualify']) walk(node[key], scope, col);
  const into = node['into'];
  if (isNode(into) && typeof into['keyword'] === 'string') {
    const k = into['keyword'].toLowerCase();
    col.into = k === 'outfile' ? 'outfile' : k === 'dumpfile' ? 'dumpfile' : 'var';
  }
  const next = node['_next'];
  if (isNode(next)) {
    const more = analyzeSelect(next, cteScope, col);
    return outputs.map((o, i) => {
      const m = more[i];
      return m === undefined ? o : { ...o, sources: dedupe([...o.sources, ...m.sources]) };
    });
  }
  return outputs;
}

function tableItems(v: unknown): Node[] {
  return arr(v).filter(isNode);
}

/** Tables of a DML/DDL statement; returns output columns for SELECT / RETURNING. */
function analyzeStatement(node: Node, outer: Scope, col: Collector): OutputColumn[] {
  const type = typeof node['type'] === 'string' ? node['type'].toLowerCase() : '';
  const addNamed = (items: unknown, op: TableOp): void => {
    for (const t of tableItems(items)) {
      const table = name(t['table']) ?? name(t['view']);
      if (table !== null) col.add(name(t['db']) ?? name(t['schema']), table, op);
    }
  };
  switch (type) {
    case 'select':
      return analyzeSelect(node, outer, col);
    case 'insert':
    case 'replace': {
      const scope = newScope(outer);
      withClause(node, scope, col);
      for (const t of tableItems(node['table'])) addFrom(t, scope, col, type);
      const values = node['values'];
      if (isNode(values) && values['type'] === 'select') analyzeSelect(values, scope.parent, col);
      else walk(values, scope, col);
      walk(node['set'], scope, col);
      walk(node['on_duplicate_update'], scope, col);
      walk(node['select'], scope, col);
      return returning(node, scope, col);
    }
    case 'update': {
      const scope = newScope(outer);
      withClause(node, scope, col);
      const tmp = new Collector();
      for (const t of tableItems(node['table'])) addFrom(t, scope, tmp, 'select');
      const targets = new Set<string>();
      let unqualified = false;
      for (const s of tableItems(node['set'])) {
        const q = name(s['table']);
        if (q === null) unqualified = true;
        else targets.add(q);
      }
      const bases = scope.rels.filter((r) => r.rel.kind === 'base');
      // an unqualified SET column with several tables: every base table may be the target (audit over-reports)
      if (unqualified) for (const r of bases) targets.add(r.alias);
      for (const r of scope.rels) {
        if (r.rel.kind === 'base') col.add(r.rel.schema, r.rel.table, targets.has(r.alias) ? 'update' : 'select');
      }
      for (const t of tmp.tables) if (t.op === 'select' && !scope.rels.some((r) => r.rel.kind === 'base' && r.rel.table === t.table && r.rel.schema === t.schema)) col.add(t.schema, t.table, 'select');
      walk(node['set'], scope, col);
      for (const key of ['where', 'orderby', 'limit']) walk(node[key], scope, col);
      return [];
    }
    case 'delete': {
      const scope = newScope(outer);
      withClause(node, scope, col);
      const tmp = new Collector();
      for (const f of arr(node['from'])) addFrom(f, scope, tmp, 'select');
      const targets = tableItems(node['table']);
      const isTarget = (alias: string, rel: Rel): boolean =>
        targets.some((t) => {
          const tn = name(t['table']);
          const db = name(t['db']);
          if (t['addition'] === true && targets.length === 1) return true;
          if (db !== null) return rel.kind === 'base' && rel.schema === db && rel.table === tn;
          return tn === alias;
        });
      for (const r of scope.rels) {
        if (r.rel.kind === 'base') col.add(r.rel.schema, r.rel.table, isTarget(r.alias, r.rel) ? 'delete' : 'select');
      }
      for (const t of tmp.tables) if (!scope.rels.some((r) => r.rel.kind === 'base' && r.rel.table === t.table && r.rel.schema === t.schema)) col.add(t.schema, t.table, 'select');
      for (const key of ['where', 'orderby', 'limit']) walk(node[key], scope, col);
      return returning(node, scope, col);
    }
    case 'create': {
      const keyword = typeof node['keyword'] === 'string' ? node['keyword'].toLowerCase() : '';
      if (keyword === 'view') {
        addNamed(node['view'], 'create');
        const sel = node['select'];
        if (isNode(sel)) analyzeSelect(sel, outer, col);
        return [];
      }
      if (keyword === 'index' || keyword === 'trigger') {
        addNamed(node['table'], keyword === 'index' ? 'alter' : 'other');
        return [];
      }
      if (keyword === 'table') {
        addNamed(node['table'], 'create');
        const like = node['like'];
        if (isNode(like)) addNamed(like['table'], 'select');
        for (const key of ['query_expr', 'as', 'select']) {
          const q = node[key];
          if (isNode(q)) walk(q, outer, col);
        }
        return [];
      }
      walk(node, outer, col);
      return [];
    }
    case 'alter':
      addNamed(node['table'], 'alter');
      return [];
    case 'drop': {
      const keyword = typeof node['keyword'] === 'string' ? node['keyword'].toLowerCase() : '';
      if (keyword === 'table' || keyword === 'view') addNamed(node['name'], 'drop');
      else if (keyword === 'index') addNamed(node['table'], 'alter');
      return [];
    }
    case 'truncate':
      addNamed(node['name'], 'truncate');
      return [];
    case 'rename':
      for (const pair of arr(node['table'])) addNamed(pair, 'rename');
      return [];
    case 'lock':
      for (const t of tableItems(node['tables'])) addNamed(t['table'], 'lock');
      return [];
    case 'load_data':
      addNamed(node['table'], 'load');
      return [];
    default:
      walk(node, outer, col);
      return [];
  }
}

function returning(node: Node, scope: Scope, col: Collector): OutputColumn[] {
  const r = node['returning'];
  if (!isNode(r)) return [];
  return selectList(r['columns'], scope, col);
}

/** Compact expression rendering for unaliased output names; literals are `?` so names are digest-stable. */
function render(v: unknown): string {
  if (!isNode(v)) return '?';
  switch (v['type']) {
    case 'column_ref': {
      const t = name(v['table']);
      return (t === null ? '' : t + '.') + (name(v['column']) ?? '?');
    }
    case 'function': {
      const fn = isNode(v['name']) ? arr(v['name']['name']).map(name).join('.') : (name(v['name']) ?? 'fn');
      const args = isNode(v['args']) ? arr(v['args']['value']).map(render).join(', ') : '';
      return `${fn}(${args})`;
    }
    case 'aggr_func': {
      const args = isNode(v['args']) ? v['args']['expr'] : undefined;
      const inner = isNode(args) && args['type'] === 'star' ? '*' : render(args);
      return `${typeof v['name'] === 'string' ? v['name'] : 'AGG'}(${inner})`;
    }
    case 'binary_expr':
      return `${render(v['left'])} ${typeof v['operator'] === 'string' ? v['operator'] : '?'} ${render(v['right'])}`;
    case 'case':
      return 'CASE … END';
    case 'cast':
      return `CAST(${render(v['expr'])})`;
    case 'var':
      return `@${name(v['name']) ?? ''}`;
    default:
      if (isNode(v['ast'])) return '(subquery)';
      return '?';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fallback: name tables from tokens when the parser cannot

const OP_BY_KIND: Readonly<Record<string, TableOp>> = {
  create: 'create', alter: 'alter', drop: 'drop', truncate: 'truncate', rename: 'rename', lock: 'lock',
  load: 'load',
};

function upper(t: Token | undefined): string {
  return t === undefined ? '' : t.type === 'keyword' ? t.value : t.type === 'ident' ? t.value.toUpperCase() : '';
}

/** Read `name` or `schema.name` at `i`; returns [schema, table, next index] or null. */
function qualifiedName(tokens: readonly Token[], i: number): [string | null, string, number] | null {
  const a = tokens[i];
  if (a === undefined || (a.type !== 'ident' && a.type !== 'qident')) return null;
  if (tokens[i + 1]?.type === 'dot') {
    const b = tokens[i + 2];
    if (b !== undefined && (b.type === 'ident' || b.type === 'qident' || b.type === 'keyword')) return [a.value, b.value, i + 3];
  }
  return [null, a.value, i + 1];
}

function fallbackTables(tokens: readonly Token[], kind: string, col: Collector): void {
  const ctes = new Set<string>();
  const baseOp: TableOp = OP_BY_KIND[kind] ?? 'other';
  const funcDepth: boolean[] = []; // per open paren: is it a function call?
  let i = 0;
  // CTE names
  for (let j = 0; j < tokens.length; j++) {
    const t = tokens[j];
    if (t?.type === 'keyword' && t.value === 'WITH') {
      let k = j + 1;
      if (upper(tokens[k]) === 'RECURSIVE') k++;
      for (;;) {
        const n = tokens[k];
        if (n === undefined || (n.type !== 'ident' && n.type !== 'qident')) break;
        ctes.add(n.value.toLowerCase());
        k++;
        if (tokens[k]?.type === 'lparen') k = skipGroup(tokens, k);
        if (upper(tokens[k]) === 'AS') k++;
        if (tokens[k]?.type === 'lparen') k = skipGroup(tokens, k);
        if (tokens[k]?.type !== 'comma') break;
        k++;
      }
    }
  }
  const take = (at: number, op: TableOp, list: boolean, columnList = false): number => {
    let k = at;
    for (;;) {
      const q = qualifiedName(tokens, k);
      // `FROM json_table(…)` is a function, `INTO t (a, b)` a column list
      if (q === null || (!columnList && tokens[q[2]]?.type === 'lparen')) return k;
      const [schema, table] = q;
      if (!(schema === null && ctes.has(table.toLowerCase()))) col.add(schema, table, op);
      k = q[2];
      if (upper(tokens[k]) === 'AS') k++;
      if (tokens[k]?.type === 'ident' || tokens[k]?.type === 'qident') k++; // alias
      if (upper(tokens[k]) === 'TO') {
        k++;
        continue; // RENAME a TO b
      }
      if (!list || tokens[k]?.type !== 'comma') return k;
      k++;
    }
  };
  const writeOp: TableOp = kind === 'insert' ? 'insert' : kind === 'replace' ? 'replace' : 'other';
  for (; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === undefined) break;
    if (t.type === 'lparen') {
      const p = tokens[i - 1];
      funcDepth.push(p !== undefined && (p.type === 'ident' || p.type === 'qident') && p.end === t.start);
      continue;
    }
    if (t.type === 'rparen') {
      funcDepth.pop();
      continue;
    }
    if (t.type !== 'keyword' || funcDepth.includes(true)) continue;
    switch (t.value) {
      case 'FROM':
        i = take(i + 1, kind === 'delete' && i <= 2 ? 'delete' : 'select', true) - 1;
        break;
      case 'JOIN':
      case 'STRAIGHT_JOIN':
        i = take(i + 1, 'select', false) - 1;
        break;
      case 'UPDATE':
        if (i === 0 || kind === 'update') i = take(i + 1, kind === 'update' ? 'update' : 'other', true) - 1;
        break;
      case 'INTO':
        if (kind === 'insert' || kind === 'replace') i = take(i + 1, writeOp, false, true) - 1;
        break;
      case 'TABLE':
      case 'TABLES':
      case 'VIEW':
      case 'SEQUENCE': {
        let k = i + 1;
        if (upper(tokens[k]) === 'IF') k += upper(tokens[k + 1]) === 'NOT' ? 3 : 2;
        i = take(k, kind === 'load' ? 'load' : baseOp, true, true) - 1;
        break;
      }
      default:
        if ((kind === 'insert' || kind === 'replace') && i === 0) {
          // INSERT [IGNORE] t … without INTO
          let k = 1;
          while (['IGNORE', 'LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY'].includes(upper(tokens[k]))) k++;
          if (upper(tokens[k]) !== 'INTO') i = take(k, writeOp, false, true) - 1;
        }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Entry point

const TABLELESS_KINDS: ReadonlySet<string> = new Set(['begin', 'commit', 'rollback', 'use', 'unlock', 'show']);
const TABLELESS_VERBS: ReadonlySet<string> = new Set(['SAVEPOINT', 'RELEASE', 'XA', 'DEALLOCATE']);

/**
 * Statements that name no table whatever their arguments: skip the parser (which rejects several of them,
 * e.g. `SET NAMES`, `SHOW PROCESSLIST`, `SAVEPOINT`) and answer authoritatively. SHOW … FROM t is not
 * reported as a table access: it reads metadata only.
 */
function hasNoTables(tokens: readonly Token[], kind: string): boolean {
  if (TABLELESS_KINDS.has(kind)) return true;
  if (kind === 'other') return TABLELESS_VERBS.has(upper(tokens[0]));
  if (kind === 'set') return !tokens.some((t) => t.type === 'keyword' && t.value === 'SELECT');
  return false;
}

function parseAst(sql: string): { ast: Node[] } | { error: string } {
  let first = '';
  for (const database of GRAMMARS) {
    try {
      const ast: unknown = parserFor(database).astify(sql, { database });
      return { ast: arr(ast).filter(isNode) };
    } catch (e) {
      if (first === '') first = e instanceof Error ? e.message : String(e);
    }
  }
  return { error: first.length > 200 ? first.slice(0, 200) + '…' : first };
}

/**
 * Tables (with operations) and output-column lineage of one statement (a multi-statement string is
 * analysed as a whole: tables of every statement, outputs of none). Never throws.
 */
export function analyze(sql: string, _opts?: AnalyzeOptions): Analysis {
  const tokens = tokenize(sql);
  return analyzeTokens(sql, tokens);
}

/** `analyze` for already-lexed input (the cache lexes once for digest and analysis). */
export function analyzeTokens(sql: string, tokens: readonly Token[]): Analysis {
  const kind = statementKindOfTokens(tokens);
  if (hasNoTables(tokens, kind)) return { kind, tables: [], parsed: true };
  // the parser treats `/*! … */` as a comment while the server runs it: hand it the server's view
  const text = sql.includes('/*!') || sql.includes('/*M!') || sql.includes('/*m!')
    ? tokens.map((t) => sql.slice(t.start, t.end)).join(' ')
    : sql;
  const parsed = parseAst(text);
  const col = new Collector();
  if ('ast' in parsed && parsed.ast.length > 0) {
    try {
      let outputs: OutputColumn[] = [];
      for (const node of parsed.ast) outputs = analyzeStatement(node, newScope(null), col);
      const multi = splitTokenRanges(tokens).length > 1;
      const selectLike = kind === 'select' || outputs.length > 0;
      return {
        kind,
        tables: col.tables,
        parsed: true,
        ...(selectLike && !multi ? { outputs } : {}),
        ...(kind === 'select' ? { into: col.into } : {}),
      };
    } catch (e) {
      return fallback(tokens, kind, `analyzer: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return fallback(tokens, kind, 'error' in parsed ? parsed.error : 'empty statement');
}

function fallback(tokens: readonly Token[], kind: string, error: string): Analysis {
  const col = new Collector();
  for (const [a, b] of splitTokenRanges(tokens)) {
    const part = tokens.slice(a, b);
    fallbackTables(part, statementKindOfTokens(part), col);
  }
  let into: Analysis['into'] = null;
  if (kind === 'select') {
    for (let i = 0; i < tokens.length - 1; i++) {
      if (tokens[i]?.type === 'keyword' && tokens[i]?.value === 'INTO') {
        const n = upper(tokens[i + 1]);
        into = n === 'OUTFILE' ? 'outfile' : n === 'DUMPFILE' ? 'dumpfile' : 'var';
      }
    }
  }
  return { kind, tables: col.tables, parsed: false, error, ...(kind === 'select' ? { into } : {}) };
}
