import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { GrantStore } from '../../src/masking/grants.ts';
import { grantsRoutes } from '../../src/admin/routes/grants.ts';
import type { AdminEvent } from '../../src/admin/routes/grants.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-grants-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('create / list / revoke / expiry with an injected clock; exempt_users', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const s = new GrantStore({ file: null, exemptUsers: ['dba'], ruleNames: ['phone', 'id'], now: () => now });
  const changes: string[] = [];
  s.on('change', (c) => changes.push(c.verb));
  const g = s.create({ user: 'alice', rules: ['phone'], ttl_ms: 3_600_000, reason: 'T-1', created_by: 'bob' });
  assert.equal(g.expires_at, '2026-01-01T01:00:00.000Z');
  assert.deepEqual([...s.exemptRules('alice')], ['phone']);
  assert.deepEqual([...s.exemptRules('carol')], []);
  assert.deepEqual([...s.exemptRules('dba')], ['*']);
  assert.equal(s.list().length, 1);
  now += 3_600_000; // expired by time, no timer
  assert.deepEqual([...s.exemptRules('alice')], []);
  assert.equal(s.list().length, 0);
  const g2 = s.create({ user: 'alice', rules: ['id'], ttl_ms: 1000, reason: 'T-2', created_by: 'bob' });
  s.revoke(g2.id);
  assert.deepEqual([...s.exemptRules('alice')], []);
  assert.throws(() => s.revoke(g2.id), /no live grant/);
  assert.throws(() => s.create({ user: 'a', rules: ['nope'], ttl_ms: 1, reason: 'r', created_by: 'b' }), /unknown masking rule/);
  assert.throws(() => s.create({ user: 'a', rules: ['id'], ttl_ms: 1, reason: ' ', created_by: 'b' }), /reason/);
  assert.deepEqual(changes, ['create', 'create', 'revoke']);
});

test('exemptRules answers the same Set until a grant changes or expires (callers cache by identity)', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const s = new GrantStore({ file: null, exemptUsers: [], ruleNames: ['phone', 'id'], now: () => now });
  const none = s.exemptRules('alice');
  assert.equal(s.exemptRules('alice'), none, 'no grants: one shared empty set');
  s.create({ user: 'alice', rules: ['phone'], ttl_ms: 60_000, reason: 'T-1', created_by: 'bob' });
  const one = s.exemptRules('alice');
  assert.deepEqual([...one], ['phone'], 'a new grant applies at once');
  now += 1000;
  assert.equal(s.exemptRules('alice'), one, 'unchanged: the same Set');
  const g = s.create({ user: 'alice', rules: ['id'], ttl_ms: 1000, reason: 'T-2', created_by: 'bob' });
  const two = s.exemptRules('alice');
  assert.deepEqual([...two].sort(), ['id', 'phone']);
  now += 1000; // the second grant's expiry
  assert.deepEqual([...s.exemptRules('alice')], ['phone'], 'an expiry is seen without any change to the store');
  now -= 500; // a clock read earlier than the cached answer's computation is not served from it
  assert.deepEqual([...s.exemptRules('alice')].sort(), ['id', 'phone']);
  s.revoke(g.id);
  assert.deepEqual([...s.exemptRules('alice')], ['phone'], 'a revoke applies at once');
});

test('the file is written atomically and survives a reload; expired grants dropped at load', () => {
  let now = 1_000_000;
  const file = join(dir, 'grants.json');
  const s = new GrantStore({ file, now: () => now });
  const keep = s.create({ user: 'alice', rules: ['phone'], ttl_ms: 10_000, reason: 'r', created_by: 'b' });
  s.create({ user: 'bob', rules: ['phone'], ttl_ms: 1_000, reason: 'r', created_by: 'b' });
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { grants: unknown[] }).grants.length, 2);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  now += 5_000;
  const s2 = new GrantStore({ file, now: () => now });
  assert.deepEqual(s2.list().map((g) => g.id), [keep.id]);
  assert.deepEqual([...s2.exemptRules('alice')], ['phone']);
});

test('admin API via app.inject(): create, list, revoke, 400 on bad input, admin events', async () => {
  const store = new GrantStore({ file: null, ruleNames: ['phone'] });
  const events: AdminEvent[] = [];
  const app = Fastify();
  await grantsRoutes(app, { store, onAdminEvent: (e) => events.push(e) });
  after(() => app.close());
  const post = (body: unknown) => app.inject({ method: 'POST', url: '/api/v1/masking/grants', payload: body as object, headers: { 'x-sluice-caller': 'bob' } });
  const r1 = await post({ user: 'alice', rules: ['phone'], ttl: '2h', reason: 'TICKET-1' });
  assert.equal(r1.statusCode, 201);
  const g = r1.json<{ id: string; user: string; expires_at: string; created_by: string }>();
  assert.equal(g.user, 'alice');
  assert.equal(g.created_by, 'bob');
  for (const bad of [{ user: 'alice', rules: ['phone'], ttl: '2h' }, { user: 'alice', rules: ['phone'], ttl: 'soon', reason: 'x' }, { user: 'alice', rules: ['nope'], ttl: '1h', reason: 'x' }, { user: 'a', rules: ['phone'], ttl: '1h', reason: 'x', extra: 1 }]) {
    const r = await post(bad);
    assert.equal(r.statusCode, 400, JSON.stringify(bad));
    assert.equal(r.json<{ error: string }>().error, 'bad_request');
    assert.equal(typeof r.json<{ message: string }>().message, 'string');
  }
  const list = await app.inject({ method: 'GET', url: '/api/v1/masking/grants' });
  assert.equal(list.json<{ grants: unknown[] }>().grants.length, 1);
  const del = await app.inject({ method: 'DELETE', url: `/api/v1/masking/grants/${g.id}?reason=done` });
  assert.equal(del.statusCode, 200);
  assert.equal((await app.inject({ method: 'DELETE', url: `/api/v1/masking/grants/${g.id}` })).statusCode, 404);
  assert.deepEqual(events.map((e) => [e.verb, e.ok]), [
    ['masking.grant.create', true], ['masking.grant.create', false], ['masking.grant.revoke', true], ['masking.grant.revoke', false],
  ]);
  assert.equal(events[0]?.reason, 'TICKET-1');
  assert.equal(events[0]?.caller, 'bob');
});
