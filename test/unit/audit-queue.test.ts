import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuditQueue, lineChunk, type Batch } from '../../src/audit/queue.ts';
import { backoffDelay } from '../../src/audit/sink.ts';
import { serializeEvent, type DisconnectEvent } from '../../src/audit/events.ts';

const ev = (conn: number, n: number): DisconnectEvent => ({
  ts: '2026-01-01T00:00:00.000000Z', event: 'disconnect', conn, duration_ms: n, statements: n, bytes_in: 0, bytes_out: 0, reason: `r${n}`,
});
const nOf = (line: string): number => (JSON.parse(line) as DisconnectEvent).statements;
/** the batch's lines as strings */
const lines = (b: Batch | null): string[] => (b === null ? [] : Array.from({ length: b.count }, (_, i) => b.line(i).toString('utf8')));

test('drop: a full queue refuses, counts, and keeps what it holds', () => {
  let drops = 0;
  const q = new AuditQueue({ capacity: 3, whenFull: 'drop', onDrop: () => drops++ });
  const c = q.addConsumer('stalled');
  assert.equal(q.enqueue(ev(1, 0)), true);
  assert.equal(q.enqueue(ev(1, 1)), true);
  assert.equal(q.enqueue(ev(1, 2)), true);
  assert.equal(q.enqueue(ev(1, 3)), false);
  assert.equal(q.enqueue(ev(1, 4)), false);
  assert.equal(drops, 2);
  assert.equal(q.dropped, 2);
  assert.equal(q.depth, 3);
  const b = q.peek(c, 10);
  assert.deepEqual(lines(b).map(nOf), [0, 1, 2]);
  q.ack(c, 1);
  assert.equal(q.enqueue(ev(1, 5)), true, 'room again after the sink caught up by one');
  assert.deepEqual(lines(q.peek(c, 10)).map(nOf), [1, 2, 5]);
});

test('block: a full queue returns a Promise that resolves once accepted, in enqueue order', async () => {
  const q = new AuditQueue({ capacity: 2, whenFull: 'block' });
  const c = q.addConsumer('slow');
  assert.equal(q.enqueue(ev(1, 0)), true);
  assert.equal(q.enqueue(ev(2, 1)), true);
  const p2 = q.enqueue(ev(1, 2));
  const p3 = q.enqueue(ev(2, 3));
  assert.ok(p2 instanceof Promise);
  assert.ok(p3 instanceof Promise);
  const settled: number[] = [];
  void p2.then(() => settled.push(2));
  void p3.then(() => settled.push(3));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(settled, [], 'nothing accepted while full');
  assert.equal(q.depth, 4, 'depth counts parked producers');
  q.ack(c, 1); // room for exactly one
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(settled, [2]);
  // an event enqueued now must queue behind the parked one even though… the ring is full anyway;
  // after one more ack, room for one: the parked event (3) goes first, the new one waits
  const p4 = q.enqueue(ev(1, 4));
  assert.ok(p4 instanceof Promise);
  q.ack(c, 1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(settled, [2, 3]);
  q.ack(c, 2);
  await p4;
  assert.deepEqual(lines(q.peek(c, 10)).map(nOf), [4]);
  assert.equal(q.dropped, 0);
});

test('block: a later enqueue never overtakes a parked one, even when room appeared for it only', async () => {
  const big = { ...ev(1, 0), reason: 'x'.repeat(150) };
  const bigLen = serializeEvent(big).length + 1; // bytes with the '\n'
  const smallLen = serializeEvent(ev(1, 9)).length + 1;
  // room for two big ones plus one small one, not for three big ones
  const q = new AuditQueue({ capacity: 3, maxBytes: 2 * bigLen + smallLen, whenFull: 'block' });
  const c = q.addConsumer('s');
  assert.equal(q.enqueue(big), true);
  assert.equal(q.enqueue(big), true);
  const pBig = q.enqueue(big); // over the byte bound: parked
  assert.ok(pBig instanceof Promise);
  const pSmall = q.enqueue(ev(1, 9)); // would fit by bytes and count, but must wait behind pBig
  assert.ok(pSmall instanceof Promise);
  q.ack(c, 2);
  await Promise.all([pBig, pSmall]);
  const got = lines(q.peek(c, 10));
  assert.equal(got.length, 2);
  assert.equal((JSON.parse(got[0] as string) as DisconnectEvent).reason.length, 150);
  assert.equal(nOf(got[1] as string), 9);
});

test('fan-out: each consumer reads every event in order at its own pace; the slow one bounds the ring', () => {
  const q = new AuditQueue({ capacity: 4, whenFull: 'drop' });
  const fast = q.addConsumer('fast');
  const slow = q.addConsumer('slow');
  for (let i = 0; i < 4; i++) assert.equal(q.enqueue(ev(i % 2, i)), true);
  const fb = q.peek(fast, 100);
  assert.deepEqual(lines(fb).map(nOf), [0, 1, 2, 3]);
  assert.deepEqual(fb && Array.from({ length: fb.count }, (_, i) => fb.conn(i)), [0, 1, 0, 1]);
  assert.equal(fb?.firstSeq, 0);
  q.ack(fast, 4);
  assert.throws(() => fb?.line(0), /after its consumer acked it/, 'a batch reads the ring: no reads once acked');
  assert.throws(() => q.peek(slow, 2)?.conn(2), RangeError);
  assert.equal(q.pending(fast), 0);
  assert.equal(q.pending(slow), 4);
  assert.equal(q.enqueue(ev(0, 4)), false, 'the stalled consumer holds the ring: full');
  q.ack(slow, 2);
  assert.equal(q.enqueue(ev(0, 5)), true);
  assert.equal(q.enqueue(ev(0, 6)), true);
  assert.equal(q.enqueue(ev(0, 7)), false);
  const f2 = q.peek(fast, 100);
  assert.deepEqual(lines(f2).map(nOf), [5, 6]);
  assert.equal(f2?.firstSeq, 4);
  assert.deepEqual(lines(q.peek(slow, 100)).map(nOf), [2, 3, 5, 6], 'ring wrap-around keeps order');
  assert.equal(q.dropped, 2);
});

test('peek respects maxEvents and maxBytes but always returns at least one event', () => {
  const q = new AuditQueue({ capacity: 10, whenFull: 'drop' });
  const c = q.addConsumer('s');
  for (let i = 0; i < 5; i++) q.enqueue(ev(1, i));
  assert.equal(q.peek(c, 2)?.count, 2);
  assert.equal(q.peek(c, 10, 1)?.count, 1);
  const one = (q.peek(c, 1)?.bytes ?? 0);
  assert.equal(q.peek(c, 10, one * 3)?.count, 3);
  assert.throws(() => q.ack(c, 6), RangeError);
});

test('readable() wakes a waiting consumer on enqueue and on close; close refuses and counts', async () => {
  const q = new AuditQueue({ capacity: 10, whenFull: 'block' });
  const c = q.addConsumer('s');
  let woke = false;
  const w = q.readable(c).then(() => (woke = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(woke, false);
  q.enqueue(ev(1, 1));
  await w;
  assert.equal(woke, true);
  q.ack(c, 1);
  const w2 = q.readable(c);
  q.close();
  await w2;
  assert.equal(q.enqueue(ev(1, 2)), false);
  assert.equal(q.dropped, 1);
});

test('detach() frees a consumer so parked producers proceed', async () => {
  const q = new AuditQueue({ capacity: 1, whenFull: 'block' });
  const ok = q.addConsumer('ok');
  const dead = q.addConsumer('dead');
  q.enqueue(ev(1, 0));
  q.ack(ok, 1);
  const p = q.enqueue(ev(1, 1));
  assert.ok(p instanceof Promise);
  q.detach(dead);
  await p;
  assert.deepEqual(lines(q.peek(ok, 5)).map(nOf), [1]);
});

test('backoffDelay: jittered, doubling from 100 ms, capped at 10 s', () => {
  assert.equal(backoffDelay(0, 100, 10_000, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 10_000, () => 1), 100);
  assert.equal(backoffDelay(3, 100, 10_000, () => 1), 800);
  assert.equal(backoffDelay(50, 100, 10_000, () => 1), 10_000);
  assert.equal(backoffDelay(50, 100, 10_000, () => 0), 5_000);
  for (let a = 0; a < 20; a++) {
    const d = backoffDelay(a);
    assert.ok(d >= 50 && d <= 10_000);
  }
});

/** A chunk of `n` events as a producer's batch writes it: one Buffer, '\n' after each line. */
function chunkOf(from: number, n: number, conn = 7): ReturnType<typeof lineChunk> {
  const ls = Array.from({ length: n }, (_, i) => serializeEvent(ev(conn, from + i)));
  const buf = Buffer.from(ls.map((l) => `${l}\n`).join(''), 'utf8');
  const ends: number[] = [];
  let at = 0;
  for (const l of ls) ends.push((at += Buffer.byteLength(l) + 1));
  return { buf, ends, conns: ls.map(() => conn) };
}

test('chunks: a batch of lines in one buffer is read back as one view, line by line, in order', () => {
  const q = new AuditQueue({ capacity: 100, whenFull: 'drop' });
  const c = q.addConsumer('s');
  const a = chunkOf(0, 3);
  assert.equal(q.enqueueChunk(a), true);
  assert.equal(q.enqueue(ev(2, 3)), true);
  assert.equal(q.enqueueChunk(chunkOf(4, 2)), true);
  const b = q.peek(c, 100);
  assert.ok(b);
  assert.deepEqual(lines(b).map(nOf), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from({ length: b.count }, (_, i) => b.conn(i)), [7, 7, 7, 2, 7, 7]);
  assert.equal(b.data.length, 3, 'one view per chunk: no copy, no view per line');
  assert.equal(b.data[0]?.buffer, a.buf.buffer);
  assert.equal(Buffer.concat(b.data).toString(), `${lines(b).join('\n')}\n`);
  assert.equal(b.bytes, Buffer.concat(b.data).length);
  // a batch cut inside a chunk (maxEvents) ends on a line boundary
  const cut = q.peek(c, 2);
  assert.equal(cut?.data.length, 1);
  assert.equal(cut?.data[0]?.toString(), `${lines(cut).join('\n')}\n`);
});

test('chunks: drop mode admits what fits and counts each refused event', () => {
  const drops: number[] = [];
  const q = new AuditQueue({ capacity: 4, whenFull: 'drop', onDrop: (n) => drops.push(n) });
  const c = q.addConsumer('stalled');
  assert.equal(q.enqueue(ev(1, 0)), true);
  assert.equal(q.enqueueChunk(chunkOf(1, 5)), false);
  assert.deepEqual(drops, [2]);
  assert.equal(q.dropped, 2);
  assert.deepEqual(lines(q.peek(c, 10)).map(nOf), [0, 1, 2, 3]);
});

test('chunks: block mode admits a parked chunk event by event as room appears, and resolves when all are in', async () => {
  const q = new AuditQueue({ capacity: 3, whenFull: 'block' });
  const c = q.addConsumer('slow');
  const p = q.enqueueChunk(chunkOf(0, 5));
  assert.ok(p instanceof Promise);
  assert.equal(q.depth, 5, 'three held, two parked');
  let done = false;
  void p.then(() => (done = true));
  const later = q.enqueue(ev(1, 99));
  assert.ok(later instanceof Promise, 'a later event queues behind the parked chunk');
  q.ack(c, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'one of the two parked events is in');
  q.ack(c, 3);
  await p;
  await later;
  assert.deepEqual(lines(q.peek(c, 10)).map(nOf), [4, 99], "0–3 were written and acked");
  assert.equal(q.dropped, 0);
});
