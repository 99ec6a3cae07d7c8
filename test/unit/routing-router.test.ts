// Router: every matcher, first match wins, tag stripping, failover order with health, drain and
// redirect_to, the typed outcomes; plus the BackendState store it reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendConfig, Config, RouteConfig } from '../../src/config/types.ts';
import { Router, compileGlob, compileCidrs, splitUserTag, type RouteOutcome, type RouteRequest } from '../../src/routing/router.ts';
import { InMemoryBackendState, BackendStateError, type BackendChange } from '../../src/routing/backend-state.ts';

function backend(name: string, port = 3307): BackendConfig {
  return { name, address: `127.0.0.1:${port}`, proxy_protocol: 'none', tls: { mode: 'disabled', verify: 'none' } };
}

type RouterConfig = Pick<Config, 'routes' | 'backends' | 'user_tag_separator'>;

function config(routes: RouteConfig[], extra: { separator?: string; backends?: string[] } = {}): RouterConfig {
  const names = new Set(extra.backends ?? routes.flatMap((r) => r.backends));
  return { routes, backends: [...names].map((n, i) => backend(n, 4000 + i)), user_tag_separator: extra.separator ?? '.' };
}

function req(over: Partial<RouteRequest> = {}): RouteRequest {
  return { listener: 'main', user: 'alice', schema: null, clientAddress: '127.0.0.1', sni: null, serverHost: null, ...over };
}

function ok(o: RouteOutcome): { route: string; backend: string; user: string; redirectedFrom: string | null } {
  assert.equal(o.kind, 'ok', `expected a route, got ${JSON.stringify(o)}`);
  if (o.kind !== 'ok') throw new Error('unreachable');
  return { route: o.route.name, backend: o.backend.name, user: o.user, redirectedFrom: o.redirectedFrom };
}

test('globs: * and ?, anchored, case rules', () => {
  const host = compileGlob('orders.*', { ignoreCase: true });
  assert.ok(host('orders.db.example.com'));
  assert.ok(host('ORDERS.x'));
  assert.ok(!host('xorders.x'));
  assert.ok(!host('orders'));
  const q = compileGlob('db?.example.com', { ignoreCase: true });
  assert.ok(q('db1.example.com'));
  assert.ok(!q('db12.example.com'));
  assert.ok(!q('db1xexample.com'), 'a dot in the glob is literal');
  const schema = compileGlob('orders_*', { ignoreCase: false });
  assert.ok(schema('orders_eu'));
  assert.ok(!schema('Orders_eu'));
  const plain = compileGlob('Exact', { ignoreCase: false });
  assert.ok(plain('Exact') && !plain('exact'));
  assert.ok(compileGlob('(a+)[b]', { ignoreCase: false })('(a+)[b]'), 'regex specials are literal');
});

test('splitUserTag', () => {
  assert.deepEqual(splitUserTag('orders.alice', '.'), { tag: 'orders', rest: 'alice' });
  assert.deepEqual(splitUserTag('orders.alice.x', '.'), { tag: 'orders', rest: 'alice.x' });
  assert.deepEqual(splitUserTag('alice', '.'), { tag: null, rest: 'alice' });
  assert.deepEqual(splitUserTag('.alice', '.'), { tag: null, rest: '.alice' });
  assert.deepEqual(splitUserTag('crm::bob', '::'), { tag: 'crm', rest: 'bob' });
});

test('client_cidr: IPv4, IPv6, mapped addresses, single hosts', () => {
  const v4 = compileCidrs(['10.0.0.0/8', '192.168.1.7']);
  assert.ok(v4('10.1.2.3'));
  assert.ok(v4('::ffff:10.1.2.3'), 'IPv4-mapped IPv6 matches an IPv4 block');
  assert.ok(v4('192.168.1.7'));
  assert.ok(!v4('192.168.1.8'));
  assert.ok(!v4('11.0.0.1'));
  assert.ok(!v4('::1'));
  assert.ok(!v4('not-an-ip'));
  const v6 = compileCidrs(['2001:db8::/32', '::1/128', 'fe80::/10']);
  assert.ok(v6('2001:db8:1234::5'));
  assert.ok(v6('2001:DB8::1'));
  assert.ok(!v6('2001:db9::1'));
  assert.ok(v6('::1'));
  assert.ok(v6('fe80::1%eth0'), 'zone ids are ignored');
  assert.ok(v6('febf::1'));
  assert.ok(!v6('fec0::1'));
  assert.ok(!v6('127.0.0.1'));
  const mapped = compileCidrs(['::ffff:0:0/96']);
  assert.ok(mapped('1.2.3.4'), 'an IPv6 block over the mapped range holds IPv4 clients');
  const odd = compileCidrs(['10.0.0.0/13']);
  assert.ok(odd('10.7.255.255'));
  assert.ok(!odd('10.8.0.0'));
  assert.ok(compileCidrs(['0.0.0.0/0'])('8.8.8.8'));
  assert.ok(compileCidrs(['::/0'])('2a00::1'));
});

test('each matcher on its own', () => {
  const routes: RouteConfig[] = [
    { name: 'by-sni', match: { sni: 'sni.*' }, backends: ['b1'] },
    { name: 'by-host', match: { host: '*.hosts.example' }, backends: ['b2'] },
    { name: 'by-tag', match: { user_tag: 'orders' }, backends: ['b3'] },
    { name: 'by-schema', match: { schema: 'crm_?' }, backends: ['b4'] },
    { name: 'by-listener', match: { listener: 'second' }, backends: ['b5'] },
    { name: 'by-cidr', match: { client_cidr: ['2001:db8::/48'] }, backends: ['b6'] },
  ];
  const r = new Router(config(routes));
  assert.equal(ok(r.route(req({ sni: 'SNI.Example.com' }))).route, 'by-sni');
  assert.equal(r.route(req({ serverHost: 'sni.example.com' })).kind, 'no_route', 'sni matches the TLS name only');
  assert.equal(ok(r.route(req({ sni: 'a.hosts.example' }))).route, 'by-host');
  assert.equal(ok(r.route(req({ serverHost: 'a.hosts.example' }))).route, 'by-host', 'host falls back to _server_host');
  assert.equal(ok(r.route(req({ sni: 'a.hosts.example.' }))).route, 'by-host', 'a trailing dot is ignored');
  assert.equal(r.route(req({ sni: 'other', serverHost: 'a.hosts.example' })).kind, 'no_route', 'SNI wins over _server_host');
  assert.deepEqual(ok(r.route(req({ user: 'orders.alice' }))), { route: 'by-tag', backend: 'b3', user: 'alice', redirectedFrom: null });
  assert.equal(r.route(req({ user: 'ordersalice' })).kind, 'no_route');
  assert.equal(ok(r.route(req({ schema: 'crm_1' }))).route, 'by-schema');
  assert.equal(r.route(req({ schema: 'crm_12' })).kind, 'no_route');
  assert.equal(r.route(req({ schema: 'CRM_1' })).kind, 'no_route', 'schema globs are case-sensitive');
  assert.equal(ok(r.route(req({ listener: 'second' }))).route, 'by-listener');
  assert.equal(ok(r.route(req({ clientAddress: '2001:db8:0:1::9' }))).route, 'by-cidr');
  const none = r.route(req({ user: 'bob', clientAddress: '10.0.0.1', schema: 'x', serverHost: 'nowhere' }));
  assert.equal(none.kind, 'no_route');
  if (none.kind === 'no_route') {
    assert.match(none.detail, /listener main/);
    assert.match(none.detail, /host 'nowhere'/);
    assert.match(none.detail, /10\.0\.0\.1/);
  }
});

test('every given matcher must hold; first match wins; catch-all last', () => {
  const routes: RouteConfig[] = [
    { name: 'strict', match: { user_tag: 'orders', schema: 'orders_*', client_cidr: ['10.0.0.0/8'], listener: 'main' }, backends: ['a'] },
    { name: 'tag', match: { user_tag: 'orders' }, backends: ['b'] },
    { name: 'tag-again', match: { user_tag: 'orders' }, backends: ['c'] },
    { name: 'all', backends: ['d'] },
  ];
  const r = new Router(config(routes));
  assert.equal(ok(r.route(req({ user: 'orders.al', schema: 'orders_eu', clientAddress: '10.9.9.9' }))).route, 'strict');
  assert.equal(ok(r.route(req({ user: 'orders.al', schema: 'orders_eu', clientAddress: '11.9.9.9' }))).route, 'tag');
  assert.equal(ok(r.route(req({ user: 'orders.al', schema: null, clientAddress: '10.9.9.9' }))).route, 'tag', 'no schema fails a schema matcher');
  assert.equal(ok(r.route(req({ user: 'orders.al', listener: 'other', schema: 'orders_eu', clientAddress: '10.9.9.9' }))).route, 'tag');
  const all = ok(r.route(req({ user: 'john.doe' })));
  assert.equal(all.route, 'all');
  assert.equal(all.user, 'john.doe', 'a route without user_tag keeps the user name whole');
});

test('custom separator strips the tag', () => {
  const r = new Router(config([{ name: 'crm', match: { user_tag: 'crm' }, backends: ['x'] }], { separator: '%' }));
  assert.deepEqual(ok(r.route(req({ user: 'crm%first.last' }))), { route: 'crm', backend: 'x', user: 'first.last', redirectedFrom: null });
  assert.equal(r.route(req({ user: 'crm.first' })).kind, 'no_route');
});

test('failover order follows health; unknown counts as up; all down names the route and states', () => {
  const cfg = config([{ name: 'orders', backends: ['p', 'r1', 'r2'] }]);
  const state = new InMemoryBackendState({ backends: cfg.backends, routes: cfg.routes });
  const r = new Router(cfg, { state });
  assert.equal(ok(r.route(req())).backend, 'p', 'unknown is routable');
  state.updateHealth('p', { ok: false, status: 'down', lastError: 'connect ECONNREFUSED 127.0.0.1:4000' });
  assert.equal(ok(r.route(req())).backend, 'r1');
  state.updateHealth('r1', { ok: false, status: 'down' });
  assert.equal(ok(r.route(req())).backend, 'r2');
  state.updateHealth('p', { ok: true, status: 'up' });
  assert.equal(ok(r.route(req())).backend, 'p', 'traffic returns per the order');
  state.updateHealth('p', { ok: false, status: 'down', lastError: 'connect ECONNREFUSED 127.0.0.1:4000' });
  state.updateHealth('r2', { ok: false, status: 'down', lastError: 'ERROR 1045 (28000): Access denied' });
  const out = r.route(req());
  assert.equal(out.kind, 'unavailable');
  if (out.kind !== 'unavailable') return;
  assert.equal(out.route.name, 'orders');
  assert.deepEqual(out.backends.map((b) => [b.name, b.status, b.draining]), [['p', 'down', false], ['r1', 'down', false], ['r2', 'down', false]]);
  assert.match(out.reason, /route orders/);
  assert.match(out.reason, /p \(down: connect ECONNREFUSED/);
  assert.match(out.reason, /r2 \(down: ERROR 1045/);
});

test('drain: skipped for the next in order; redirect_to honoured (and chained); undrain restores', () => {
  const cfg = config([{ name: 'orders', backends: ['p', 'r1'] }], { backends: ['p', 'r1', 'spare', 'spare2'] });
  const state = new InMemoryBackendState({ backends: cfg.backends, routes: cfg.routes });
  const changes: BackendChange[] = [];
  const off = state.on('change', (c) => changes.push(c));
  const r = new Router(cfg, { state });
  state.drain('p');
  assert.equal(ok(r.route(req())).backend, 'r1');
  state.drain('p', 'spare');
  assert.deepEqual(ok(r.route(req())), { route: 'orders', backend: 'spare', user: 'alice', redirectedFrom: 'p' });
  state.drain('spare', 'spare2');
  assert.equal(ok(r.route(req())).backend, 'spare2', 'a redirect to a draining backend follows its redirect');
  state.updateHealth('spare2', { ok: false, status: 'down' });
  assert.equal(ok(r.route(req())).backend, 'r1', 'an unusable redirect target falls back to the order');
  state.drain('r1');
  const out = r.route(req());
  assert.equal(out.kind, 'unavailable');
  if (out.kind === 'unavailable') {
    assert.deepEqual(out.backends.map((b) => [b.name, b.draining, b.redirect_to]), [['p', true, 'spare'], ['r1', true, null]]);
    assert.match(out.reason, /p \(draining, redirect to spare unusable\); r1 \(draining\)/);
  }
  state.undrain('p');
  state.undrain('r1');
  assert.equal(ok(r.route(req())).backend, 'p');
  assert.ok(changes.some((c) => c.kind === 'drain' && c.name === 'p' && c.current.redirect_to === 'spare'));
  off();
  const n = changes.length;
  state.drain('p');
  assert.equal(changes.length, n, 'unsubscribed');
  assert.throws(() => state.drain('nope'), (e: unknown) => e instanceof BackendStateError && e.kind === 'unknown_backend');
  assert.throws(() => state.drain('p', 'p'), (e: unknown) => e instanceof BackendStateError && e.kind === 'bad_redirect');
  assert.throws(() => state.drain('p', 'nope'), (e: unknown) => e instanceof BackendStateError && e.kind === 'bad_redirect');
});

test('redirect cycles terminate', () => {
  const cfg = config([{ name: 'x', backends: ['a', 'b'] }]);
  const state = new InMemoryBackendState({ backends: cfg.backends, routes: cfg.routes });
  state.drain('a', 'b');
  state.drain('b', 'a');
  assert.equal(new Router(cfg, { state }).route(req()).kind, 'unavailable');
});

test('preGreetingRoute: only when the answer cannot depend on the client, and the backend is usable', () => {
  const single = config([{ name: 'only', backends: ['a'] }]);
  const state = new InMemoryBackendState({ backends: single.backends, routes: single.routes });
  const r = new Router(single, { state });
  assert.equal(r.preGreetingRoute('main')?.backend.name, 'a');
  state.updateHealth('a', { ok: false, status: 'down' });
  assert.equal(r.preGreetingRoute('main'), null, 'a down backend is left to route() (ERR 1429 after the handshake)');
  assert.equal(r.route(req()).kind, 'unavailable');
  state.updateHealth('a', { ok: true, status: 'up' });
  state.drain('a');
  assert.equal(r.preGreetingRoute('main'), null);

  const perListener = new Router(
    config([
      { name: 'l1', match: { listener: 'one' }, backends: ['a'] },
      { name: 'tagged', match: { listener: 'two', user_tag: 't' }, backends: ['b'] },
      { name: 'l2', match: { listener: 'two' }, backends: ['c'] },
      { name: 'fallback', backends: ['d'] },
    ]),
  );
  assert.equal(perListener.preGreetingRoute('one')?.route.name, 'l1', 'the first candidate has no client matchers: it always wins');
  assert.equal(perListener.preGreetingRoute('two'), null, 'a client matcher comes first');
  assert.equal(perListener.preGreetingRoute('three')?.route.name, 'fallback');
  assert.equal(new Router(config([{ name: 'ha', backends: ['a', 'b'] }])).preGreetingRoute('main'), null, 'two backends: health decides later');
  assert.equal(new Router(config([{ name: 'c', match: { client_cidr: ['0.0.0.0/0'] }, backends: ['a'] }])).preGreetingRoute('main'), null);
});

test('BackendState: health events, snapshot, sync on reload', () => {
  let now = 1000;
  const cfg = config([{ name: 'r', backends: ['a', 'b'] }]);
  const state = new InMemoryBackendState({ backends: cfg.backends, routes: cfg.routes }, { now: () => now });
  const events: BackendChange[] = [];
  state.on('change', (c) => events.push(c));
  state.on('change', () => {
    throw new Error('a broken listener does not break the writer');
  });
  now = 2000;
  state.updateHealth('a', { ok: true, status: 'up', latencyMs: 3, readOnly: true, version: '10.11.6-MariaDB' });
  now = 3000;
  state.updateHealth('a', { ok: true, latencyMs: 4 });
  assert.deepEqual(events.map((e) => e.kind), ['probe', 'health', 'probe']);
  const a = state.health('a');
  assert.equal(a.status, 'up');
  assert.equal(a.since, 2000, 'since changes with the status only');
  assert.equal(a.latencyMs, 4);
  assert.equal(a.version, '10.11.6-MariaDB', 'absent keys keep their value');
  const snap = state.snapshot();
  assert.deepEqual(snap.map((s) => [s.name, s.role, s.health.status, s.routes]), [['a', 'read_only', 'up', ['r']], ['b', 'unknown', 'unknown', ['r']]]);
  assert.doesNotThrow(() => JSON.stringify(snap));
  state.drain('b', 'a');
  // reload: a keeps its state, b is gone, c is new
  state.sync({ backends: [backend('a', 4000), backend('c', 5000)], routes: [{ name: 'r2', backends: ['c', 'a'] }] });
  assert.equal(state.health('a').status, 'up');
  assert.equal(state.has('b'), false);
  assert.equal(state.health('c').status, 'unknown');
  assert.deepEqual(state.snapshot().find((s) => s.name === 'a')?.routes, ['r2']);
  state.sync({ backends: [backend('a', 4001)], routes: [] });
  assert.equal(state.health('a').status, 'unknown', 'a new address resets health');
  state.updateHealth('gone', { ok: true, status: 'up' }); // a late probe of a removed backend is ignored
});
