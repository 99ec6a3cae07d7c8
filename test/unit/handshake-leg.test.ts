// HandshakeLeg.detachRaw: the bytes a client pipelines right behind its SSLRequest (mysql2 sends the TLS
// ClientHello without waiting) come back byte-exact, however the chunks were cut, so they can go to TLS.
// onFrame: frames and a close that came before push mode are delivered, not lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { HandshakeLeg } from '../../src/session/handshake-leg.ts';
import { encodePacket } from '../../src/protocol/packet.ts';

const sslRequest = encodePacket(Buffer.alloc(32, 7), 1);
// a TLS record header as MySQL framing would misread it (length 0x010316, seq 0x02…)
const clientHello = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(512, 0xab)]);

for (const cuts of [[], [10], [36], [36, 40], [3, 37, 300]]) {
  test(`detachRaw returns the bytes after the frame taken (chunks cut at ${JSON.stringify(cuts)})`, async () => {
    const socket = new EventEmitter() as unknown as Socket;
    const leg = new HandshakeLeg(socket, 'client', 1 << 20);
    const all = Buffer.concat([sslRequest, clientHello]);
    const bounds = [0, ...cuts, all.length];
    const first = leg.next();
    for (let i = 0; i + 1 < bounds.length; i++) socket.emit('data', all.subarray(bounds[i], bounds[i + 1]));
    const f = await first;
    assert.deepEqual(f.payload(), Buffer.alloc(32, 7));
    assert.deepEqual(leg.detachRaw(), clientHello);
    assert.equal((socket as unknown as EventEmitter).listenerCount('data'), 0);
  });
}

test('detachRaw is empty when nothing follows the frame', async () => {
  const socket = new EventEmitter() as unknown as Socket;
  const leg = new HandshakeLeg(socket, 'client', 1 << 20);
  const first = leg.next();
  socket.emit('data', sslRequest);
  await first;
  assert.equal(leg.detachRaw().length, 0);
});

test('onFrame delivers the frames read before it, then a close that came before it', () => {
  const socket = new EventEmitter() as unknown as Socket;
  const leg = new HandshakeLeg(socket, 'backend', 1 << 20);
  socket.emit('data', encodePacket(Buffer.from([0xfe, 1, 2]), 2));
  socket.emit('close');
  const seen: string[] = [];
  leg.onFrame(
    (f) => seen.push(`frame ${f.seq}`),
    (e) => seen.push(`failure ${(e as Error).message}`),
  );
  assert.deepEqual(seen, ['frame 2', 'failure backend closed the connection during the handshake']);
});

test('onFrame reports a close that comes after it once', () => {
  const socket = new EventEmitter() as unknown as Socket;
  const leg = new HandshakeLeg(socket, 'client', 1 << 20);
  const failures: unknown[] = [];
  leg.onFrame(() => assert.fail('no frame was sent'), (e) => failures.push(e));
  assert.equal(failures.length, 0);
  socket.emit('close');
  assert.equal(failures.length, 1);
});
