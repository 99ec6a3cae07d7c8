// Health checker against two throwaway mariadbd: first verdicts, version/read_only/capabilities,
// down after `fall` failed probes when one is killed, up after `rise` good probes when it is back,
// the router following along; a wrong monitor password is down with the backend's own error; a
// silent server times out; a PROXY-protocol backend gets a LOCAL header first.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { BackendConfig, HealthCheckConfig } from '../../src/config/types.ts';
import { HealthChecker, probeBackend, nativePasswordScramble } from '../../src/routing/health-checker.ts';
import { InMemoryBackendState, type BackendChange } from '../../src/routing/backend-state.ts';
import { Router } from '../../src/routing/router.ts';
import { Capability } from '../../src/protocol/index.ts';
import { PROXY_V2_SIGNATURE, parseProxyHeader } from '../../src/protocol/proxy-protocol.ts';
import { startMariaDb, MONITOR_USER, type MariaDbServer } from '../harness/mariadb.ts';

const PW_ENV = 'SLUICE_TEST_MONITOR_PASSWORD';
let a: MariaDbServer;
let b: MariaDbServer;

before(async () => {
  [a, b] = await Promise.all([startMariaDb(), startMariaDb()]);
  await b.sql('SET GLOBAL read_only=1;');
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

function backendOf(name: string, s: { port: number }, proxy: BackendConfig['proxy_protocol'] = 'none'): BackendConfig {
  return { name, address: `127.0.0.1:${s.port}`, proxy_protocol: proxy, tls: { mode: 'disabled', verify: 'none' } };
}

function capturingLogger(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('nativePasswordScramble matches the documented formula', () => {
  // password "secret", scramble 0x01..0x14; expected value computed independently with Python's hashlib
  const scramble = Buffer.from(Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(nativePasswordScramble('', scramble).length, 0);
  assert.equal(nativePasswordScramble('secret', scramble).toString('hex'), 'b32bb3a583e1340c0a1108d58b1be49781ad8c2f');
  assert.equal(nativePasswordScramble('secret', Buffer.concat([scramble, Buffer.from([0])])).toString('hex'), 'b32bb3a583e1340c0a1108d58b1be49781ad8c2f', 'a trailing NUL is ignored');
});

test('up/down with rise and fall, read_only and version recorded, router follows', async () => {
  const backends = [backendOf('a', a), backendOf('b', b)];
  const routes = [{ name: 'r', backends: ['a', 'b'] }];
  const state = new InMemoryBackendState({ backends, routes });
  const router = new Router({ backends, routes, user_tag_separator: '.' }, { state });
  const events: BackendChange[] = [];
  state.on('change', (c) => events.push(c));
  const { log, lines } = capturingLogger();
  const config: HealthCheckConfig = { interval: 150, timeout: 2000, rise: 2, fall: 3, user: MONITOR_USER.user, password_env: PW_ENV };
  const checker = new HealthChecker({ state, backends, config, rise: 2, fall: 3, log, env: { [PW_ENV]: MONITOR_USER.password } });
  checker.start();
  try {
    await waitFor('first verdicts', () => state.health('a').status !== 'unknown' && state.health('b').status !== 'unknown');
    const ha = state.health('a');
    const hb = state.health('b');
    assert.equal(ha.status, 'up', String(ha.lastError));
    assert.equal(hb.status, 'up', String(hb.lastError));
    assert.equal(ha.readOnly, false);
    assert.equal(hb.readOnly, true);
    assert.equal(ha.version, a.version);
    assert.match(ha.serverVersion ?? '', /MariaDB/);
    assert.ok(((ha.capabilities ?? 0) & Capability.PROTOCOL_41) !== 0);
    assert.ok((ha.mariadbCapabilities ?? 0) > 0, 'MariaDB extended capabilities recorded');
    assert.ok(ha.latencyMs !== null && ha.latencyMs >= 0);
    assert.deepEqual(state.snapshot().map((s) => [s.name, s.role]), [['a', 'read_write'], ['b', 'read_only']]);
    assert.equal(router.route({ listener: 'main', user: 'u', schema: null, clientAddress: '127.0.0.1', sni: null, serverHost: null }).kind, 'ok');

    // kill a: down exactly at the `fall`-th failed probe in a row
    const mark = events.length;
    a.kill();
    await waitFor('a down', () => state.health('a').status === 'down');
    const aProbes = events.slice(mark).filter((e): e is Extract<BackendChange, { kind: 'probe' }> => e.kind === 'probe' && e.name === 'a');
    const downAt = aProbes.findIndex((p) => p.current.status === 'down');
    // (a probe in flight at the kill may still have succeeded: count the failures in a row)
    assert.ok(downAt >= 2 && aProbes.slice(downAt - 2, downAt + 1).every((p) => !p.ok), 'down at a third failure in a row');
    assert.ok(downAt === 2 || aProbes[downAt - 3]!.ok, 'not later than the third');
    assert.match(state.health('a').lastError ?? '', /ECONNREFUSED|closed/);
    const routed = router.route({ listener: 'main', user: 'u', schema: null, clientAddress: '127.0.0.1', sni: null, serverHost: null });
    assert.equal(routed.kind === 'ok' ? routed.backend.name : routed.kind, 'b', 'failover to the next in order');
    assert.ok(lines.some((l) => l.msg === 'backend is down' && l.backend === 'a' && typeof l.reason === 'string'));

    // restart a: up after `rise` good probes
    const mark2 = events.length;
    await a.restart();
    await waitFor('a up', () => state.health('a').status === 'up');
    const back = events.slice(mark2).filter((e): e is Extract<BackendChange, { kind: 'probe' }> => e.kind === 'probe' && e.name === 'a');
    const firstUp = back.findIndex((p) => p.current.status === 'up');
    assert.ok(firstUp >= 1 && back[firstUp - 1]!.ok && back[firstUp]!.ok, 'two good probes in a row');
    assert.ok(!back.slice(0, firstUp - 1).some((p, i) => p.ok && back[i + 1]?.ok), 'not before the second good one');
    const home = router.route({ listener: 'main', user: 'u', schema: null, clientAddress: '127.0.0.1', sni: null, serverHost: null });
    assert.equal(home.kind === 'ok' ? home.backend.name : home.kind, 'a', 'traffic returns per the order');
    assert.ok(lines.some((l) => l.msg === 'backend is up' && l.backend === 'a' && l.from === 'down'));
    assert.ok(events.some((e) => e.kind === 'health' && e.name === 'a' && e.previous.status === 'down' && e.current.status === 'up'));
  } finally {
    await checker.stop();
  }
});

test('wrong monitor password: down with the backend error as the reason', async () => {
  const backends = [backendOf('b', b)];
  const state = new InMemoryBackendState({ backends, routes: [] });
  const { log } = capturingLogger();
  const checker = new HealthChecker({
    state,
    backends,
    config: { interval: 60_000, timeout: 2000, rise: 2, fall: 3, user: MONITOR_USER.user, password_env: PW_ENV },
    log,
    env: { [PW_ENV]: 'wrong-password' },
  });
  const r = await checker.checkNow('b');
  assert.equal(r.ok, false);
  const h = state.health('b');
  assert.equal(h.status, 'down', 'the first verdict from unknown is immediate');
  assert.match(h.lastError ?? '', /^ERROR 1045 \(28000\): Access denied for user 'monitor'/);
  assert.equal(h.version, b.version, 'the greeting was still recorded');
  await checker.stop();
});

test('no monitor user: the probe stops at the greeting', async () => {
  const r = await probeBackend(backendOf('b', b), { timeoutMs: 2000 });
  assert.ok(r.ok);
  if (r.ok) {
    assert.equal(r.readOnly, null);
    assert.equal(r.version, b.version);
  }
});

test('a stall of this process is not taken for a silent backend: I/O that completed meanwhile is read first', async () => {
  const probe = probeBackend(backendOf('b', b), { timeoutMs: 200 });
  // once the connect is under way, block the event loop past the deadline: the kernel completes the
  // connection and the greeting arrives meanwhile, and the due timer runs before they are read
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      const until = Date.now() + 600;
      while (Date.now() < until);
      resolve();
    }),
  );
  const r = await probe;
  assert.equal(r.ok, true, r.ok ? '' : r.error);
});

test('a silent server times out within `timeout`; a PROXY backend gets a LOCAL header first', async () => {
  const received: Buffer[] = [];
  const silent = net.createServer((s) => {
    s.on('data', (d: Buffer) => received.push(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const r = await probeBackend(backendOf('x', { port }, 'v2'), { timeoutMs: 300 });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error, 'greeting: no answer within 300 ms');
    const got = Buffer.concat(received);
    assert.ok(got.subarray(0, 12).equals(PROXY_V2_SIGNATURE));
    assert.deepEqual(parseProxyHeader(got), { kind: 'v2', src: null, dst: null, consumed: 16 });
  } finally {
    silent.close();
  }
});
