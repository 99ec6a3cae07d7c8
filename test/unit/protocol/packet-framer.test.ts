import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePacket, encodePackets, readHeader } from '../../../src/protocol/packet.ts';
import { Framer, type Frame } from '../../../src/protocol/framer.ts';
import { ProtocolError } from '../../../src/protocol/errors.ts';
import { MAX_PAYLOAD } from '../../../src/protocol/constants.ts';
import { bytes } from './helpers.ts';

function drain(f: Framer): Frame[] {
  const out: Frame[] = [];
  for (let fr = f.next(); fr !== null; fr = f.next()) out.push(fr);
  return out;
}

function headers(buf: Buffer): Array<{ length: number; seq: number }> {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const h = readHeader(buf, off);
    out.push(h);
    off += 4 + h.length;
  }
  assert.equal(off, buf.length);
  return out;
}

test('readHeader decodes length and seq and bounds-checks', () => {
  assert.deepEqual(readHeader(bytes('xx 2c 00 00 02'.replace('xx', 'ff')), 1), { length: 0x2c, seq: 2 });
  assert.deepEqual(readHeader(bytes('ff ff ff 04')), { length: 0xffffff, seq: 4 });
  assert.throws(() => readHeader(bytes('01 00 00')), ProtocolError);
});

test('encodePacket boundary sizes: 0, 0xFFFFFE, 0xFFFFFF, 0xFFFFFF+1, 2×0xFFFFFF', () => {
  const cases: Array<[number, number[]]> = [
    [0, [0]],
    [1, [1]],
    [0xfffffe, [0xfffffe]],
    [0xffffff, [0xffffff, 0]],
    [0xffffff + 1, [0xffffff, 1]],
    [2 * 0xffffff, [0xffffff, 0xffffff, 0]],
  ];
  for (const [len, parts] of cases) {
    const payload = Buffer.alloc(len, 0x61);
    const enc = encodePacket(payload, 0xfe);
    const hs = headers(enc);
    assert.deepEqual(hs.map((h) => h.length), parts, `lengths for ${len}`);
    assert.deepEqual(hs.map((h) => h.seq), parts.map((_, i) => (0xfe + i) & 0xff), `seqs wrap for ${len}`);
    // and the framer reassembles exactly one frame of the original payload
    const f = new Framer();
    f.push(enc);
    const frames = drain(f);
    assert.equal(frames.length, 1);
    const fr = frames[0] as Frame;
    assert.equal(fr.length, len);
    assert.equal(fr.seq, 0xfe);
    assert.equal(fr.nPackets, parts.length);
    assert.equal(fr.parts.length, parts.length);
    assert.ok(fr.payload().equals(payload));
    assert.equal(f.pending(), 0);
  }
});

test('A3.8: a 17,825,815-byte COM_QUERY is ff ff ff 00 + 18 00 10 01', () => {
  const payload = Buffer.alloc(17_825_815, 0x20);
  payload[0] = 0x03;
  const enc = encodePacket(payload, 0);
  assert.deepEqual(enc.subarray(0, 4), bytes('ff ff ff 00'));
  assert.deepEqual(enc.subarray(4 + MAX_PAYLOAD, 8 + MAX_PAYLOAD), bytes('18 00 10 01'));
  const f = new Framer();
  // feed in 64 KiB chunks like a socket would
  for (let i = 0; i < enc.length; i += 65536) f.push(enc.subarray(i, i + 65536));
  const [fr] = drain(f);
  assert.ok(fr);
  assert.equal(fr.length, 17_825_815);
  assert.equal((fr.seq + fr.nPackets) & 0xff, 2, 'the response starts at seq 2');
  assert.ok(fr.payload().equals(payload));
});

test('encodePackets continues the sequence across payloads', () => {
  const enc = encodePackets([bytes('02'), bytes('aa'), Buffer.alloc(0)], 1);
  assert.deepEqual(enc, bytes('01 00 00 01 02  01 00 00 02 aa  00 00 00 03'));
});

test('framer: frames inside one chunk are zero-copy views; straddling frames are copied once', () => {
  const stream = bytes('01 00 00 01 02', '04 00 00 05 01 31 01 78', '05 00 00 06 fe 00 00 02 00');
  const f = new Framer();
  f.push(stream);
  const frames = drain(f);
  assert.deepEqual(frames.map((x) => [x.seq, x.payload().toString('hex')]), [
    [1, '02'],
    [5, '01310178'],
    [6, 'fe00000200'],
  ]);
  const view = (frames[1] as Frame).payload();
  assert.equal(view.byteOffset, stream.byteOffset + 9, 'view into the pushed chunk');
  assert.equal(view.buffer, stream.buffer);
  assert.equal(f.pending(), 0);

  const g = new Framer();
  g.push(stream.subarray(0, 2)); // half a header
  assert.equal(g.next(), null);
  g.push(stream.subarray(2, 8)); // rest of packet 1 + 1 byte of header 2
  assert.equal(g.next()?.payload().toString('hex'), '02');
  assert.equal(g.next(), null);
  assert.equal(g.pending(), 3);
  g.push(stream.subarray(8, 11)); // header 2 complete + 2 payload bytes
  assert.equal(g.next(), null);
  g.push(stream.subarray(11));
  const rest = drain(g);
  assert.deepEqual(rest.map((x) => x.payload().toString('hex')), ['01310178', 'fe00000200']);
  const copied = (rest[0] as Frame).payload();
  stream[9] = 0x99; // first payload byte of packet 2 in the original stream
  assert.equal(copied[0], 0x01, 'straddling frame was copied out of the chunks');
  assert.equal(view[0], 0x99, 'while the single-chunk frame is a view');
  assert.equal(g.pending(), 0);
});

test('framer: maxPacket is checked on the header, before the payload arrives', () => {
  const f = new Framer({ maxPacket: 100 });
  f.push(bytes('01 00 00 00 0e'));
  f.push(bytes('65 00 00 00')); // header says 101 bytes; no payload yet
  assert.equal(f.next()?.payload().toString('hex'), '0e', 'frames before the error are still delivered');
  assert.throws(
    () => f.next(),
    (e: unknown) => e instanceof ProtocolError && e.message === 'packet too large' && e.detail?.['length'] === 101 && e.detail?.['max'] === 100,
  );
  assert.throws(() => f.next(), ProtocolError, 'sticky');
  f.push(bytes('01 00 00 00 0e'));
  assert.throws(() => f.next(), ProtocolError, 'input after the error is dropped');
});

test('framer: maxPacket also bounds the continuation total', () => {
  const f = new Framer({ maxPacket: MAX_PAYLOAD + 10 });
  const enc = encodePacket(Buffer.alloc(MAX_PAYLOAD + 11), 0);
  f.push(enc.subarray(0, 4 + MAX_PAYLOAD + 4)); // first packet + the second header
  assert.throws(() => f.next(), (e: unknown) => e instanceof ProtocolError && e.detail?.['length'] === MAX_PAYLOAD + 11);
  const ok = new Framer({ maxPacket: MAX_PAYLOAD + 11 });
  ok.push(enc);
  assert.equal(ok.next()?.length, MAX_PAYLOAD + 11);
});

test('framer: a sequence gap inside a continuation is a ProtocolError', () => {
  const enc = Buffer.from(encodePacket(Buffer.alloc(MAX_PAYLOAD + 1), 3));
  enc[4 + MAX_PAYLOAD + 3] = 9; // second packet should be seq 4
  const f = new Framer();
  f.push(enc);
  assert.throws(
    () => f.next(),
    (e: unknown) => e instanceof ProtocolError && e.message === 'packet out of order' && e.detail?.['expected'] === 4 && e.detail?.['got'] === 9,
  );
});

test('framer: the seq wraps at 255 inside a continuation', () => {
  const payload = Buffer.alloc(MAX_PAYLOAD + 5, 1);
  const f = new Framer();
  f.push(encodePacket(payload, 0xff));
  const fr = f.next();
  assert.equal(fr?.seq, 0xff);
  assert.equal(fr?.nPackets, 2);
  assert.deepEqual(fr?.parts.map((p) => p.length), [MAX_PAYLOAD, 5]);
});

test('frame.payload() concatenates once and caches', () => {
  const f = new Framer();
  f.push(encodePacket(Buffer.alloc(MAX_PAYLOAD + 1, 2), 0));
  const fr = f.next() as Frame;
  assert.equal(fr.payload(), fr.payload());
});
