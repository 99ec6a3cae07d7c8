// Property tests of the SQL lexer and digest: total on any input, idempotent digests, and literal
// substitution invariance (statements that differ only in literal values share a digest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tokenize } from '../../src/sql/tokenizer.ts';
import { digest, splitStatements, statementKind } from '../../src/sql/digest.ts';
import { analyze } from '../../src/sql/analyze.ts';

fc.configureGlobal({ numRuns: 300, interruptAfterTimeLimit: 20_000 });

// strings biased towards SQL's special characters
const sqlish = fc.string({
  unit: fc.oneof(
    fc.constantFrom("'", '"', '`', '\\', '-', '#', '/', '*', '!', ';', '(', ')', ',', '.', '?', '@', ' ', '\n', 'M', 'x', 'b', 'N', '_', '0', '1', 'e', '+'),
    fc.constantFrom('SELECT ', ' FROM ', ' IN ', ' VALUES ', ' NULL ', ' IS ', 'BEGIN ', ' END ', 'CREATE PROCEDURE ', '/*!', '*/', '-- ', '0x', '1.5e3'),
    fc.string({ unit: 'grapheme', maxLength: 2 }),
    fc.string({ unit: 'binary', maxLength: 1 }),
  ),
  maxLength: 80,
});

test('tokenize, digest, splitStatements, statementKind never throw; tokens tile the input in order', () => {
  fc.assert(
    fc.property(sqlish, (s) => {
      const tokens = tokenize(s);
      let prev = 0;
      for (const t of tokens) {
        assert.ok(t.start >= prev && t.end > t.start && t.end <= s.length);
        prev = t.end;
      }
      digest(s);
      splitStatements(s);
      assert.equal(typeof statementKind(s), 'string');
    }),
  );
});

test('analyze never throws on garbage', () => {
  fc.assert(
    fc.property(sqlish, (s) => {
      const a = analyze(s);
      assert.equal(typeof a.parsed, 'boolean');
    }),
    { numRuns: 100 },
  );
});

test('digest is idempotent', () => {
  fc.assert(
    fc.property(sqlish, (s) => {
      const once = digest(s);
      const twice = digest(once.digest);
      assert.equal(twice.digest, once.digest);
      assert.equal(twice.hash, once.hash);
    }),
  );
});

const literal = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x).replace('Infinity', '1')),
  fc.string({ maxLength: 12 }).map((s) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`),
  fc.string({ maxLength: 12 }).map((s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`),
  fc.constantFrom('NULL', "X'0aff'", '0x1F', "b'101'", "_utf8mb4'z'", "N'n'", '.5', '-7', '?'),
);

const templates = [
  'SELECT a, b FROM t WHERE id = $ AND name <> $',
  'SELECT * FROM t WHERE id IN ($, $, $) LIMIT $',
  'INSERT INTO t (a, b) VALUES ($, $), ($, $)',
  'UPDATE t SET a = $ WHERE b BETWEEN $ AND $',
  'SELECT x - $, f($) FROM t WHERE y = -$',
];

test('literal substitution invariance: same template, any literals, one digest', () => {
  fc.assert(
    fc.property(fc.constantFrom(...templates), fc.array(literal, { minLength: 12, maxLength: 12 }), fc.array(literal, { minLength: 12, maxLength: 12 }), (tpl, l1, l2) => {
      let i = 0;
      let j = 0;
      const a = tpl.replaceAll('$', () => l1[i++] ?? '1');
      const b = tpl.replaceAll('$', () => l2[j++] ?? '1');
      assert.equal(digest(a).digest, digest(b).digest, `${a}\n${b}`);
    }),
  );
});
