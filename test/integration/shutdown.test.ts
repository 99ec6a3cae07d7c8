// Signals on the real CLI (DESIGN §5.1): `node --import tsx src/cli.ts --config FILE` on a free port.
// SIGTERM drains (running statement completes, new connections refused, idle ones closed, exit 0 within
// shutdown_timeout); a statement longer than shutdown_timeout is cut and the process still exits; SIGHUP
// with a broken config file keeps serving and logs that the reload was rejected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { startMariaDb, freePort, USERS, type MariaDbServer } from '../harness/mariadb.ts';
import { RawClient } from '../harness/raw-client.ts';

const { user, password } = USERS.native;
const REPO = new URL('../../', import.meta.url).pathname;

let db: MariaDbServer;
let dir: string;
const children = new Set<ChildProcess>();
// the three CLIs start together: a cold `node --import tsx` start costs seconds on a busy machine
let clis: Record<'drain' | 'cut' | 'hup', Cli>;

before(async () => {
  db = await startMariaDb();
  dir = await mkdtemp(join(tmpdir(), 'sluice-shutdown-'));
  const [drain, cut, hup] = await Promise.all([startCli('drain', '5s'), startCli('cut', '500ms'), startCli('hup', '2s')]);
  clis = { drain, cut, hup };
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await db?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Cli {
  child: ChildProcess;
  port: number;
  file: string;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function yaml(port: number, shutdownTimeout: string): string {
  return [
    'listeners:',
    `  - { name: main, address: "127.0.0.1:${port}", tls: { mode: disabled } }`,
    'backends:',
    `  - { name: db1, address: "127.0.0.1:${db.port}", tls: { mode: disabled } }`,
    'routes:',
    '  - { name: default, backends: [db1] }',
    'audit: { sinks: [] }',
    'admin: { enabled: false }',
    `shutdown_timeout: ${shutdownTimeout}`,
    'log: { level: info }',
    '',
  ].join('\n');
}

async function startCli(name: string, shutdownTimeout: string): Promise<Cli> {
  const port = await freePort();
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml(port, shutdownTimeout));
  const env = { ...process.env };
  delete env['SLUICE_LOG_LEVEL'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', file], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, at: Date.now() });
    });
  });
  const cli: Cli = { child, port, file, log: () => out, exited };
  const deadline = Date.now() + 45_000;
  while (!/"msg":"listening"/.test(out)) {
    if (child.exitCode !== null) throw new Error(`sluice exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`sluice did not listen within 45 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return cli;
}

async function waitExit(cli: Cli, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
  let t: NodeJS.Timeout;
  return Promise.race([
    cli.exited.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`sluice did not exit within ${ms} ms; log:\n${cli.log()}`)), ms);
    }),
  ]);
}

const connect = (port: number) => mysql.createConnection({ host: '127.0.0.1', port, user, password, database: 'testdb' });

test('SIGTERM: the running statement completes, idle connections are closed, new ones refused, exit 0', async () => {
  const cli = clis.drain;
  const busy = await connect(cli.port);
  busy.on('error', () => {});
  const idle = await RawClient.open(cli.port);
  await idle.login(user, password, 'testdb');

  const running = busy.query<mysql.RowDataPacket[]>('SELECT SLEEP(1) AS s, 7 AS v');
  await new Promise((r) => setTimeout(r, 250));
  const t0 = Date.now();
  cli.child.kill('SIGTERM');

  // the idle connection is closed at once
  await idle.expectClose(2000);
  // new connections are refused (listener closed, or an ERR 1053 if one slipped in)
  await new Promise((r) => setTimeout(r, 100));
  await assert.rejects(connect(cli.port), (e: { code?: string; errno?: number }) => {
    assert.ok(e.code === 'ECONNREFUSED' || e.errno === 1053, `unexpected ${JSON.stringify(e)}`);
    return true;
  });
  // the statement completes with its result
  const [rows] = await running.catch((e: unknown) => { throw new Error(`${String(e)}\n${cli.log()}`); });
  assert.equal(rows[0]?.['s'], 0);
  assert.equal(rows[0]?.['v'], 7);

  const { code, at } = await waitExit(cli, 6000);
  assert.equal(code, 0, cli.log());
  assert.ok(at - t0 < 5000, `exit took ${at - t0} ms, more than shutdown_timeout`);
  assert.match(cli.log(), /"signal":"SIGTERM"/);
  busy.destroy();
});

test('SIGTERM with shutdown_timeout 500ms: a SELECT SLEEP(5) is cut and the process still exits', async () => {
  const cli = clis.cut;
  const c = await connect(cli.port);
  c.on('error', () => {});
  const running = c.query('SELECT SLEEP(5)');
  running.catch(() => {});
  await new Promise((r) => setTimeout(r, 250));
  const t0 = Date.now();
  cli.child.kill('SIGTERM');
  await assert.rejects(running);
  const { code, at } = await waitExit(cli, 6000);
  assert.equal(code, 0, cli.log());
  assert.ok(at - t0 < 3500, `exit took ${at - t0} ms: the statement was not cut at shutdown_timeout`);
  c.destroy();
});

test('SIGHUP with a broken config file keeps serving; the log says the reload was rejected', async () => {
  const cli = clis.hup;
  const before = await connect(cli.port);
  await writeFile(cli.file, 'listeners: 42\nno_such_key: true\n');
  cli.child.kill('SIGHUP');
  const deadline = Date.now() + 5000;
  while (!/reload rejected/.test(cli.log())) {
    assert.ok(Date.now() < deadline, `no "reload rejected" line:\n${cli.log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(cli.child.exitCode, null, 'the process must keep running');
  // the connection open before the reload and a new one both work
  const [a] = await before.query<mysql.RowDataPacket[]>('SELECT 1 AS one');
  assert.equal(a[0]?.['one'], 1);
  const after2 = await connect(cli.port);
  const [b] = await after2.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u');
  assert.match(String(b[0]?.['u']), /^nat@/);
  await before.end();
  await after2.end();
  cli.child.kill('SIGTERM');
  const { code } = await waitExit(cli, 4000);
  assert.equal(code, 0, cli.log());
});
