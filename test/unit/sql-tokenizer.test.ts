// Unit tests of src/sql/tokenizer.ts: every token class of the MySQL/MariaDB lexical grammar, comments and
// executable comments, and robustness on malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize } from '../../src/sql/tokenizer.ts';

const types = (sql: string): string[] => tokenize(sql).map((t) => `${t.type}:${t.value}`);

test('identifiers, keywords and qualified names', () => {
  assert.deepEqual(types('select Name from db.`my``tbl`'), [
    'keyword:SELECT', 'ident:Name', 'keyword:FROM', 'ident:db', 'dot:.', 'qident:my`tbl',
  ]);
  // a reserved word after a dot is a name, and digits may start an identifier
  assert.deepEqual(types('t.select 1abc'), ['ident:t', 'dot:.', 'ident:select', 'ident:1abc']);
});

test('strings with escapes, introducers and prefixed literals', () => {
  assert.deepEqual(types(`'it''s' "a\\"b" 'x\\'y'`), [`string:'it''s'`, 'string:"a\\"b"', `string:'x\\'y'`]);
  assert.deepEqual(types(`_utf8mb4'abc' N'x' X'0aFF' x'00' B'0101' b'1'`), [
    `string:_utf8mb4'abc'`, `string:N'x'`, `hex:X'0aFF'`, `hex:x'00'`, `bit:B'0101'`, `bit:b'1'`,
  ]);
  assert.deepEqual(types('0x1F 0b101 0x1g'), ['hex:0x1F', 'bit:0b101', 'ident:0x1g']);
});

test('numbers: int, decimal, exponent, leading dot', () => {
  assert.deepEqual(types('1 12.5 1e10 2.5E-3 .5 t.5'), [
    'number:1', 'number:12.5', 'number:1e10', 'number:2.5E-3', 'number:.5', 'ident:t', 'dot:.', 'number:5',
  ]);
});

test('comments are dropped, executable comments are lexed', () => {
  assert.deepEqual(types('SELECT 1 -- c\n+ 2 # hash\n/* block ; */ , 3'), [
    'keyword:SELECT', 'number:1', 'op:+', 'number:2', 'comma:,', 'number:3',
  ]);
  // `--` not followed by a space is two minus signs
  assert.deepEqual(types('1--2'), ['number:1', 'op:-', 'op:-', 'number:2']);
  assert.deepEqual(types('/*!40101 SET NAMES utf8 */; /*M!100100 SELECT 1 */ /*!STRAIGHT_JOIN*/'), [
    'keyword:SET', 'keyword:NAMES', 'ident:utf8', 'semicolon:;', 'keyword:SELECT', 'number:1', 'keyword:STRAIGHT_JOIN',
  ]);
});

test('operators, placeholders, variables, separators', () => {
  assert.deepEqual(types('a<=>? AND b:=@x || @@session.sql_mode != @`q v` ->> c;'), [
    'ident:a', 'op:<=>', 'placeholder:?', 'keyword:AND', 'ident:b', 'op::=', 'var:@x', 'op:||',
    'sysvar:@@session.sql_mode', 'op:!=', 'var:@`q v`', 'op:->>', 'ident:c', 'semicolon:;',
  ]);
});

test('offsets map back to the source', () => {
  const sql = "SELECT  `a` , 'b'";
  for (const t of tokenize(sql)) assert.ok(t.end > t.start && sql.slice(t.start, t.end).length === t.end - t.start);
  assert.deepEqual(tokenize(sql).map((t) => sql.slice(t.start, t.end)), ['SELECT', '`a`', ',', "'b'"]);
});

test('malformed input: unterminated strings/comments run to the end, nothing throws', () => {
  assert.deepEqual(types("SELECT 'abc"), ['keyword:SELECT', "string:'abc"]);
  assert.deepEqual(types('SELECT /* never closed'), ['keyword:SELECT']);
  assert.deepEqual(types('`open'), ['qident:open']);
  // control characters are whitespace; non-ASCII code units (even lone surrogates) are identifier characters
  assert.deepEqual(types('\u0000\uD800\\'), ['ident:\uD800', 'op:\\']);
  assert.deepEqual(types(''), []);
});
