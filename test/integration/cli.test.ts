import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/index.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));

function sluice(...args: string[]) {
  const env = { ...process.env };
  delete env['SLUICE_LOG_LEVEL'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('--version prints the package version', () => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
  const r = sluice('--version');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `sluice ${pkg.version}\n`);
});

test('--help prints usage and exits 0', () => {
  const r = sluice('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /sluice check-config FILE/);
});

test('check-config on a good file prints the effective config, which loads to the same config', () => {
  const p = file('good.yaml', 'backends:\n  - name: db\n    address: 10.0.0.5:3306\nlimits: { handshake_timeout: 5s }\n');
  const r = sluice('check-config', p);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /handshake_timeout: 5s/);
  assert.match(r.stdout, /max_packet: 1GiB/);
  assert.deepEqual(parseConfigText(r.stdout, 'out', {}), parseConfigText(readFileSync(p, 'utf8'), 'in', {}));
});

test('check-config on a bad file prints every error line and exits 1', () => {
  const p = file('bad.yaml', 'listeners:\n  - name: main\n    address: localhost\n    adress: x\nlimits: { max_packet: 64MB }\n');
  const r = sluice('check-config', p);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    `${p}: listeners[0].address: expected host:port, got "localhost" (line 3)`,
    `${p}: listeners[0]: unknown key "adress" (line 4)`,
    `${p}: limits.max_packet: expected a size like 512KiB, 64MiB, 1GiB or a number of bytes (units are KiB, MiB, GiB, TiB), got "64MB" (line 5)`,
  ]);
});

test('check-config on a missing file exits 1', () => {
  const r = sluice('check-config', join(dir, 'nope.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope\.yaml: cannot read the file: ENOENT/);
});

test('bad usage exits 2 with the usage text', () => {
  for (const args of [['--bogus'], ['check-config'], ['frobnicate'], ['check-config', 'a', 'b']]) {
    const r = sluice(...args);
    assert.equal(r.code, 2, `sluice ${args.join(' ')}`);
    assert.match(r.stderr, /usage:/);
  }
});

test('running with an invalid --config exits 1 before starting anything', () => {
  const p = file('bad-run.yaml', 'shutdown_timeout: forever\n');
  const r = sluice('--config', p);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /shutdown_timeout: expected a duration like 500ms, 2s, 1m, 2h, got "forever" \(line 1\)/);
});
