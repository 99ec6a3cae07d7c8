// Process plumbing for the benchmarks: spawn children whose PID we know, wait for a
// port, read CPU ticks and memory from /proc, find free ports, stop by PID.
// Contract: every child spawned here is registered and killed by stopAll() (the
// runner calls it in `finally`); only 127.0.0.1 is ever dialled; every wait is bounded.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST = '127.0.0.1';

/** clock ticks per second of /proc's CPU times */
export const CLK_TCK = ((): number => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Last lines of stdout+stderr, for "not available yet: <reason>". */
  tail(): string;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
}

const children = new Set<Child>();

/**
 * Spawn `cmd args` through `sh -c 'ulimit -n N; exec "$@"'` so the file limit is raised
 * and the PID we hold is the program's own (exec keeps it).
 */
export function spawnChild(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { nofile?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Child {
  const nofile = opts.nofile ?? 65536;
  const script = `ulimit -n ${nofile} 2>/dev/null || ulimit -n $(ulimit -Hn) 2>/dev/null; exec "$@"`;
  const proc = spawn('sh', ['-c', script, 'sh', cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  if (proc.pid === undefined) throw new Error(`${name}: spawn failed`);
  const lines: string[] = [];
  const keep = (b: Buffer): void => {
    for (const l of b.toString('utf8').split('\n')) {
      if (l.trim() === '' || /^\s+at /.test(l)) continue; // keep messages, drop stack frames
      lines.push(l);
      if (lines.length > 20) lines.shift();
    }
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  // SLUICE_BENCH_CHILD_LOG=dir: every child's whole output also goes to dir/<name>-<pid>.log (debugging)
  const logDir = process.env['SLUICE_BENCH_CHILD_LOG'];
  if (logDir !== undefined && logDir !== '') {
    const log = createWriteStream(join(logDir, `${name}-${proc.pid}.log`));
    proc.stdout?.pipe(log);
    proc.stderr?.on('data', (b: Buffer) => log.write(b));
  }
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  proc.on('exit', (code, signal) => {
    exit = { code, signal };
  });
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    tail: () => lines.slice(-6).join(' | '),
    exited: () => exit,
  };
  children.add(child);
  return child;
}

export async function stopChild(c: Child, graceMs = 3000): Promise<void> {
  children.delete(c);
  if (c.exited() !== null) return;
  const gone = new Promise<void>((resolve) => c.proc.once('exit', () => resolve()));
  try {
    process.kill(c.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([gone.then(() => 'gone' as const), t])) === 'timeout') {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await Promise.race([gone, sleep(1000)]);
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)));
}

/** Synchronous last resort for process 'exit': SIGKILL every registered child by PID. */
export function killAllSync(): void {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  children.clear();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/** Wait until `port` accepts; fail early when the child exits. */
export async function waitPort(port: number, child: Child | null, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ex = child?.exited();
    if (ex) throw new Error(`exited (code ${String(ex.code)}${ex.signal ? ` ${ex.signal}` : ''}): ${child?.tail() ?? ''}`);
    if (await tryConnect(port)) return;
    if (Date.now() > until) throw new Error(`port ${port} not listening after ${timeoutMs} ms: ${child?.tail() ?? ''}`);
    await sleep(100);
  }
}

function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/)) {
          if (c !== '') out.push(Number(c));
        }
      } catch {
        /* task gone */
      }
    }
  }
  return out;
}

/** utime+stime of `pid` and its live descendants, in microseconds. */
export function cpuMicros(pid: number): number {
  let ticks = 0;
  for (const p of descendants(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // fields after "(comm)": state is field 3; utime 14, stime 15 (1-based)
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      /* gone */
    }
  }
  return (ticks * 1e6) / CLK_TCK;
}

export interface Mem {
  rssKiB: number;
  hwmKiB: number;
}

/** VmRSS and VmHWM of `pid` plus live descendants (KiB). */
export function memKiB(pid: number): Mem {
  let rssKiB = 0;
  let hwmKiB = 0;
  for (const p of descendants(pid)) {
    try {
      const st = readFileSync(`/proc/${p}/status`, 'utf8');
      rssKiB += Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0);
      hwmKiB += Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return { rssKiB, hwmKiB };
}

/** Samples RSS every `everyMs` until stopped; returns the peak seen (KiB). */
export function rssSampler(pid: number, everyMs = 50): { stop(): number } {
  let peak = memKiB(pid).rssKiB;
  const t = setInterval(() => {
    const r = memKiB(pid).rssKiB;
    if (r > peak) peak = r;
  }, everyMs);
  return {
    stop(): number {
      clearInterval(t);
      const r = memKiB(pid).rssKiB;
      return r > peak ? r : peak;
    },
  };
}

export function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 }).trim();
  } catch (e) {
    return e instanceof Error ? `unavailable (${e.message.split('\n')[0] ?? ''})` : 'unavailable';
  }
}
