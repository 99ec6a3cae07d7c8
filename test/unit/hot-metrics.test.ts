// Hot-path metrics must expose exactly what prom-client's own Counter/Histogram expose for the same updates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../src/hot-metrics.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const VALUES = [0, 0.0005, 0.001, 0.002, 0.05, 0.5, 1, 3, 1e9];

test('HotHistogram exposes the same text as a prom-client Histogram', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const h = new HotHistogram({ name: 'x_seconds', help: 'x', labelNames: ['command'], buckets: BUCKETS, registers: [ours] });
  const p = new Histogram({ name: 'x_seconds', help: 'x', labelNames: ['command'], buckets: BUCKETS, registers: [theirs] });
  for (const [i, v] of VALUES.entries()) {
    const cmd = i % 2 === 0 ? 'COM_QUERY' : 'COM_"odd"\\name';
    h.labels(cmd).observe(v);
    p.labels(cmd).observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('HotCounter exposes the same text as a prom-client Counter; remove() and reset() drop series', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const c = new HotCounter({ name: 'y_total', help: 'y', labelNames: ['a', 'b'], registers: [ours] });
  const p = new Counter({ name: 'y_total', help: 'y', labelNames: ['a', 'b'], registers: [theirs] });
  c.labels('1', 'x').inc();
  c.labels('1', 'x').inc(4);
  c.labels('2', 'y').inc(0.5);
  p.labels('1', 'x').inc(5);
  p.labels('2', 'y').inc(0.5);
  assert.equal(await ours.metrics(), await theirs.metrics());
  c.remove('1', 'x');
  assert.doesNotMatch(await ours.metrics(), /a="1"/);
  assert.match(await ours.metrics(), /^y_total\{a="2",b="y"\} 0.5$/m);
  ours.resetMetrics();
  assert.doesNotMatch(await ours.metrics(), /^y_total\{/m);
});

test('labels() refuses a wrong number of label values', () => {
  const c = new HotCounter({ name: 'z_total', help: 'z', labelNames: ['a'], registers: [] });
  assert.throws(() => c.labels('1', '2'), /expected 1 label values, got 2/);
});
