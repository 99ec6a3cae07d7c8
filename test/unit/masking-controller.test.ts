// MaskingController keeps no view of the buffers column definitions arrive in: the relay reuses its read
// buffers, and a definition split across two reads is handed over from the walker's scratch buffer,
// which the next split definition overwrites. The plan must come from the bytes as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeColumnDefinition41 } from '../../src/protocol/index.ts';
import type { CommandStart } from '../../src/session/result-tracker.ts';
import { col, phoneController } from './masking-helpers.ts';

const cmd: CommandStart = { seqNo: 1, code: 0x03, name: 'COM_QUERY', sql: 'SELECT phone, name FROM users', sqlTruncated: false, statementId: null, startedAt: 0 };

test('column definitions handed over in one reused buffer still give the right plan', () => {
  const defs = [col('shop', 'users', 'phone'), col('shop', 'users', 'name')].map((c) => encodeColumnDefinition41(c));
  const scratch = Buffer.alloc(256);
  const m = phoneController();
  m.onResultSetStart(cmd, defs.length);
  for (const d of defs) {
    scratch.fill(0);
    d.copy(scratch, 10);
    m.onColumnDefinition(cmd, scratch, 10, d.length, d.length);
  }
  scratch.fill(0x41); // the walker's next split packet, or the next read into the relay's buffer
  assert.equal(m.onRowsStart(cmd, false), true, 'phone is masked: the rows must be rewritten');
  assert.deepEqual(m.takeMasked(), ['phone']);
});

test('the plan is remembered per definitions and found again for the same result set', () => {
  const defs = [col('shop', 'users', 'name'), col('shop', 'users', 'phone')].map((c) => encodeColumnDefinition41(c));
  const m = phoneController();
  for (let round = 0; round < 2; round++) {
    m.onCommand({ ...cmd, seqNo: round });
    m.onResultSetStart(cmd, defs.length);
    for (const d of defs) m.onColumnDefinition(cmd, Buffer.from(d), 0, d.length, d.length);
    assert.equal(m.onRowsStart(cmd, false), true);
    assert.deepEqual(m.takeMasked(), ['phone']);
  }
  const clean = encodeColumnDefinition41(col('shop', 'users', 'name'));
  m.onCommand({ ...cmd, seqNo: 3 });
  m.onResultSetStart(cmd, 1);
  m.onColumnDefinition(cmd, clean, 0, clean.length, clean.length);
  assert.equal(m.onRowsStart(cmd, false), false, 'no rule touches name: rows pass untouched');
});

test('result-set shapes that rotate (more of them than the recent ring holds) each keep their own plan', () => {
  // sysbench-like: the same statement over 12 tables, half of them with a masked column
  const shapes = Array.from({ length: 12 }, (_, i) => [col('shop', `t${i}`, 'name'), col('shop', `t${i}`, i % 2 === 0 ? 'phone' : 'city')].map((c) => encodeColumnDefinition41(c)));
  const m = phoneController();
  let seqNo = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < shapes.length; i++) {
      const defs = shapes[i]!;
      m.onCommand({ ...cmd, seqNo: ++seqNo });
      m.onResultSetStart(cmd, defs.length);
      for (const d of defs) m.onColumnDefinition(cmd, d, 0, d.length, d.length);
      assert.equal(m.onRowsStart(cmd, false), i % 2 === 0, `round ${round}, table t${i}`);
      assert.deepEqual(m.takeMasked(), i % 2 === 0 ? ['phone'] : []);
      m.onCommandDone(cmd);
    }
  }
});
