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
