// Throwaway mariadbd servers for tests: one temp dir each (datadir, tmpdir, socket, pid, error log), a free
// 127.0.0.1 port, users made at install time via `mariadb-install-db --extra-file`; datadirs are copied from
// a per-machine template (~0.3 s per start; SLUICE_MARIADB_NO_TEMPLATE=1: bootstrap each time, ~0.7 s).
// Reaping: 'exit' SIGKILLs live process groups, and a detached shell watchdog holding a pipe to this
// process kills them and removes the dir when this process dies any other way (even SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, writeFile, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { runMariaDbCli } from './cli.ts';

export const MARIADBD = '/usr/sbin/mariadbd';
export const MARIADB_INSTALL_DB = '/usr/bin/mariadb-install-db';

export const USERS = {
  native: { user: 'nat', password: 'natpw' },
  ed25519: { user: 'ed', password: 'edpw' },
} as const;

/** USAGE + PROCESS only: for health checks. */
export const MONITOR_USER = { user: 'monitor', password: 'monitorpw' } as const;

export interface MariaDbOptions {
  tls?: { cert: string; key: string; ca?: string };
  requireSecureTransport?: boolean;
  extraArgs?: string[];
  /** create nat / ed / monitor (default true); database `testdb` and the ed25519 plugin always exist */
  users?: boolean;
  /** larger buffers and limits for benchmarks */
  tune?: boolean;
  /** readiness deadline, default 30 s */
  startTimeoutMs?: number;
}

export interface MariaDbServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly socket: string;
  readonly datadir: string;
  readonly pid: number;
  readonly version: string;
  /** runs statements as root over the unix socket (mariadb CLI, --batch -N); resolves stdout, rejects with stderr */
  sql(statement: string): Promise<string>;
  /** SIGTERM, wait, SIGKILL after a deadline; removes the temp dir unless `{ cleanup: false }`; idempotent */
  stop(opts?: { cleanup?: boolean }): Promise<void>;
  /** SIGKILL now; keeps the datadir (failover tests) */
  kill(): void;
  /** starts again on the same port and datadir after kill() or stop({ cleanup: false }) */
  restart(): Promise<void>;
}

const STOP_DEADLINE_MS = 20_000;
const POLL_MS = 25;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      killGroup(c);
    }
  });
}

/** Every child is spawned detached, i.e. leads its own process group (install-db forks mariadbd). */
function killGroup(c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, signal);
  } catch {
    // already gone
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: no address'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

function userSql(): string {
  const both = (u: string): string => `'${u}'@'%', '${u}'@'localhost'`;
  return [
    // bootstrap runs with grant tables off; FLUSH PRIVILEGES turns them on so CREATE USER works
    'FLUSH PRIVILEGES;',
    `CREATE USER 'nat'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('natpw');`,
    `CREATE USER 'nat'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('natpw');`,
    `CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('edpw');`,
    `CREATE USER 'ed'@'localhost' IDENTIFIED VIA ed25519 USING PASSWORD('edpw');`,
    `GRANT ALL ON *.* TO ${both('nat')}, ${both('ed')};`,
    `CREATE USER 'monitor'@'%' IDENTIFIED BY 'monitorpw';`,
    `CREATE USER 'monitor'@'localhost' IDENTIFIED BY 'monitorpw';`,
    `GRANT USAGE, PROCESS ON *.* TO ${both('monitor')};`,
  ].join('\n');
}

/** Runs a command in its own process group (so it can be reaped with its children), recorded in `<dir>/.pgids`. */
function runInGroup(dir: string, cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // no await between spawn and the listeners below: a fast child's 'close' must not be missed
  if (child.pid !== undefined) {
    live.add(child);
    installExitHook();
    appendFileSync(join(dir, '.pgids'), `${child.pid}\n`);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    const timer = setTimeout(() => killGroup(child), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code: code ?? 1, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

/** Server options that must be identical for install-db and mariadbd (InnoDB log size). */
function storageArgs(tune: boolean): string[] {
  return tune
    ? ['--innodb-log-file-size=256M', '--innodb-buffer-pool-size=1G']
    : ['--innodb-log-file-size=8M', '--innodb-buffer-pool-size=64M'];
}

function tailOf(log: string, lines = 25): string {
  return log === '' ? '(empty error log)' : log.split('\n').slice(-lines).join('\n');
}

/** Resolves the greeting's server version once the unix socket answers with a protocol-10 greeting. */
function probeGreeting(socketPath: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    let buf = Buffer.alloc(0);
    const done = (v: string | null): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(null));
    s.on('error', () => done(null));
    s.on('close', () => done(null));
    s.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      if (buf.length < 4) return;
      const len = buf.readUIntLE(0, 3);
      if (buf.length < 4 + len) return;
      if (buf[4] !== 0x0a) return done(null);
      const end = buf.indexOf(0, 5);
      done(buf.toString('latin1', 5, end < 0 ? 4 + len : end));
    });
  });
}

/**
 * A detached shell that outlives this process: `read` returns at EOF, i.e. when this process (the
 * only holder of the pipe's write end) is gone, however it died. It then SIGKILLs every process
 * group listed in `<dir>/.pgids` (install-db and its bootstrap mariadbd, the server), waits for
 * them to go and removes the dir. Killed by us on a normal stop().
 */
function startWatchdog(dir: string): ChildProcess {
  const script = [
    'read _x',
    'P=$(cat "$1/.pgids" 2>/dev/null)',
    'for p in $P; do kill -9 "-$p" 2>/dev/null; done',
    'n=0; for p in $P; do while kill -0 "-$p" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; done',
    'rm -rf "$1"',
  ].join('\n');
  const w = spawn('/bin/sh', ['-c', script, 'sluice-mariadb-watchdog', dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  w.unref();
  const stdin = w.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.unref?.();
  w.on('error', () => {});
  return w;
}

class Server implements MariaDbServer {
  readonly host = '127.0.0.1' as const;
  readonly socket: string;
  readonly datadir: string;
  readonly errorLog: string;
  version = '';
  port: number;
  #dir: string;
  #opts: MariaDbOptions;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #watchdog: ChildProcess;
  #stopping: Promise<void> | null = null;
  #removed = false;

  constructor(dir: string, port: number, opts: MariaDbOptions, watchdog: ChildProcess) {
    this.#dir = dir;
    this.#watchdog = watchdog;
    this.port = port;
    this.#opts = opts;
    this.datadir = join(dir, 'data');
    this.socket = join(dir, 'my.sock');
    this.errorLog = join(dir, 'error.log');
  }

  get pid(): number {
    return this.#child?.pid ?? -1;
  }

  get dir(): string {
    return this.#dir;
  }

  #args(): string[] {
    const o = this.#opts;
    const args = [
      '--no-defaults',
      `--datadir=${this.datadir}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socket}`,
      `--pid-file=${join(this.#dir, 'mariadbd.pid')}`,
      `--log-error=${this.errorLog}`,
      `--tmpdir=${join(this.#dir, 'tmp')}`,
      ...storageArgs(o.tune === true),
      '--max-allowed-packet=1G',
      '--local-infile=1',
      // a health probe or test that hangs up mid-handshake must never get 127.0.0.1 blocked
      '--max-connect-errors=1000000',
      // durable against SIGKILL of the process (what kill() tests), without an fsync per commit
      '--innodb-flush-log-at-trx-commit=2',
      '--skip-innodb-doublewrite',
    ];
    if (process.getuid?.() === 0) args.push('--user=root');
    if (o.tune === true) {
      args.push('--max-connections=4000', '--table-open-cache=4000', '--thread-cache-size=256', '--back-log=1024');
    }
    if (o.tls) {
      args.push(`--ssl-cert=${o.tls.cert}`, `--ssl-key=${o.tls.key}`);
      if (o.tls.ca !== undefined) args.push(`--ssl-ca=${o.tls.ca}`);
    }
    if (o.requireSecureTransport === true) args.push('--require-secure-transport=ON');
    args.push(...(o.extraArgs ?? []));
    return args;
  }

  /** Spawns mariadbd and waits until it greets on the unix socket or exits. */
  async launch(): Promise<void> {
    if (this.#removed) throw new Error('MariaDbServer: datadir was removed by stop(); cannot restart');
    const logStart = await stat(this.errorLog).then((st) => st.size, () => 0);
    const newLog = async (): Promise<string> =>
      (await readFile(this.errorLog).catch(() => Buffer.alloc(0))).subarray(logStart).toString('utf8');
    const child = spawn(MARIADBD, this.#args(), { stdio: 'ignore', detached: true });
    // no await before the 'exit' listener: a server that dies at once (bind error) must be seen
    let alive = true;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        alive = false;
        live.delete(child);
        resolve();
      });
    });
    if (child.pid === undefined) {
      await new Promise((r) => child.once('error', r));
      throw new Error(`cannot spawn ${MARIADBD}`);
    }
    installExitHook();
    live.add(child);
    appendFileSync(join(this.#dir, '.pgids'), `${child.pid}\n`);
    this.#child = child;
    this.#exited = exited;

    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 30_000);
    for (;;) {
      if (!alive) {
        const log = await newLog();
        throw new MariaDbStartError(`mariadbd exited during start-up (port ${this.port}):\n${tailOf(log)}`, log);
      }
      if (existsSync(this.socket)) {
        const v = await probeGreeting(this.socket);
        if (v !== null) {
          this.version = v.startsWith('5.5.5-') ? v.substring(6) : v;
          return;
        }
      }
      if (Date.now() > deadline) {
        killGroup(child);
        await this.#exited;
        throw new Error(`mariadbd not ready within deadline (port ${this.port}):\n${tailOf(await newLog())}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async sql(statement: string): Promise<string> {
    // root authenticates by unix_socket, i.e. as the OS user that installed the datadir
    const r = await runMariaDbCli(['--protocol=socket', `--socket=${this.socket}`, `-u${socketUser()}`, '--batch', '-N'], {
      input: statement,
      timeoutMs: 120_000,
    });
    if (r.code !== 0) throw new Error(r.stderr.trim() || `mariadb exited with ${r.code}`);
    return r.stdout;
  }

  kill(): void {
    this.#child?.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.#exited;
    await this.launch();
  }

  stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    const cleanup = opts.cleanup ?? true;
    if (this.#stopping) return this.#stopping.then(() => (cleanup ? this.#cleanup() : undefined));
    const p = (async () => {
      const child = this.#child;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
        await this.#exited;
        clearTimeout(timer);
      }
      await this.#exited;
      if (cleanup) await this.#cleanup();
    })();
    this.#stopping = p;
    // a later restart() starts a new life: allow stop() again
    return p.finally(() => {
      if (this.#stopping === p) this.#stopping = null;
    });
  }

  async #cleanup(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    this.#watchdog.kill('SIGKILL');
    await rm(this.#dir, { recursive: true, force: true });
  }
}

export class MariaDbStartError extends Error {
  readonly log: string;
  constructor(message: string, log: string) {
    super(message);
    this.name = 'MariaDbStartError';
    this.log = log;
  }
}

function socketUser(): string {
  return process.getuid?.() === 0 ? 'root' : userInfo().username;
}

function baseTmp(): string {
  // unix socket paths are limited to 107 bytes; a deep TMPDIR would break --socket
  const t = tmpdir();
  return t.length > 60 ? '/tmp' : t;
}

/** Runs mariadb-install-db into `<dir>/data` (users etc. from `--extra-file`); `dir` must have a `tmp/`. */
async function installDatadir(dir: string, opts: MariaDbOptions): Promise<void> {
  const extra = join(dir, 'init.sql');
  await writeFile(extra, initSql(opts));
  const installArgs = [
    '--no-defaults',
    '--auth-root-authentication-method=socket',
    `--datadir=${join(dir, 'data')}`,
    '--skip-test-db',
    `--extra-file=${extra}`,
    // own tmpdir: concurrent bootstraps sharing /tmp clash on their temporary table names
    `--tmpdir=${join(dir, 'tmp')}`,
    ...storageArgs(opts.tune === true),
  ];
  if (process.getuid?.() === 0) installArgs.push('--user=root');
  const inst = await runInGroup(dir, MARIADB_INSTALL_DB, installArgs, 120_000);
  if (inst.code !== 0) throw new Error(`mariadb-install-db failed (${inst.code}):\n${inst.output.slice(-4000)}`);
}

function initSql(opts: MariaDbOptions): string {
  return [`INSTALL SONAME 'auth_ed25519';`, 'CREATE DATABASE testdb;', opts.users === false ? '' : userSql()].join('\n');
}

/**
 * A freshly installed datadir is the same bytes every time, and bootstrapping costs ~0.5 s of CPU
 * per test file (several seconds when test files start servers concurrently). So the first start on
 * a machine installs into a shared template dir, published with an atomic rename (concurrent
 * builders: one wins, the others drop theirs); later starts copy it (~26 MB). Keyed by the server
 * binary and the install options. SLUICE_MARIADB_NO_TEMPLATE=1 turns it off.
 */
async function templateDatadir(opts: MariaDbOptions): Promise<string | null> {
  if (opts.tune === true || process.env['SLUICE_MARIADB_NO_TEMPLATE'] === '1') return null;
  const bin = await stat(MARIADBD);
  const key = createHash('sha256')
    .update(JSON.stringify([bin.size, bin.mtimeMs, storageArgs(false), initSql(opts), TEMPLATE_FORMAT]))
    .digest('hex')
    .substring(0, 16);
  const uid = process.getuid?.() ?? 0;
  const final = join(baseTmp(), `sluice-mdb-template-${uid}-${key}`);
  if (existsSync(join(final, 'ok'))) return join(final, 'data');
  const build = await mkdtemp(join(baseTmp(), 'sluice-mdb-tplbuild-'));
  const watchdog = startWatchdog(build);
  try {
    await mkdir(join(build, 'tmp'));
    await installDatadir(build, opts);
    await writeFile(join(build, 'ok'), new Date().toISOString());
    await rm(join(build, 'tmp'), { recursive: true, force: true });
    await rm(join(build, '.pgids'), { force: true });
    try {
      await rename(build, final);
    } catch {
      // another process published it first
    }
  } finally {
    watchdog.kill('SIGKILL');
    await rm(build, { recursive: true, force: true });
  }
  return existsSync(join(final, 'ok')) ? join(final, 'data') : null;
}

const TEMPLATE_FORMAT = 1;

export async function startMariaDb(opts: MariaDbOptions = {}): Promise<MariaDbServer> {
  const template = await templateDatadir(opts);
  const dir = await mkdtemp(join(baseTmp(), 'sluice-mdb-'));
  const watchdog = startWatchdog(dir);
  try {
    await mkdir(join(dir, 'tmp'));
    let fromTemplate = false;
    if (template !== null) {
      // cp(1) is several times faster than fs.cp for these few large files
      const r = await runInGroup(dir, '/bin/cp', ['-a', template, join(dir, 'data')], 60_000);
      if (r.code === 0) fromTemplate = true;
      else await rm(join(dir, 'data'), { recursive: true, force: true });
    }
    if (!fromTemplate) await installDatadir(dir, opts);

    // freePort() closes its probe socket before mariadbd binds, so a concurrent test may win the port:
    // retry with a fresh port when the bind fails.
    for (let attempt = 0; ; attempt++) {
      const server = new Server(dir, await freePort(), opts, watchdog);
      try {
        await server.launch();
        return server;
      } catch (e) {
        const bindFailed = e instanceof MariaDbStartError && /Address already in use|Can't start server: Bind/i.test(e.log);
        if (bindFailed && attempt < 4) continue;
        if (!fromTemplate) throw e;
        // a damaged template (e.g. a tmp cleaner removed files): drop it, install fresh, try again
        fromTemplate = false;
        await rm(dirname(template ?? dir), { recursive: true, force: true });
        await rm(join(dir, 'data'), { recursive: true, force: true });
        await installDatadir(dir, opts);
      }
    }
  } catch (e) {
    watchdog.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
