// `node --import tsx bench/ab.ts [--rounds N] [--time S] [--threads T] [--rate Q] [--workload W] [--prof DIR] [--per-thread] variant...`
// An interleaved A/B of paths or builds, for before/after figures: a variant is a path name
// (`sluice`, `sluice-audit`, `haproxy`…) optionally followed by `@/abs/checkout` (another build's root,
// with its own dist/), e.g. `sluice@/tmp/base sluice`. Each round runs every variant once, rotating
// which goes first. Prints per round QPS and CPU µs per query of the relay, of mariadbd and of the
// whole machine (/proc/stat), then the median of each variant's per-round ratio to the first.
// With --rate, sysbench runs at that fixed rate: QPS is then equal and CPU per query is the signal
// (the steadiest one on a noisy VM, docs/benchmarks.md § Noise). Never asserted; not part of `npm test`.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMariaDb, USERS } from '../test/harness/mariadb.ts';
import type { MariaDbServer } from '../test/harness/mariadb.ts';
import { CLK_TCK, cpuMicros, killAllSync, stopAll } from './lib/proc.ts';
import { ALL_PATHS, startPath } from './lib/paths.ts';
import type { PathName, StartedPath } from './lib/paths.ts';
import { makeCert, prepare, runWorkload } from './lib/sysbench.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Variant {
  label: string;
  path: PathName;
  root: string;
}

interface Sample {
  qps: number;
  /** sysbench's latency per transaction, ms */
  avgMs: number;
  p95Ms: number;
  relayUs: number | null;
  relayUserUs: number | null;
  /** relay minor page faults and context switches per query */
  relayFaults: number | null;
  relayCtx: number | null;
  dbUs: number;
  machineUs: number;
}

function arg(argv: string[], flag: string, dflt: string): string {
  const i = argv.indexOf(flag);
  if (i < 0) return dflt;
  const v = argv[i + 1] ?? dflt;
  argv.splice(i, 2);
  return v;
}

function parseVariant(s: string): Variant {
  const [path = '', root = ROOT] = s.split('@');
  if (!ALL_PATHS.includes(path as PathName)) throw new Error(`unknown path ${path}; known: ${ALL_PATHS.join(', ')}`);
  return { label: s, path: path as PathName, root };
}

/** user CPU time (µs) and minor page faults of one process (not its children) */
function procStat(pid: number): { userUs: number; minflt: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { userUs: (Number(f[11]) * 1e6) / CLK_TCK, minflt: Number(f[7]) };
}

/** CPU µs per thread name (`main`, and the helpers by name: V8's and libuv's threads) */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = t === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK);
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** context switches of every thread of a process */
function ctxSwitches(pid: number): number {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    n += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
  }
  return n;
}

/** Busy CPU time of the whole machine (all cores), µs. */
function machineBusyUs(): number {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return ((user + nice + system + irq + softirq + steal) * 1e6) / CLK_TCK;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rounds = Number(arg(argv, '--rounds', '4'));
  const seconds = Number(arg(argv, '--time', '10'));
  const threads = Number(arg(argv, '--threads', '8'));
  const rate = Number(arg(argv, '--rate', '0'));
  const workload = arg(argv, '--workload', 'oltp_point_select') as 'oltp_point_select' | 'oltp_read_only';
  // --prof DIR: Node relays write a V8 CPU profile there when they stop (<pid>.cpuprofile)
  const prof = arg(argv, '--prof', '');
  const perThread = argv.includes('--per-thread');
  if (perThread) argv.splice(argv.indexOf('--per-thread'), 1);
  if (prof !== '') {
    mkdirSync(prof, { recursive: true });
    process.env['SLUICE_CPU_PROF_DIR'] = prof;
    process.env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS'] ?? ''} --import ${join(ROOT, 'bench', 'lib', 'cpu-prof-hook.mjs')}`;
  }
  const variants = argv.map(parseVariant);
  if (variants.length === 0) throw new Error('name at least one variant, e.g. `sluice sluice-audit`');

  const tmp = mkdtempSync(join(tmpdir(), 'sluice-ab-'));
  let db: MariaDbServer | null = null;
  const live: { v: Variant; p: StartedPath }[] = [];
  try {
    // TLS paths need mariadbd with a certificate sysbench trusts
    const cert = variants.some((v) => v.path.endsWith('-tls')) ? makeCert(tmp) : null;
    db = await startMariaDb({ tune: true, ...(cert !== null ? { tls: { ...cert, ca: cert.cert } } : {}) });
    const creds = { user: USERS.native.user, password: USERS.native.password, db: 'testdb' };
    const tableSize = 10000;
    await prepare(db.port, creds, tableSize);
    for (const v of variants) {
      const p = await startPath(v.path, { db: { port: db.port, pid: db.pid, tls: cert !== null }, creds, tmp, root: v.root, maxConns: 200, cert });
      live.push({ v, p });
    }
    const samples = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < live.length; k++) {
        const { v, p } = live[(k + round) % live.length]!;
        const r0 = p.relayPid !== null ? cpuMicros(p.relayPid) : 0;
        const st0 = p.relayPid !== null ? procStat(p.relayPid) : null;
        const c0 = p.relayPid !== null ? ctxSwitches(p.relayPid) : 0;
        const th0 = perThread && p.relayPid !== null ? threadCpu(p.relayPid) : null;
        const d0 = cpuMicros(db.pid);
        const m0 = machineBusyUs();
        const r = await runWorkload(workload, p.port, creds, { threads, seconds, tableSize, ssl: p.ssl, ...(rate > 0 ? { rate } : {}) });
        const s: Sample = {
          qps: r.qps,
          avgMs: r.latAvgMs,
          p95Ms: r.p95Ms,
          relayUs: p.relayPid !== null ? (cpuMicros(p.relayPid) - r0) / r.queries : null,
          relayUserUs: p.relayPid !== null && st0 !== null ? (procStat(p.relayPid).userUs - st0.userUs) / r.queries : null,
          relayFaults: p.relayPid !== null && st0 !== null ? (procStat(p.relayPid).minflt - st0.minflt) / r.queries : null,
          relayCtx: p.relayPid !== null ? (ctxSwitches(p.relayPid) - c0) / r.queries : null,
          dbUs: (cpuMicros(db.pid) - d0) / r.queries,
          machineUs: (machineBusyUs() - m0) / r.queries,
        };
        samples.get(v.label)!.push(s);
        if (th0 !== null && p.relayPid !== null) {
          const th1 = threadCpu(p.relayPid);
          console.log('   threads: ' + [...th1].map(([n, us]) => `${n} ${((us - (th0.get(n) ?? 0)) / r.queries).toFixed(2)}`).join(', ') + ' µs/q');
        }
        console.log(
          `r${round} ${v.label}${p.relayPid !== null ? ` (pid ${p.relayPid})` : ''}`.padEnd(40) + ` ${Math.round(s.qps).toString().padStart(7)} qps  avg ${s.avgMs.toFixed(3)} p95 ${s.p95Ms.toFixed(3)} ms  relay ${s.relayUs?.toFixed(1) ?? '-'} (user ${s.relayUserUs?.toFixed(1) ?? '-'}, ${s.relayFaults?.toFixed(2) ?? '-'} faults, ${s.relayCtx?.toFixed(2) ?? '-'} cs)  ` +
            `db ${s.dbUs.toFixed(1)}  machine ${s.machineUs.toFixed(1)} µs/q`,
        );
      }
    }
    const base = samples.get(variants[0]!.label)!;
    console.log(`\n${workload} ${threads}t${rate > 0 ? ` at ${rate} q/s` : ''}, ${rounds} × ${seconds} s; medians, ratio = per-round QPS over ${variants[0]!.label}'s`);
    for (const v of variants) {
      const ss = samples.get(v.label)!;
      const relay = ss.map((s) => s.relayUs).filter((x): x is number => x !== null);
      const user = ss.map((s) => s.relayUserUs).filter((x): x is number => x !== null);
      console.log(
        `${v.label.padEnd(28)} ${Math.round(median(ss.map((s) => s.qps))).toString().padStart(7)} qps  ratio ${median(ss.map((s, i) => s.qps / base[i]!.qps)).toFixed(3)}  ` +
          `avg ${median(ss.map((s) => s.avgMs)).toFixed(3)} p95 ${median(ss.map((s) => s.p95Ms)).toFixed(3)} ms  ` +
          `relay ${relay.length > 0 ? `${median(relay).toFixed(1)} (user ${median(user).toFixed(1)})` : '-'}  db ${median(ss.map((s) => s.dbUs)).toFixed(1)}  machine ${median(ss.map((s) => s.machineUs)).toFixed(1)} µs/q`,
      );
    }
  } finally {
    for (const { p } of live) await p.stop().catch(() => undefined);
    await stopAll();
    await db?.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.on('exit', killAllSync);
main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
