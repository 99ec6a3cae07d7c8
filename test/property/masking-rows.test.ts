import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicy } from '../../src/masking/policy.ts';
import { ColumnType, encodeBinaryRow, encodeTextRow, parseBinaryRow, parseTextRow } from '../../src/protocol/index.ts';
import { cfg, col } from '../unit/masking-helpers.ts';

fc.configureGlobal({ interruptAfterTimeLimit: Number(process.env['FC_TIME_MS'] ?? 4000), numRuns: 300 });
const none = new Set<string>();
const key = Buffer.from('k');
const cell = fc.option(fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('13812345678', 'a@b.com', '4111 1111 1111 1111'), fc.string({ minLength: 300, maxLength: 70000 })), { nil: null });

for (const mask of [{ type: 'full', char: '*' }, { type: 'partial', keep_first: 2, keep_last: 2, char: '•' }, { type: 'hash' }, { type: 'null' }] as const) {
  const rs = compilePolicy(cfg([
    { name: 'c', columns: ['s.t.c*'], mask },
    { name: 'd', detect: ['cn_mobile', 'email', 'credit_card'], mask },
  ]), { key }).forRoute(undefined);
  test(`${mask.type}: masked text and binary rows keep the column count and re-decode`, () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('c1', 'c2', 'x'), cell), { minLength: 1, maxLength: 8 }), (cells) => {
      const cols = cells.map(([n], i) => col('s', 't', `${n}${i}`));
      const plan = rs.planColumns(cols, { exemptRules: none });
      assert.ok(plan !== null);
      const t = plan.maskTextRow(encodeTextRow(cells.map(([, v]) => v)));
      assert.equal(parseTextRow(t, cols.length).length, cols.length);
      const b = plan.maskBinaryRow(encodeBinaryRow(cells.map(([, v]) => v), cols.map(() => ({ type: ColumnType.VAR_STRING, flags: 0 }))));
      const back = parseBinaryRow(b, cols);
      assert.equal(back.length, cols.length);
      cells.forEach(([, v], i) => {
        if (v === null) assert.equal(back[i], null);
      });
      if (mask.type === 'full') {
        assert.deepEqual(plan.maskTextRow(t), t, 'full masking is idempotent');
        assert.equal(plan.maskTextRow(t), t, 'and returns the same buffer');
      }
    }));
  });
}
