#!/usr/bin/env node
// Runs the whole suite with node:test. Test files are found under test/{unit,property,integration,interop}
// (Node 20's --test takes no globs). Files run concurrently; each integration file starts its own mariadbd.
// Usage: node scripts/run-tests.mjs [path-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = ['unit', 'property', 'integration', 'interop']
  .flatMap((k) => { try { return walk(join('test', k)); } catch { return []; } })
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = Number(process.env.SLUICE_TEST_CONCURRENCY ?? Math.max(2, availableParallelism() + 1));
// A hang must fail the run, not stall CI: Node 20 applies --test-timeout to each file as a whole (the file
// is cancelled and reported with the tests it finished, so a leaked handle fails its file too). The slowest
// file takes about a minute here. Not --test-force-exit: on Node 20.20 it ended test/unit/result-tracker.test.ts
// in the middle of a test with subtests, and the summary still counted no failure.
const fileTimeoutMs = Number(process.env.SLUICE_TEST_FILE_TIMEOUT_MS ?? 10 * 60_000);
const args = [
  '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${fileTimeoutMs}`,
  '--test-reporter=spec', ...files,
];
const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
