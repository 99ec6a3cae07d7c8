// The memory floor of any Node relay that terminates TLS on both legs: N idle connections, each one accepted
// TLS socket piped to one dialled TLS socket, after 100 bytes went each way. Prints the relay process's RSS,
// V8 heap and external memory per connection (after two GCs), like the bench's idle-connection test.
// usage: node bench/tls-relay-floor.mjs <N> <cert.pem> <key.pem>   (127.0.0.1 only; forks its own relay and
// TLS backend and stops them)
import tls from 'node:tls';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
const [role, a1, a2, a3] = process.argv.slice(2);
const mem = () => { const m = process.memoryUsage(); return { rss: m.rss >> 10, heapUsed: m.heapUsed >> 10, external: m.external >> 10 }; };
if (role === 'backend') {
  const srv = tls.createServer({ cert: readFileSync(a1), key: readFileSync(a2) }, (s) => { s.on('error', () => {}); s.write(Buffer.alloc(100, 1)); });
  srv.listen(0, '127.0.0.1', () => process.send({ port: srv.address().port }));
} else if (role === 'relay') {
  const bport = Number(a3);
  const srv = tls.createServer({ cert: readFileSync(a1), key: readFileSync(a2) }, (c) => {
    c.on('error', () => {});
    const b = tls.connect({ port: bport, host: '127.0.0.1', rejectUnauthorized: false });
    b.on('error', () => {});
    c.pipe(b); b.pipe(c);
  });
  srv.listen(0, '127.0.0.1', () => process.send({ port: srv.address().port, mem: mem() }));
  process.on('message', (m) => { if (m === 'gc') { globalThis.gc(); globalThis.gc(); } process.send({ mem: mem() }); });
} else {
  const N = Number(role ?? 1000);
  const [cert, key] = [a1, a2];
  const be = fork(fileURLToPath(import.meta.url), ['backend', cert, key]);
  const { port: bport } = await new Promise((r) => be.once('message', r));
  const relay = fork(fileURLToPath(import.meta.url), ['relay', cert, key, String(bport)], { execArgv: ['--expose-gc', '--max-semi-space-size=2'] });
  const { port } = await new Promise((r) => relay.once('message', r));
  const ask = (m) => new Promise((r) => { relay.once('message', r); relay.send(m); });
  const open = [];
  const one = () => new Promise((res, rej) => { const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => { s.write(Buffer.alloc(100, 2)); s.once('data', () => res(s)); }); s.on('error', rej); open.push(s); });
  for (let i = 0; i < 50; i++) (await one()).destroy();
  open.length = 0;
  await new Promise((r) => setTimeout(r, 500));
  const before = (await ask('gc')).mem;
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => { while (next++ < N) await one(); }));
  await new Promise((r) => setTimeout(r, 1000));
  const after = (await ask('gc')).mem;
  console.log('per idle relayed TLS connection (KiB):', Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k] - before[k]) / N).toFixed(1)])));
  for (const s of open) s.destroy();
  relay.kill(); be.kill();
}
