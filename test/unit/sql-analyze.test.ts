// Corpus-driven tests of src/sql/analyze.ts: tables with operations, statement kind, SELECT INTO and
// output-column lineage for real-world statements (test/fixtures/sql-corpus.json), plus the tokenizer
// fallback for statements node-sql-parser cannot parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { analyze } from '../../src/sql/analyze.ts';
import type { Analysis, ColumnSource } from '../../src/sql/analyze.ts';

interface Case {
  sql: string;
  kind: string;
  tables: string[];
  parsed?: boolean;
  into?: 'outfile' | 'dumpfile' | 'var';
  outputs?: Array<[string, 'column' | 'expression' | 'star', string[]]>;
}

const corpus = JSON.parse(readFileSync(new URL('../fixtures/sql-corpus.json', import.meta.url), 'utf8')) as { cases: Case[] };

const src = (s: ColumnSource): string => `${s.schema === null ? '' : s.schema + '.'}${s.table}.${s.column}`;
const tables = (a: Analysis): string[] =>
  a.tables.map((t) => `${t.op}:${t.schema === null ? '' : t.schema + '.'}${t.table}`).sort();

test('corpus has at least 70 statements', () => {
  assert.ok(corpus.cases.length >= 70, `only ${corpus.cases.length}`);
});

for (const c of corpus.cases) {
  test(`analyze: ${c.sql.slice(0, 90)}`, () => {
    const a = analyze(c.sql);
    assert.equal(a.kind, c.kind, 'kind');
    assert.deepEqual(tables(a), [...c.tables].sort(), 'tables');
    assert.equal(a.parsed, c.parsed ?? true, `parsed (${a.error ?? ''})`);
    if (c.kind === 'select') assert.equal(a.into ?? null, c.into ?? null, 'into');
    if (!a.parsed) assert.ok(a.error !== undefined && a.error.length > 0, 'a parse failure says why');
    if (c.outputs !== undefined) {
      assert.ok(a.outputs !== undefined, 'outputs present');
      const got = a.outputs.map((o) => [o.name, o.kind, o.sources.map(src).sort()]);
      assert.deepEqual(got, c.outputs.map(([n, k, s]) => [n, k, [...s].sort()]), 'outputs');
    }
  });
}

test('fallback names tables when the parser fails', () => {
  const a = analyze('CREATE SEQUENCE IF NOT EXISTS shop.seq1 START WITH 1');
  assert.equal(a.parsed, false);
  assert.deepEqual(tables(a), ['create:shop.seq1']);
  const b = analyze('WITH c AS (SELECT id FROM src) INSERT INTO dst SELECT * FROM c JOIN other o ON o.id = c.id');
  assert.deepEqual(tables(b), ['insert:dst', 'select:other', 'select:src']);
  const c = analyze('SELECT EXTRACT(YEAR FROM d) INTO DUMPFILE "/x" FROM t');
  assert.equal(c.into, 'dumpfile');
  assert.ok(!tables(c).includes('select:d'));
});

test('CTE names are not tables, but a real table of another name is', () => {
  const a = analyze('WITH orders AS (SELECT id FROM shop.orders) SELECT o.id FROM orders o JOIN shop.items i ON i.order_id = o.id');
  assert.deepEqual(tables(a), ['select:shop.items', 'select:shop.orders']);
});

test('executable comment content is analysed as SQL', () => {
  const a = analyze('SELECT /*!40001 SQL_NO_CACHE */ phone FROM customers');
  assert.equal(a.parsed, true);
  assert.deepEqual(a.outputs?.map((o) => o.sources.map(src)), [['customers.phone']]);
});

test('multi-statement strings report every table, no outputs', () => {
  const a = analyze('UPDATE a SET x = 1; DELETE FROM b; SELECT * FROM c');
  assert.deepEqual(tables(a), ['delete:b', 'select:c', 'update:a']);
  assert.equal(a.outputs, undefined);
});

test('unaliased expression names carry no literal (cache soundness)', () => {
  const a = analyze("SELECT CONCAT(phone, 'x'), price * 2 FROM t");
  const b = analyze("SELECT CONCAT(phone, 'yy'), price * 3 FROM t");
  assert.deepEqual(a.outputs, b.outputs);
  assert.deepEqual(a.outputs?.map((o) => o.name), ['CONCAT(phone, ?)', 'price * ?']);
});

test('never throws on garbage, says why it could not parse', () => {
  for (const s of ['', ';;;', 'SELEC * FRM', "SELECT 'unterminated", '\u0000\u00ff', '((((((', 'DELETE']) {
    const a = analyze(s);
    assert.equal(typeof a.kind, 'string');
    if (!a.parsed) assert.ok((a.error ?? '').length > 0);
  }
});
