// The benchmark's budget ratios (bench/lib/report.ts): a QPS ratio pairs two paths' runs of the same round.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairedQpsRatio, ratios, summarize, type RunRow } from '../../bench/lib/report.ts';

const PS = 'oltp_point_select';

function run(round: number, path: string, qps: number, extra: Partial<RunRow> = {}): RunRow {
  return {
    round, path, workload: PS, threads: 8, qps, tps: qps, queries: qps * 10, errors: 0, seconds: 10,
    p95Ms: 1, p99Ms: 2, relayCpuUs: qps * 10 * 30, serverCpuUs: 0, relayRssKiB: null, relayPeakRssKiB: null, ...extra,
  };
}

describe('pairedQpsRatio', () => {
  it('divides within each round, then takes the median, so a drifting machine does not skew the ratio', () => {
    // the machine halves its speed after round 1: every path slows, the paired ratio stays 0.9
    const runs = [run(0, 'a', 900), run(0, 'b', 1000), run(1, 'b', 500), run(1, 'a', 450), run(2, 'a', 880), run(2, 'b', 1000)];
    const r = pairedQpsRatio(runs, 'a', 'b', PS, 8);
    assert.ok(r !== null);
    assert.equal(r.value, 0.9);
    assert.deepEqual(r.spread, { lo: 0.88, hi: 0.9, n: 3 });
    // a ratio of the medians over rounds would have mixed fast and slow rounds: 880 / 1000
    const median = (p: string): number | undefined => summarize(runs).find((x) => x.path === p)?.qps;
    assert.equal(median('a')! / median('b')!, 0.88);
  });

  it('skips rounds in which either path failed or did not run, and other workloads or thread counts', () => {
    const runs = [
      run(0, 'a', 800),
      run(0, 'b', 1000),
      run(1, 'a', Number.NaN, { error: 'sysbench died' }),
      run(1, 'b', 1000),
      run(2, 'a', 500),
      run(3, 'a', 700, { threads: 32 }),
      run(3, 'b', 1000, { threads: 32 }),
      run(4, 'a', 10, { workload: 'oltp_read_only' }),
      run(4, 'b', 1000, { workload: 'oltp_read_only' }),
    ];
    assert.deepEqual(pairedQpsRatio(runs, 'a', 'b', PS, 8), { value: 0.8, spread: null });
    assert.deepEqual(pairedQpsRatio(runs, 'a', 'b', PS, 32), { value: 0.7, spread: null });
    assert.equal(pairedQpsRatio(runs, 'a', 'c', PS, 8), null);
  });
});

describe('ratios', () => {
  it('judges a QPS target by the paired median and carries the per-round range', () => {
    const runs = [run(0, 'sluice', 1000), run(0, 'sluice-audit', 960), run(1, 'sluice-audit', 930), run(1, 'sluice', 1000), run(2, 'sluice', 1000), run(2, 'sluice-audit', 990)];
    const audit = ratios(runs, [], []).find((r) => r.name.startsWith('sluice-audit/sluice QPS'));
    assert.ok(audit !== undefined);
    assert.equal(audit.value, 0.96);
    assert.deepEqual(audit.spread, { lo: 0.93, hi: 0.99, n: 3 });
    assert.equal(audit.ok, true);
    const missing = ratios(runs, [], []).find((r) => r.name.startsWith('sluice-tls/sluice QPS'));
    assert.deepEqual(missing && { value: missing.value, ok: missing.ok }, { value: null, ok: null });
  });
});
