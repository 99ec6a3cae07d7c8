import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { ReadBuffer } from '../../src/session/read-buffer.ts';

test('ReadBuffer reuses its buffer only after the consumer released the chunk', () => {
  const rb = new ReadBuffer();
  const first = rb.next();
  rb.release();
  assert.equal(rb.next(), first, 'released: the same memory serves the next read');
  assert.notEqual(rb.next(), first, 'not released: a chunk may still be referenced, so a fresh buffer');
});

test('a socket reading through ReadBuffer emits every byte as data, kept chunks intact', async () => {
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const server = net.createServer((c) => c.end(payload));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const rb = new ReadBuffer();
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
