// Any chunking of a byte stream of packets yields the same frames (incl. 16 MiB continuations).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Framer, encodePacket, MAX_PAYLOAD, type Frame } from '../../src/protocol/index.ts';

interface Expected {
  seq: number;
  payload: Buffer;
}

function feed(stream: Buffer, cuts: number[]): Frame[] {
  const f = new Framer();
  const out: Frame[] = [];
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
  let prev = 0;
  for (const p of [...points, stream.length]) {
    f.push(stream.subarray(prev, p));
    prev = p;
    for (let fr = f.next(); fr !== null; fr = f.next()) out.push(fr);
  }
  assert.equal(f.pending(), 0, 'nothing left over');
  return out;
}

function check(frames: Frame[], expected: Expected[]): void {
  assert.equal(frames.length, expected.length);
  frames.forEach((fr, i) => {
    const e = expected[i] as Expected;
    assert.equal(fr.seq, e.seq);
    assert.equal(fr.length, e.payload.length);
    assert.equal(fr.nPackets, Math.floor(e.payload.length / MAX_PAYLOAD) + 1);
    assert.equal(fr.parts.reduce((n, p) => n + p.length, 0), fr.length);
    assert.ok(fr.payload().equals(e.payload), `payload ${i}`);
  });
}

const payloads = fc.array(
  fc.record({ seq: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)) }),
  { maxLength: 12 },
);

test('small packets: any chunking yields the same frames', () => {
  fc.assert(
    fc.property(payloads, fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
      const stream = Buffer.concat(msgs.map((m) => encodePacket(m.payload, m.seq)));
      check(feed(stream, cuts), msgs);
      // byte-at-a-time is the extreme chunking
      if (stream.length < 400) check(feed(stream, [...Array(stream.length).keys()]), msgs);
    }),
    { numRuns: 200 },
  );
});

// One shared 2×16 MiB buffer keeps this cheap: payloads are views of it.
const BIG = Buffer.alloc(2 * MAX_PAYLOAD + 10);
for (let i = 0; i < BIG.length; i += 4096) BIG[i] = (i >> 12) & 0xff;

test('continuation packets (≥ 0xFFFFFF) reassemble under any chunking', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, MAX_PAYLOAD + 7, 2 * MAX_PAYLOAD),
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ maxLength: 20 }).map((u) => Buffer.from(u)),
      fc.array(fc.integer({ min: 0, max: 2 * MAX_PAYLOAD + 40 }), { maxLength: 6 }),
      (bigLen, seq, small, cuts) => {
        const big = BIG.subarray(0, bigLen);
        const msgs = [
          { seq: 0, payload: small },
          { seq, payload: big },
          { seq: (seq + 9) & 0xff, payload: small },
        ];
        const stream = Buffer.concat(msgs.map((m) => encodePacket(m.payload, m.seq)));
        check(feed(stream, cuts), msgs);
      },
    ),
    { numRuns: 8 },
  );
});
