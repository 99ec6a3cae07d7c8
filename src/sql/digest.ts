// Statement digests (literals → `?`, canonical spacing, keywords upper-cased, identifiers as written),
// statement splitting and statement kinds, all from the tokenizer alone: this runs for every statement
// the gateway sees, so it never calls the full parser. The digest is idempotent (`digest(digest(x))` is
// `digest(x)`) and collapses only literal-only lists (`IN (?, ?)`, `VALUES (?, ?), (?, ?)` → `(...)`), so
// two statements with the same digest differ in literal values only: that is what makes it a sound cache key.

import { tokenize } from './tokenizer.ts';
import type { Token } from './tokenizer.ts';

export interface Digest {
  /** Normalised statement text. */
  readonly digest: string;
  /** 16 lowercase hex digits: a 64-bit hash of `digest`, stable across processes and versions. */
  readonly hash: string;
}

/** Keywords that are also function names: `IF(`, `LEFT(` … are written without a space before `(`. */
const FUNCTION_KEYWORDS: ReadonlySet<string> = new Set([
  'IF', 'CHAR', 'LEFT', 'RIGHT', 'MOD', 'DATABASE', 'SCHEMA', 'CONVERT', 'MATCH', 'REPLACE', 'INSERT',
  'ROW', 'REPEAT', 'CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_USER',
  'LOCALTIME', 'LOCALTIMESTAMP', 'UTC_DATE', 'UTC_TIME', 'UTC_TIMESTAMP', 'TRUNCATE', 'INTERVAL',
]);

/** Keywords after which a `+`/`-` is unary even though the keyword could end a value (`END`, `NULL` can). */
const VALUE_KEYWORDS: ReadonlySet<string> = new Set(['NULL', 'TRUE', 'FALSE', 'END', 'CURRENT_TIMESTAMP']);

function isLiteral(t: Token): boolean {
  switch (t.type) {
    case 'string':
    case 'number':
    case 'hex':
    case 'bit':
    case 'placeholder':
      return true;
    default:
      return false;
  }
}

/** `NULL` is a literal (→ `?`) except in `IS [NOT] NULL` and `NOT NULL` column constraints. */
function isNullLiteral(tokens: readonly Token[], i: number): boolean {
  const t = tokens[i];
  if (t?.type !== 'keyword' || t.value !== 'NULL') return false;
  const p = tokens[i - 1];
  return !(p?.type === 'keyword' && (p.value === 'IS' || p.value === 'NOT'));
}

/** Can the token before a `+`/`-` end an operand (making the sign binary)? */
function endsOperand(t: Token | undefined): boolean {
  if (t === undefined) return false;
  switch (t.type) {
    case 'ident':
    case 'qident':
    case 'string':
    case 'number':
    case 'hex':
    case 'bit':
    case 'placeholder':
    case 'var':
    case 'sysvar':
    case 'rparen':
      return true;
    case 'keyword':
      return VALUE_KEYWORDS.has(t.value);
    default:
      return false;
  }
}

/** Index just past the `)` matching the `(` at `i`, or -1 when unbalanced or the group is not literal-only. */
function literalGroupEnd(tokens: readonly Token[], i: number): number {
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j];
    if (t === undefined) return -1;
    switch (t.type) {
      case 'lparen':
        depth++;
        break;
      case 'rparen':
        depth--;
        if (depth === 0) return j + 1;
        break;
      case 'comma':
        break;
      case 'op':
        // `...` from an earlier digest; `+`/`-` only as signs of a following number
        if (t.value === '...') break;
        if ((t.value === '-' || t.value === '+') && !endsOperand(tokens[j - 1])) {
          break;
        }
        return -1;
      case 'keyword':
        if (t.value === 'NULL' || t.value === 'DEFAULT' || t.value === 'TRUE' || t.value === 'FALSE') break;
        return -1;
      case 'ident':
        // charset introducer written apart from its string: `_utf8mb4 'x'`
        if (t.value.startsWith('_') && tokens[j + 1]?.type === 'string') break;
        return -1;
      default:
        if (isLiteral(t)) break;
        return -1;
    }
  }
  return -1;
}

/** Spacing rule: does `piece` of type `type` need a space after `prev`? */
function needsSpace(prevType: Token['type'] | 'none' | 'collapsed', prevText: string, type: Token['type'] | 'collapsed'): boolean {
  if (prevType === 'none') return false;
  if (type === 'comma' || type === 'rparen' || type === 'dot' || type === 'semicolon') return false;
  if (prevType === 'lparen' || prevType === 'dot') return false;
  if (type === 'lparen') {
    if (prevType === 'ident' || prevType === 'qident') return false;
    if (prevType === 'keyword') return !FUNCTION_KEYWORDS.has(prevText);
  }
  return true;
}

/**
 * Normalise a statement: literals and placeholders → `?`, comments dropped (executable comments kept as
 * their content), keywords upper-cased, single spaces, literal-only `IN (…)` and `VALUES (…), (…)` lists
 * collapsed to `(...)`, signs of numbers folded into the `?`.
 */
export function digest(sql: string): Digest {
  const text = digestTokens(tokenize(sql));
  return { digest: text, hash: hash64(text) };
}

/** The digest text of already-lexed tokens. */
export function digestTokens(tokens: readonly Token[]): string {
  // hot path: one pass, string concatenation (V8 ropes) beats array join for short statements
  let out = '';
  let prevType: Token['type'] | 'none' | 'collapsed' = 'none';
  let prevText = '';
  let odku = false; // after ON DUPLICATE KEY UPDATE, VALUES(col) is a function, not a row list
  const n = tokens.length;
  const emit = (type: Token['type'] | 'collapsed', piece: string): void => {
    if (needsSpace(prevType, prevText, type)) out += ' ';
    out += piece;
    prevType = type;
    prevText = piece;
  };
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    if (t === undefined) break;
    switch (t.type) {
      case 'string':
      case 'number':
      case 'hex':
      case 'bit':
      case 'placeholder':
        emit('placeholder', '?');
        continue;
      case 'keyword': {
        if (isNullLiteral(tokens, i)) {
          emit('placeholder', '?');
          continue;
        }
        if (t.value === 'DUPLICATE') odku = true;
        if ((t.value === 'IN' || ((t.value === 'VALUES' || t.value === 'VALUE') && !odku)) &&
          tokens[i + 1]?.type === 'lparen') {
          const rows = t.value !== 'IN';
          let end = literalGroupEnd(tokens, i + 1);
          if (end > 0 && rows) {
            // further literal-only rows: `, (…)`
            while (tokens[end]?.type === 'comma' && tokens[end + 1]?.type === 'lparen') {
              const next = literalGroupEnd(tokens, end + 1);
              if (next < 0) break;
              end = next;
            }
            // only collapse when every row was literal-only: a non-literal row keeps the list as written
            if (tokens[end]?.type === 'comma' && tokens[end + 1]?.type === 'lparen') end = -1;
          }
          if (end > 0) {
            emit('keyword', t.value);
            emit('lparen', '(');
            emit('op', '...');
            emit('rparen', ')');
            i = end - 1;
            continue;
          }
        }
        emit('keyword', t.value);
        continue;
      }
      case 'ident':
        // `_utf8mb4 'x'`: the introducer belongs to the literal
        if (t.value.charCodeAt(0) === 95 && tokens[i + 1]?.type === 'string') continue;
        emit('ident', t.value);
        continue;
      case 'qident':
        emit('qident', '`' + t.value.replaceAll('`', '``') + '`');
        continue;
      case 'op':
        if ((t.value === '-' || t.value === '+') && !endsOperand(tokens[i - 1])) {
          // unary sign(s) before a literal fold into the `?`
          let j = i;
          while (tokens[j]?.type === 'op' && (tokens[j]?.value === '-' || tokens[j]?.value === '+')) j++;
          const lit = tokens[j];
          if (lit !== undefined && (isLiteral(lit) || isNullLiteral(tokens, j))) {
            i = j - 1;
            continue;
          }
        }
        emit('op', t.value);
        continue;
      case 'var':
      case 'sysvar':
      case 'lparen':
      case 'rparen':
      case 'comma':
      case 'dot':
      case 'semicolon':
        emit(t.type, t.value);
        continue;
      default: {
        const never: never = t.type;
        return never;
      }
    }
  }
  return out;
}

/**
 * 64-bit hash (two independent 32-bit multiply-xorshift lanes over UTF-16 code units) as 16 hex digits.
 * Not cryptographic: it names digests in metrics and keys the analysis cache (which re-checks the text).
 */
export function hash64(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------------------
// Statement splitting

/** First token starting a compound-statement routine body (`BEGIN … END` may contain `;`). */
function startsCompound(tokens: readonly Token[], from: number, to: number): boolean {
  const t0 = tokens[from];
  if (t0?.type !== 'keyword') return false;
  if (t0.value === 'BEGIN') {
    // MariaDB anonymous block `BEGIN NOT ATOMIC`; plain BEGIN / BEGIN WORK is a transaction
    return tokens[from + 1]?.type === 'keyword' && tokens[from + 1]?.value === 'NOT';
  }
  if (t0.value !== 'CREATE') return false;
  for (let i = from + 1; i < to && i < from + 40; i++) {
    const t = tokens[i];
    if (t === undefined) break;
    const v = t.type === 'keyword' || t.type === 'ident' ? t.value.toUpperCase() : '';
    if (v === 'PROCEDURE' || v === 'FUNCTION' || v === 'TRIGGER' || v === 'EVENT' || v === 'PACKAGE') return true;
    if (v === 'TABLE' || v === 'VIEW' || v === 'INDEX' || v === 'SEQUENCE' || v === 'DATABASE' || v === 'SCHEMA') {
      return false;
    }
  }
  return false;
}

const BLOCK_END_WORDS: ReadonlySet<string> = new Set(['IF', 'LOOP', 'WHILE', 'REPEAT', 'CASE', 'FOR']);
const STMT_START_PREV: ReadonlySet<string> = new Set(['BEGIN', 'THEN', 'ELSE', 'DO', 'LOOP', 'REPEAT']);

/** Offsets `[start, end)` of each statement of a multi-statement COM_QUERY (top-level `;`). */
export function splitTokenRanges(tokens: readonly Token[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  let compound = false;
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === undefined) break;
    if (i === start) {
      compound = startsCompound(tokens, i, tokens.length);
      depth = 0;
    }
    if (compound && t.type === 'keyword') {
      const prev = tokens[i - 1];
      const atStmt = prev === undefined || prev.type === 'semicolon' ||
        (prev.type === 'op' && prev.value === ':') ||
        (prev.type === 'keyword' && STMT_START_PREV.has(prev.value));
      if (t.value === 'END') {
        if (depth > 0) depth--;
        const nx = tokens[i + 1];
        if ((nx?.type === 'keyword' || nx?.type === 'ident') && BLOCK_END_WORDS.has(nx.value.toUpperCase())) i++;
        continue;
      }
      if (t.value === 'BEGIN' || t.value === 'CASE' || t.value === 'LOOP') depth++;
      else if ((t.value === 'IF' || t.value === 'WHILE' || t.value === 'REPEAT') && atStmt) depth++;
      else if (t.value === 'FOR' && atStmt) depth++;
      continue;
    }
    if (t.type === 'semicolon' && depth === 0) {
      if (i > start) ranges.push([start, i]);
      start = i + 1;
    }
  }
  if (start < tokens.length) ranges.push([start, tokens.length]);
  return ranges;
}

/**
 * Split a multi-statement COM_QUERY on top-level `;` (server semantics: no DELIMITER; `;` inside strings,
 * comments and BEGIN … END routine bodies does not split). Returns trimmed source text, empty ones dropped.
 */
export function splitStatements(sql: string): string[] {
  const tokens = tokenize(sql);
  const out: string[] = [];
  for (const [a, b] of splitTokenRanges(tokens)) {
    const first = tokens[a];
    const last = tokens[b - 1];
    if (first === undefined || last === undefined) continue;
    // from the first token (not an earlier comment) to the last token's end; an executable comment's
    // closing `*/` is kept with its statement
    let end = last.end;
    const rest = sql.slice(end, tokens[b]?.start ?? sql.length);
    const close = rest.indexOf('*/');
    const semi = rest.indexOf(';');
    if (close >= 0 && (semi < 0 || close < semi) && sql.lastIndexOf('/*!', first.start) >= 0) end += close + 2;
    let begin = first.start;
    const open = sql.lastIndexOf('/*', begin);
    if (open >= 0 && open >= (tokens[a - 1]?.end ?? 0) && /^\/\*M?!/.test(sql.slice(open, open + 4))) begin = open;
    out.push(sql.slice(begin, end).trim());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Statement kind

const KIND_BY_VERB: Readonly<Record<string, string>> = {
  SELECT: 'select', INSERT: 'insert', UPDATE: 'update', DELETE: 'delete', REPLACE: 'replace',
  CREATE: 'create', ALTER: 'alter', DROP: 'drop', TRUNCATE: 'truncate', SET: 'set', SHOW: 'show',
  USE: 'use', BEGIN: 'begin', COMMIT: 'commit', ROLLBACK: 'rollback', CALL: 'call', LOAD: 'load',
  GRANT: 'grant', REVOKE: 'grant', EXPLAIN: 'explain', DESCRIBE: 'explain', DESC: 'explain',
  RENAME: 'rename', LOCK: 'lock', UNLOCK: 'unlock', VALUES: 'select', TABLE: 'select', WITH: 'with',
};

/** Index of the first token after a `WITH [RECURSIVE] name [(cols)] AS (…), …` prefix starting at `i`. */
export function skipWith(tokens: readonly Token[], i: number): number {
  let j = i + 1;
  if (tokens[j]?.type === 'keyword' && tokens[j]?.value === 'RECURSIVE') j++;
  for (;;) {
    j++; // CTE name
    if (tokens[j]?.type === 'lparen') j = skipGroup(tokens, j);
    if (tokens[j]?.type === 'keyword' && tokens[j]?.value === 'AS') j++;
    if (tokens[j]?.type !== 'lparen') return j;
    j = skipGroup(tokens, j);
    if (tokens[j]?.type !== 'comma') return j;
    j++;
  }
}

/** Index just past the group opened by the `(` at `i` (or the end of input). */
export function skipGroup(tokens: readonly Token[], i: number): number {
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j]?.type;
    if (t === 'lparen') depth++;
    else if (t === 'rparen' && --depth === 0) return j + 1;
  }
  return tokens.length;
}

/** Statement kind from the leading keyword(s) of already-lexed tokens (see `statementKind`). */
export function statementKindOfTokens(tokens: readonly Token[], from = 0): string {
  let i = from;
  while (tokens[i]?.type === 'lparen') i++;
  const t = tokens[i];
  if (t === undefined) return 'other';
  const v = t.type === 'keyword' || t.type === 'ident' ? t.value.toUpperCase() : '';
  if (v === 'WITH') return statementKindOfTokens(tokens, skipWith(tokens, i));
  if (v === 'START') {
    const nx = tokens[i + 1]?.value.toUpperCase();
    return nx === 'TRANSACTION' ? 'begin' : 'other';
  }
  if (v === 'XA') return 'other';
  return KIND_BY_VERB[v] ?? 'other';
}

/**
 * Kind of a statement from its first keyword(s): select insert update delete replace create alter drop
 * truncate set show use begin commit rollback call load grant explain rename lock unlock, or other.
 * `WITH …` yields the kind of the main statement; `START TRANSACTION` is `begin`; `REVOKE` is `grant`.
 */
export function statementKind(sql: string): string {
  return statementKindOfTokens(tokenize(sql));
}
