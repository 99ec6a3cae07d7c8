// Hand-written MySQL/MariaDB lexer: the cheap first pass every statement goes through (a few µs), so
// audit digests and statement kinds never pay for a full parse. Comments are dropped, except MariaDB/MySQL
// executable comments (`/*! … */`, `/*M! … */`), whose content is SQL the server runs and is lexed inline.
// Total by construction: every loop iteration consumes at least one character and nothing throws, so any
// byte soup (binary blobs sent as COM_QUERY, truncated statements) yields tokens in linear time.

export type TokenType =
  | 'keyword' // reserved word / statement verb; `value` is upper-cased
  | 'ident' // bare identifier (also non-reserved words like COUNT, STATUS); `value` as written
  | 'qident' // `back-quoted` identifier; `value` is the unescaped name
  | 'string' // '…' or "…", with an optional _charset / N introducer folded in
  | 'number' // 12, 1.5, .5, 1e-3
  | 'hex' // X'0A', 0x0A
  | 'bit' // b'01', 0b01
  | 'placeholder' // ?
  | 'var' // @name, @'quoted'
  | 'sysvar' // @@name, @@session.name
  | 'op' // operators and punctuation other than the ones below
  | 'lparen'
  | 'rparen'
  | 'comma'
  | 'dot'
  | 'semicolon';

export interface Token {
  readonly type: TokenType;
  /** Offsets into the source string: `sql.slice(start, end)` is the token as written. */
  readonly start: number;
  readonly end: number;
  /** keyword: upper-cased; ident/qident: the name; everything else: the source text. */
  readonly value: string;
}

/**
 * Words upper-cased by the digest and recognised by the fallback analyzer: MySQL 8 / MariaDB reserved words
 * plus statement verbs. Non-reserved words that are common column names (status, data, name, type …) stay
 * identifiers so that the digest keeps them as written.
 */
export const KEYWORDS: ReadonlySet<string> = new Set(
  (
    'ACCESSIBLE ADD ALL ALTER ANALYZE AND AS ASC ASENSITIVE BEFORE BETWEEN BIGINT BINARY BLOB BOTH BY CALL ' +
    'CASCADE CASE CHANGE CHAR CHARACTER CHECK COLLATE COLUMN CONDITION CONSTRAINT CONTINUE CONVERT CREATE ' +
    'CROSS CUBE CURRENT_DATE CURRENT_ROLE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE ' +
    'DATABASES DAY_HOUR DAY_MICROSECOND DAY_MINUTE DAY_SECOND DEC DECIMAL DECLARE DEFAULT DELAYED DELETE ' +
    'DESC DESCRIBE DETERMINISTIC DISTINCT DISTINCTROW DIV DOUBLE DROP DUAL EACH ELSE ELSEIF ENCLOSED ESCAPED ' +
    'EXCEPT EXISTS EXIT EXPLAIN FALSE FETCH FLOAT FOR FORCE FOREIGN FROM FULLTEXT GENERATED GET GRANT GROUP ' +
    'HAVING HIGH_PRIORITY HOUR_MICROSECOND HOUR_MINUTE HOUR_SECOND IF IGNORE IN INDEX INFILE INNER INOUT ' +
    'INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO IS ITERATE JOIN KEY KEYS KILL LATERAL LEADING ' +
    'LEAVE LEFT LIKE LIMIT LINEAR LINES LOAD LOCALTIME LOCALTIMESTAMP LOCK LONG LONGBLOB LONGTEXT LOOP ' +
    'LOW_PRIORITY MATCH MAXVALUE MEDIUMBLOB MEDIUMINT MEDIUMTEXT MINUTE_MICROSECOND MINUTE_SECOND MOD ' +
    'MODIFIES NATURAL NOT NO_WRITE_TO_BINLOG NULL NUMERIC OFFSET ON OPTIMIZE OPTION OPTIONALLY OR ORDER OUT ' +
    'OUTER OUTFILE OVER PARTITION PRECISION PRIMARY PROCEDURE PURGE RANGE READ READS READ_WRITE REAL ' +
    'RECURSIVE REFERENCES REGEXP RELEASE RENAME REPEAT REPLACE REQUIRE RESIGNAL RESTRICT RETURN RETURNING ' +
    'REVOKE RIGHT RLIKE ROW ROWS SCHEMA SCHEMAS SECOND_MICROSECOND SELECT SENSITIVE SEPARATOR SET SHOW SIGNAL ' +
    'SMALLINT SPATIAL SPECIFIC SQL SQLEXCEPTION SQLSTATE SQLWARNING SQL_BIG_RESULT SQL_CALC_FOUND_ROWS ' +
    'SQL_SMALL_RESULT SSL STARTING STORED STRAIGHT_JOIN TABLE TERMINATED THEN TINYBLOB TINYINT TINYTEXT TO ' +
    'TRAILING TRIGGER TRUE UNDO UNION UNIQUE UNLOCK UNSIGNED UPDATE USAGE USE USING UTC_DATE UTC_TIME ' +
    'UTC_TIMESTAMP VALUES VARBINARY VARCHAR VARCHARACTER VARYING VIRTUAL WHEN WHERE WHILE WINDOW WITH WRITE ' +
    'XOR YEAR_MONTH ZEROFILL ' +
    // statement verbs and clause words that are not reserved but drive kind/table detection
    'BEGIN COMMIT ROLLBACK START TRANSACTION SAVEPOINT WORK TRUNCATE TABLES VIEW TEMPORARY SEQUENCE ' +
    'DUPLICATE END DO HANDLER XA PREPARE EXECUTE DEALLOCATE FLUSH RESET CHECKSUM REPAIR BACKUP ' +
    'DUMPFILE DATA LOCAL CONCURRENT GLOBAL SESSION NAMES FUNCTION EVENT ALGORITHM DEFINER ATOMIC ' +
    'ENGINE AFTER FIRST'
  ).split(' '),
);

// Character classes as a lookup table: faster than regexes in the hot loop.
const C_WORD = 1; // [A-Za-z0-9_$] and every non-ASCII code unit
const C_DIGIT = 2;
const C_SPACE = 4;
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9_$]/.test(ch)) CLASS[c] = C_WORD;
  if (/[0-9]/.test(ch)) CLASS[c] = C_WORD | C_DIGIT;
  if (c <= 32 || c === 127) CLASS[c] = C_SPACE; // control characters count as whitespace
}

function isWord(c: number): boolean {
  return c >= 128 ? !Number.isNaN(c) : ((CLASS[c] ?? 0) & C_WORD) !== 0;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpace(c: number): boolean {
  return c < 128 && ((CLASS[c] ?? 0) & C_SPACE) !== 0;
}
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** End offset of a quoted run starting at `i` (the opening quote); backslash and doubled-quote escapes. */
function scanQuoted(sql: string, i: number, quote: number, backslash: boolean): number {
  const n = sql.length;
  let j = i + 1;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (c === 92 && backslash) {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (sql.charCodeAt(j + 1) === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return n; // unterminated: runs to the end of input
}

function unquoteIdent(text: string): string {
  const inner = text.endsWith('`') && text.length >= 2 ? text.slice(1, -1) : text.slice(1);
  return inner.includes('``') ? inner.replaceAll('``', '`') : inner;
}

const MULTI_OPS = ['<=>', '->>', '...', '<=', '>=', '<>', '!=', '<<', '>>', '&&', '||', ':=', '->'];

/** Lex `sql` into tokens. Never throws; runs in O(n). */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  let execDepth = 0; // open executable comments whose closing `*/` must be swallowed
  const push = (type: TokenType, start: number, end: number, value?: string): void => {
    out.push({ type, start, end, value: value ?? sql.slice(start, end) });
  };

  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const c1 = sql.charCodeAt(i + 1); // NaN at end of input: matches nothing below

    // comments
    if (c === 35 /* # */ || (c === 45 && c1 === 45 && (i + 2 >= n || isSpace(sql.charCodeAt(i + 2))))) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === 47 /* / */ && c1 === 42 /* * */) {
      const c2 = sql.charCodeAt(i + 2);
      if (c2 === 33 /* ! */ || ((c2 === 77 || c2 === 109) /* M */ && sql.charCodeAt(i + 3) === 33)) {
        // executable comment: skip the marker and an optional version number, lex the content
        i += c2 === 33 ? 3 : 4;
        let d = i;
        while (d < n && d - i < 6 && isDigit(sql.charCodeAt(d))) d++;
        if (d - i === 5 || d - i === 6) i = d;
        execDepth++;
        continue;
      }
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (c === 42 && c1 === 47 && execDepth > 0) {
      execDepth--;
      i += 2;
      continue;
    }

    // strings and quoted identifiers
    if (c === 39 /* ' */ || c === 34 /* " */) {
      const e = scanQuoted(sql, i, c, true);
      push('string', i, e);
      i = e;
      continue;
    }
    if (c === 96 /* ` */) {
      const e = scanQuoted(sql, i, 96, false);
      const text = sql.slice(i, e);
      push('qident', i, e, unquoteIdent(text));
      i = e;
      continue;
    }

    // numbers: 0x.., 0b.., 12, 1.5, 1e5, .5  (a digit run followed by letters is an identifier: `1abc`)
    if (isDigit(c) || (c === 46 && isDigit(c1) && !afterName(out, i))) {
      if (c === 48 && (c1 === 120 || c1 === 98) /* x b */) {
        let j = i + 2;
        const hex = c1 === 120;
        while (j < n && (hex ? isHex(sql.charCodeAt(j)) : sql.charCodeAt(j) === 48 || sql.charCodeAt(j) === 49)) j++;
        if (j > i + 2 && !isWord(sql.charCodeAt(j))) {
          push(hex ? 'hex' : 'bit', i, j);
          i = j;
          continue;
        }
      }
      let j = i;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      let isNum = true;
      if (j < n && isWord(sql.charCodeAt(j)) && !(sql.charCodeAt(j) === 101 || sql.charCodeAt(j) === 69)) {
        isNum = false; // identifier starting with digits
      }
      if (isNum) {
        if (sql.charCodeAt(j) === 46 /* . */) {
          j++;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
        const e0 = sql.charCodeAt(j);
        if (e0 === 101 || e0 === 69) {
          let k = j + 1;
          const s = sql.charCodeAt(k);
          if (s === 43 || s === 45) k++;
          if (isDigit(sql.charCodeAt(k))) {
            while (k < n && isDigit(sql.charCodeAt(k))) k++;
            j = k;
          } else if (j > i && isWord(sql.charCodeAt(j))) {
            isNum = false; // `1ea`: identifier
          }
        }
        if (isNum && !(j < n && isWord(sql.charCodeAt(j)) && sql.charCodeAt(j - 1) !== 46)) {
          push('number', i, j);
          i = j;
          continue;
        }
      }
      // fall through: lex as a word
    }

    if (isWord(c)) {
      let j = i + 1;
      while (j < n && isWord(sql.charCodeAt(j))) j++;
      const q = sql.charCodeAt(j);
      if (q === 39 /* ' */ && j - i === 1) {
        // X'..', B'..', N'..' literals
        const l = c | 0x20;
        if (l === 120 || l === 98 || l === 110) {
          const e = scanQuoted(sql, j, 39, l === 110);
          push(l === 120 ? 'hex' : l === 98 ? 'bit' : 'string', i, e);
          i = e;
          continue;
        }
      }
      if (c === 95 /* _ */ && j - i > 1 && (q === 39 || q === 34)) {
        // _utf8mb4'…' charset introducer: one literal
        const e = scanQuoted(sql, j, q, true);
        push('string', i, e);
        i = e;
        continue;
      }
      const text = sql.slice(i, j);
      const upper = text.toUpperCase();
      if (KEYWORDS.has(upper) && !afterDot(out)) push('keyword', i, j, upper);
      else push('ident', i, j, text);
      i = j;
      continue;
    }

    // variables
    if (c === 64 /* @ */) {
      if (c1 === 64) {
        let j = i + 2;
        while (j < n && (isWord(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) j++;
        push('sysvar', i, j);
        i = j;
        continue;
      }
      if (c1 === 39 || c1 === 34 || c1 === 96) {
        const e = scanQuoted(sql, i + 1, c1, c1 !== 96);
        push('var', i, e);
        i = e;
        continue;
      }
      let j = i + 1;
      while (j < n && (isWord(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) j++;
      push('var', i, j);
      i = j;
      continue;
    }

    switch (c) {
      case 40:
        push('lparen', i, i + 1);
        i++;
        continue;
      case 41:
        push('rparen', i, i + 1);
        i++;
        continue;
      case 44:
        push('comma', i, i + 1);
        i++;
        continue;
      case 59:
        push('semicolon', i, i + 1);
        i++;
        continue;
      case 63:
        push('placeholder', i, i + 1);
        i++;
        continue;
      default:
        break;
    }
    let len = 1;
    // < > ! & | : - . start every multi-character operator
    if (c === 60 || c === 62 || c === 33 || c === 38 || c === 124 || c === 58 || c === 45 || c === 46) {
      for (const op of MULTI_OPS) {
        if (sql.startsWith(op, i)) {
          len = op.length;
          break;
        }
      }
    }
    if (len === 1 && c === 46) {
      push('dot', i, i + 1);
      i++;
      continue;
    }
    // a lone surrogate or any other code unit becomes a one-char op: nothing is ever dropped silently
    push('op', i, i + len);
    i += len;
  }
  return out;
}

function afterDot(out: readonly Token[]): boolean {
  return out.length > 0 && out[out.length - 1]?.type === 'dot';
}

/** True when the previous token, adjacent to `at`, takes a `.name` qualifier (so `t.5` is not a number). */
function afterName(out: readonly Token[], at: number): boolean {
  const last = out[out.length - 1];
  if (last === undefined || last.end !== at) return false;
  return last.type === 'ident' || last.type === 'qident' || last.type === 'rparen';
}
