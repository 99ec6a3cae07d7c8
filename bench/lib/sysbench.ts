// Runs Debian's sysbench (1.0.x) against 127.0.0.1:<port> and parses its report.
// Contract: bounded by --time plus a hard kill timeout; returns QPS, latency
// percentiles (p95/p99 from --histogram, sysbench's own --percentile=99 as a check)
// and the raw query count used for CPU-per-query; throws with sysbench's last lines.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST } from './proc.ts';

export interface DbCreds {
  user: string;
  password: string;
  db: string;
}

export interface SysbenchResult {
  queries: number;
  qps: number;
  tps: number;
  errors: number;
  seconds: number;
  latAvgMs: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export const TABLES = 4;

function baseArgs(port: number, creds: DbCreds, tableSize: number, ssl: boolean): string[] {
  return [
    `--mysql-host=${HOST}`,
    `--mysql-port=${port}`,
    `--mysql-user=${creds.user}`,
    `--mysql-password=${creds.password}`,
    `--mysql-db=${creds.db}`,
    `--mysql-ssl=${ssl ? 'on' : 'off'}`,
    `--tables=${TABLES}`,
    `--table-size=${tableSize}`,
  ];
}

/**
 * sysbench 1.0 with --mysql-ssl=on loads cacert.pem, client-cert.pem and client-key.pem
 * from its working directory: the runner points this at a directory holding them.
 */
let sslDir: string | undefined;
export function setSslDir(dir: string): void {
  sslDir = dir;
}

function exec(args: string[], hardTimeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('sysbench', args, { stdio: ['ignore', 'pipe', 'pipe'], ...(sslDir !== undefined ? { cwd: sslDir } : {}) });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    p.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const t = setTimeout(() => {
      if (p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
    }, hardTimeoutMs);
    p.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else {
        const tail = out.trim().split('\n').slice(-4).join(' | ');
        reject(new Error(`sysbench exit ${String(code)}: ${tail}`));
      }
    });
  });
}

export async function prepare(port: number, creds: DbCreds, tableSize: number): Promise<void> {
  await exec(['oltp_point_select', ...baseArgs(port, creds, tableSize, false), `--threads=${TABLES}`, 'prepare'], 300000);
}

function num(re: RegExp, s: string): number {
  const m = re.exec(s);
  return m?.[1] !== undefined ? Number(m[1]) : Number.NaN;
}

/** Percentile from sysbench's latency histogram ("value |*** count" lines). */
function histPercentile(hist: Array<[number, number]>, p: number): number {
  const total = hist.reduce((a, [, c]) => a + c, 0);
  if (total === 0) return Number.NaN;
  const want = total * p;
  let acc = 0;
  for (const [v, c] of hist) {
    acc += c;
    if (acc >= want) return v;
  }
  return hist[hist.length - 1]?.[0] ?? Number.NaN;
}

export function parseReport(out: string): SysbenchResult {
  const hist: Array<[number, number]> = [];
  for (const m of out.matchAll(/^\s*([\d.]+)\s+\|[*\s]*?(\d+)\s*$/gm)) {
    hist.push([Number(m[1]), Number(m[2])]);
  }
  const queries = num(/^\s*queries:\s+(\d+)/m, out);
  const r: SysbenchResult = {
    queries,
    qps: num(/^\s*queries:\s+\d+\s+\(([\d.]+) per sec/m, out),
    tps: num(/^\s*transactions:\s+\d+\s+\(([\d.]+) per sec/m, out),
    errors: num(/^\s*ignored errors:\s+(\d+)/m, out),
    seconds: num(/^\s*total time:\s+([\d.]+)s/m, out),
    latAvgMs: num(/^\s*avg:\s+([\d.]+)/m, out),
    p95Ms: histPercentile(hist, 0.95),
    p99Ms: num(/^\s*99th percentile:\s+([\d.]+)/m, out),
    maxMs: num(/^\s*max:\s+([\d.]+)/m, out),
  };
  if (!Number.isFinite(r.queries) || !Number.isFinite(r.qps)) {
    throw new Error(`unparsable sysbench report: ${out.trim().split('\n').slice(-4).join(' | ')}`);
  }
  if (!Number.isFinite(r.p99Ms)) r.p99Ms = histPercentile(hist, 0.99);
  return r;
}

export async function runWorkload(
  workload: 'oltp_point_select' | 'oltp_read_only',
  port: number,
  creds: DbCreds,
  opts: { threads: number; seconds: number; tableSize: number; ssl: boolean; rate?: number },
): Promise<SysbenchResult> {
  const out = await exec(
    [
      workload,
      ...baseArgs(port, creds, opts.tableSize, opts.ssl),
      `--threads=${opts.threads}`,
      `--time=${opts.seconds}`,
      '--events=0',
      '--percentile=99',
      '--histogram=on',
      '--db-ps-mode=auto',
      ...(opts.rate !== undefined ? [`--rate=${opts.rate}`] : []),
      'run',
    ],
    (opts.seconds + 30) * 1000,
  );
  return parseReport(out);
}

/**
 * One self-signed certificate for mariadbd and Sluice's listener; copies under the names
 * sysbench 1.0 loads from its working directory (it is its own CA and client cert).
 */
export function makeCert(dir: string): { cert: string; key: string } | null {
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server.key');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore', timeout: 20000 },
    );
    copyFileSync(cert, join(dir, 'cacert.pem'));
    copyFileSync(cert, join(dir, 'client-cert.pem'));
    copyFileSync(key, join(dir, 'client-key.pem'));
    setSslDir(dir);
    return { cert, key };
  } catch {
    return null;
  }
}
