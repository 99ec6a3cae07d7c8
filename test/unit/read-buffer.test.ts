import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { EventEmitter, once } from 'node:events';
import { ReadBuffer } from '../../src/session/read-buffer.ts';

/** Drives onread by hand: one read of `bytes`, returns the emitted chunk and the buffer the read used. */
function readOnce(rb: ReadBuffer, bytes: Buffer): { chunk: Buffer; into: Buffer } {
  const emitter = new EventEmitter();
  let chunk: Buffer | null = null;
  emitter.on('data', (c: Buffer) => (chunk = c));
  const r = rb.onread(() => emitter as net.Socket);
  const into = r.buffer();
  bytes.copy(into);
  r.callback(bytes.length, into);
  assert.ok(chunk !== null);
  return { chunk, into };
}

test('ReadBuffer copies chunks out by default; every connection reads into one shared buffer', () => {
  const rb = new ReadBuffer();
  const a = readOnce(rb, Buffer.from('first'));
  const b = readOnce(rb, Buffer.from('second'));
  assert.equal(b.into, a.into, 'one buffer serves every read');
  assert.equal(readOnce(new ReadBuffer(), Buffer.from('other')).into, a.into, 'and every connection');
  assert.notEqual(a.chunk.buffer, a.into.buffer, 'the chunk is a copy');
  assert.equal(a.chunk.toString(), 'first', 'a kept chunk survives the next read');
});

test('ReadBuffer in lend mode hands out views of its own buffer, reused only after release()', () => {
  const rb = new ReadBuffer();
  const shared = readOnce(rb, Buffer.from('handshake')).into;
  rb.lend = true;
  const first = readOnce(rb, Buffer.from('zero'));
  assert.equal(first.into, shared, 'the read that was already due lands in the shared buffer');
  assert.notEqual(first.chunk.buffer, shared.buffer, '… and is copied out, never lent');
  const a = readOnce(rb, Buffer.from('first'));
  assert.notEqual(a.into, shared, 'from then on: a buffer of its own');
  assert.equal(a.chunk.buffer, a.into.buffer, 'lent: a view of it');
  const b = readOnce(rb, Buffer.from('second'));
  assert.notEqual(b.into, a.into, 'not released: the view may still be held, so a fresh buffer');
  assert.equal(a.chunk.toString(), 'first');
  rb.release();
  assert.equal(readOnce(rb, Buffer.from('third')).into, b.into, 'released: the same memory serves the next read');
  assert.equal(readOnce(new ReadBuffer(), Buffer.from('x')).into, shared, 'other connections still share');
});

test('ReadBuffer: a chunk lent before lending paused stays lent across copied reads until release()', () => {
  const rb = new ReadBuffer();
  rb.lend = true;
  readOnce(rb, Buffer.from('warm-up')); // the read already due lands in the shared buffer
  const held = readOnce(rb, Buffer.from('held by the consumer'));
  assert.equal(held.chunk.buffer, held.into.buffer, 'lent');
  rb.lend = false; // e.g. masked rows: the consumer frames packets across reads
  const copied = readOnce(rb, Buffer.from('copied'));
  assert.notEqual(copied.chunk.buffer, held.into.buffer);
  rb.lend = true;
  const next = readOnce(rb, Buffer.from('next'));
  assert.notEqual(next.into, held.into, 'never released: a fresh buffer, the held chunk is untouched');
  assert.equal(held.chunk.toString(), 'held by the consumer');
  rb.release();
  assert.equal(readOnce(rb, Buffer.from('after release')).into, next.into, 'released: reused');
});

test('a socket reading through a lending ReadBuffer emits every byte as data, kept chunks intact', async () => {
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const server = net.createServer((c) => c.end(payload));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const rb = new ReadBuffer();
  rb.lend = true;
  const kept: Buffer[] = [];
  let released = 0;
  const socket: net.Socket = net.connect({ host: '127.0.0.1', port, onread: rb.onread(() => socket) });
  socket.on('data', (chunk: Buffer) => {
    // release every other chunk after copying it; keep the others as views (they must not be overwritten)
    if (kept.length % 2 === 0) {
      kept.push(Buffer.from(chunk));
      rb.release();
      released++;
    } else kept.push(chunk);
  });
  await once(socket, 'close');
  server.close();
  assert.ok(released > 0);
  assert.deepEqual(Buffer.concat(kept), payload);
});
