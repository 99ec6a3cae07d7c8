// Runs every bench/micro/*.bench.ts suite with tinybench against dist/ and returns one
// row per task (ops/s, mean and p99 latency). A suite whose code has not landed yet is
// reported as skipped with its reason instead of failing the run.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import type { MicroSuite } from '../micro/common.ts';

export interface MicroRow {
  suite: string;
  task: string;
  opsPerSec: number | null;
  meanNs: number | null;
  p99Ns: number | null;
  note?: string;
}

export async function runMicro(root: string, timeMs: number): Promise<MicroRow[]> {
  const dir = join(root, 'bench', 'micro');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort();
  const rows: MicroRow[] = [];
  for (const f of files) {
    const suiteName = f.replace(/\.bench\.ts$/, '');
    const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs) });
    try {
      const mod = (await import(pathToFileURL(join(dir, f)).href)) as { default: MicroSuite };
      await mod.default.register(bench, join(root, 'dist'));
      await bench.run();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      rows.push({ suite: suiteName, task: '-', opsPerSec: null, meanNs: null, p99Ns: null, note: msg.slice(0, 200) });
      console.log(`micro ${suiteName}: skipped: ${msg}`);
      continue;
    }
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state === 'completed' || r.state === 'aborted-with-statistics') {
        const row: MicroRow = {
          suite: suiteName,
          task: t.name ?? '?',
          opsPerSec: r.throughput.mean,
          meanNs: r.latency.mean * 1e6,
          p99Ns: r.latency.p99 * 1e6,
        };
        rows.push(row);
        console.log(
          `micro ${row.task.padEnd(28)} ${Math.round(row.opsPerSec ?? 0)
            .toLocaleString('en-US')
            .padStart(12)} ops/s  mean ${(row.meanNs ?? 0).toFixed(0)} ns  p99 ${(row.p99Ns ?? 0).toFixed(0)} ns`,
        );
      } else {
        const note = r.state === 'errored' ? `errored: ${r.error.message}` : r.state;
        rows.push({ suite: suiteName, task: t.name ?? '?', opsPerSec: null, meanNs: null, p99Ns: null, note });
        console.log(`micro ${t.name ?? '?'}: ${note}`);
      }
    }
  }
  return rows;
}
