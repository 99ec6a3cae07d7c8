import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { AuditQueue, lineChunk } from '../../src/audit/queue.ts';
import { SinkDriver } from '../../src/audit/driver.ts';
import type { AuditSink } from '../../src/audit/sink.ts';

/** A sink that records each write's size and answers on the next turn (like a thread-pool write). */
function recordingSink(): AuditSink & { writes: number[] } {
  const writes: number[] = [];
  return {
    name: 'recording',
    writes,
    open: () => Promise.resolve(),
    write: (batch) => new Promise<void>((r) => setImmediate(() => (writes.push(batch.count), r()))),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

test('driver: a steady trickle of events is written in batches, not one write per event', async () => {
  const q = new AuditQueue({ capacity: 10_000, whenFull: 'block' });
  const sink = recordingSink();
  const driver = new SinkDriver(sink, q, pino({ level: 'silent' }), { onWritten: () => undefined, onError: () => undefined }, { lingerMs: 5 });
  // 400 events, one per event-loop turn: far more turns than linger periods
  for (let i = 0; i < 400; i++) {
    assert.equal(q.enqueueChunk(lineChunk(`{"n":${i}}`, 1)), true);
    await new Promise((r) => setImmediate(r));
  }
  q.close();
  await driver.done;
  assert.equal(sink.writes.reduce((a, b) => a + b, 0), 400, 'every event written exactly once');
  const perWrite = 400 / sink.writes.length;
  assert.ok(perWrite >= 4, `${sink.writes.length} writes for 400 events: the driver lingered only while the queue was empty`);
});
