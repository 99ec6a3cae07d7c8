// Aggregates the runs (median QPS/latency over rounds, CPU = Σcpu ÷ Σqueries), computes the budget
// ratios of issue 7 (a QPS ratio divides the two paths' runs of each round, then takes the median over
// rounds, with the lowest and highest as its spread), and renders the Markdown section and a hand-written
// SVG chart. Contract: pure functions of the result object; a missing path gives "n/a",
// never a thrown error; nothing here compares a number to fail the run.
import type { ConnResult, StreamResult } from './scenarios.ts';
import type { MicroRow } from './micro.ts';

export interface RunRow {
  round: number;
  path: string;
  workload: string;
  threads: number;
  qps: number;
  tps: number;
  queries: number;
  errors: number;
  seconds: number;
  p95Ms: number;
  p99Ms: number;
  relayCpuUs: number | null;
  serverCpuUs: number;
  relayRssKiB: number | null;
  relayPeakRssKiB: number | null;
  error?: string;
}

export interface SummaryRow {
  path: string;
  workload: string;
  threads: number;
  rounds: number;
  qps: number;
  p95Ms: number;
  p99Ms: number;
  /** relay CPU µs per query (null: no relay process, i.e. direct) */
  cpuUsPerQuery: number | null;
  serverCpuUsPerQuery: number;
  relayPeakRssKiB: number | null;
}

/** A paired ratio's lowest and highest per-round value, over `n` rounds. */
export interface Spread {
  lo: number;
  hi: number;
  n: number;
}

export interface Ratio {
  name: string;
  value: number | null;
  /** QPS ratios: the per-round ratios' range (null: one round, or not a QPS ratio) */
  spread: Spread | null;
  target: string;
  ok: boolean | null;
}

export interface Results {
  date: string;
  sha: string;
  /** 'quick' or 'full', plus what a partial run left out */
  mode: string;
  machine: Record<string, string | number>;
  settings: Record<string, string | number | boolean | string[] | number[]>;
  unavailable: Record<string, string>;
  runs: RunRow[];
  summary: SummaryRow[];
  stream: StreamResult[];
  streamNote: string;
  conns: ConnResult[];
  connsNote: string;
  micro: MicroRow[];
  ratios: Ratio[];
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function summarize(runs: readonly RunRow[]): SummaryRow[] {
  const groups = new Map<string, RunRow[]>();
  for (const r of runs) {
    if (r.error !== undefined) continue;
    const k = `${r.workload}|${r.threads}|${r.path}`;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  const out: SummaryRow[] = [];
  for (const g of groups.values()) {
    const f = g[0] as RunRow;
    const q = g.reduce((a, r) => a + r.queries, 0);
    const relay = g.every((r) => r.relayCpuUs !== null) ? g.reduce((a, r) => a + (r.relayCpuUs ?? 0), 0) : null;
    const server = g.reduce((a, r) => a + r.serverCpuUs, 0);
    const peaks = g.map((r) => r.relayPeakRssKiB).filter((x): x is number => x !== null);
    out.push({
      path: f.path,
      workload: f.workload,
      threads: f.threads,
      rounds: g.length,
      qps: median(g.map((r) => r.qps)),
      p95Ms: median(g.map((r) => r.p95Ms)),
      p99Ms: median(g.map((r) => r.p99Ms)),
      cpuUsPerQuery: relay !== null && q > 0 ? relay / q : null,
      serverCpuUsPerQuery: q > 0 ? server / q : Number.NaN,
      relayPeakRssKiB: peaks.length > 0 ? Math.max(...peaks) : null,
    });
  }
  return out;
}

function find(s: readonly SummaryRow[], path: string, wl: string, th: number): SummaryRow | undefined {
  return s.find((r) => r.path === path && r.workload === wl && r.threads === th);
}

/**
 * QPS of `a` over QPS of `b` for one workload and thread count, per round (the two runs of a round are
 * minutes apart at most, while this VM's speed drifts more than the ratios we look for between rounds),
 * then the median over the rounds both ran in; null when there is none.
 */
export function pairedQpsRatio(runs: readonly RunRow[], a: string, b: string, wl: string, th: number): { value: number; spread: Spread | null } | null {
  const qpsByRound = (p: string): Map<number, number> => {
    const m = new Map<number, number>();
    for (const r of runs) if (r.path === p && r.workload === wl && r.threads === th && r.error === undefined && Number.isFinite(r.qps)) m.set(r.round, r.qps);
    return m;
  };
  const qa = qpsByRound(a);
  const qb = qpsByRound(b);
  const per: number[] = [];
  for (const [round, x] of qa) {
    const y = ratio(x, qb.get(round));
    if (y !== null) per.push(y);
  }
  if (per.length === 0) return null;
  return { value: median(per), spread: per.length > 1 ? { lo: Math.min(...per), hi: Math.max(...per), n: per.length } : null };
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return null;
  }
  return a / b;
}

export function ratios(runs: readonly RunRow[], stream: readonly StreamResult[], conns: readonly ConnResult[]): Ratio[] {
  const s = summarize(runs);
  const PS = 'oltp_point_select';
  const RO = 'oltp_read_only';
  const cpu = (p: string, wl: string, th: number): number | null | undefined => find(s, p, wl, th)?.cpuUsPerQuery;
  const out: Ratio[] = [];
  const add = (name: string, value: number | null, target: string, cmp?: (v: number) => boolean, spread: Spread | null = null): void => {
    out.push({ name, value, spread, target, ok: value === null || cmp === undefined ? null : cmp(value) });
  };
  const addQps = (name: string, a: string, b: string, wl: string, th: number, target: string, cmp?: (v: number) => boolean): void => {
    const r = pairedQpsRatio(runs, a, b, wl, th);
    add(name, r?.value ?? null, target, cmp, r?.spread ?? null);
  };
  addQps('naive/haproxy QPS, point_select 8t', 'naive', 'haproxy', PS, 8, 'ref ≈ 0.82');
  addQps('naive/haproxy QPS, point_select 32t', 'naive', 'haproxy', PS, 32, 'ref ≈ 0.66');
  add('naive/haproxy CPU/query, point_select 8t', ratio(cpu('naive', PS, 8), cpu('haproxy', PS, 8)), 'ref ≈ 1.0');
  addQps('node-floor/haproxy QPS, point_select 8t', 'node-floor', 'haproxy', PS, 8, 'the JS ceiling');
  addQps('sluice/haproxy QPS, point_select 8t', 'sluice', 'haproxy', PS, 8, '≥ 0.9', (v) => v >= 0.9);
  addQps('sluice/node-floor QPS, point_select 8t', 'sluice', 'node-floor', PS, 8, 'report');
  addQps('sluice/haproxy QPS, point_select 32t', 'sluice', 'haproxy', PS, 32, '≥ 0.8', (v) => v >= 0.8);
  add('sluice/naive CPU/query, point_select 8t', ratio(cpu('sluice', PS, 8), cpu('naive', PS, 8)), '≤ 1.2', (v) => v <= 1.2);
  addQps('sluice/haproxy QPS, read_only 8t', 'sluice', 'haproxy', RO, 8, 'report');
  addQps('sluice-audit/sluice QPS, point_select 8t', 'sluice-audit', 'sluice', PS, 8, '≥ 0.95', (v) => v >= 0.95);
  // the audit's cost in relay CPU: steadier than the QPS ratio on a noisy machine (docs/benchmarks.md § Noise)
  const auditCpu = cpu('sluice-audit', PS, 8);
  const plainCpu = cpu('sluice', PS, 8);
  add('sluice-audit − sluice relay CPU µs/query, point_select 8t', auditCpu == null || plainCpu == null ? null : auditCpu - plainCpu, 'report');
  addQps('sluice-mask-none/sluice QPS, point_select 8t', 'sluice-mask-none', 'sluice', PS, 8, '≥ 0.97', (v) => v >= 0.97);
  addQps('sluice-mask-all/sluice QPS, point_select 8t', 'sluice-mask-all', 'sluice', PS, 8, 'report');
  addQps('sluice-tls/sluice QPS, point_select 8t', 'sluice-tls', 'sluice', PS, 8, '≥ 0.7', (v) => v >= 0.7);
  addQps('sluice-tls/direct-tls QPS, point_select 8t', 'sluice-tls', 'direct-tls', PS, 8, 'report');
  addQps('direct-tls/direct QPS, point_select 8t', 'direct-tls', 'direct', PS, 8, 'ref: TLS without a relay');
  const st = (p: string): StreamResult | undefined => stream.find((x) => x.path === p && x.error === undefined);
  add('stream sluice/haproxy MB/s', ratio(st('sluice')?.mbPerSec, st('haproxy')?.mbPerSec), '≥ 0.8', (v) => v >= 0.8);
  const peak = st('sluice')?.relayPeakRssKiB;
  add('stream sluice peak RSS (MiB)', peak === undefined || peak === null ? null : peak / 1024, '< 100 (1 GiB result)', (v) => v < 100);
  const cn = (p: string): ConnResult | undefined => conns.find((x) => x.path === p && x.held > 0);
  add('idle sluice KiB/conn', cn('sluice')?.rssPerConnKiB ?? null, '< 16', (v) => v < 16);
  add('idle sluice-tls KiB/conn', cn('sluice-tls')?.rssPerConnKiB ?? null, '< 64', (v) => v < 64);
  add('idle haproxy KiB/conn', cn('haproxy')?.rssPerConnKiB ?? null, 'ref');
  // direct paths hold no idle connections (nothing to measure RSS of), but their handshakes count
  const hs = (p: string): number | undefined => conns.find((x) => x.path === p && x.handshakes > 0)?.handshakesPerSec;
  add('handshakes/s sluice/haproxy', ratio(hs('sluice'), hs('haproxy')), 'report');
  add('handshakes/s sluice-tls/direct-tls', ratio(hs('sluice-tls'), hs('direct-tls')), 'report');
  return out;
}

const f0 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const f1 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(1));
const f2 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));

/** `[0.81–0.93, 6 rounds]`, or '' */
function spreadText(s: Spread | null): string {
  return s === null ? '' : `[${f2(s.lo)}–${f2(s.hi)}, ${String(s.n)} rounds]`;
}

export function printRatios(r: readonly Ratio[]): string {
  return r
    .map((x) => `  ${x.name.padEnd(46)} ${f2(x.value).padStart(8)} ${spreadText(x.spread).padEnd(22)} target ${x.target}${x.ok === null ? '' : x.ok ? '  (met)' : '  (MISSED)'}`)
    .join('\n');
}

export function markdown(res: Results, files: { json: string; svg: string }): string {
  const m = res.machine;
  const L: string[] = [];
  L.push(`## ${res.date} \`${res.sha}\` — ${res.mode}`, '');
  L.push(
    `Machine: ${String(m.cores)} × ${String(m.cpuModel)}, kernel ${String(m.kernel)}, Node ${String(m.node)}, ` +
      `MariaDB ${String(m.mariadb)}, ${String(m.haproxy)}, ${String(m.sysbench)}. ` +
      `Settings: ${String(res.settings.seconds)} s per run, ${String(res.settings.rounds)} round(s)${Number(res.settings.budgetRounds ?? 0) > 0 ? ` (+ ${String(res.settings.budgetRounds)} of point_select at 8 threads)` : ''}, ` +
      `${String(res.settings.tables)}×${String(res.settings.tableSize)} rows. Raw: \`${files.json}\`, chart: \`${files.svg}\`.`,
    '',
  );
  // a partial run (`--rounds 0`, `--no-stream`, `--no-conns`) shows only the sections it measured
  const failed = res.runs.filter((r) => r.error !== undefined);
  if (res.summary.length + failed.length > 0) {
    L.push('| workload | threads | path | QPS | p95 ms | p99 ms | relay CPU µs/q | server CPU µs/q | relay peak RSS MiB |');
    L.push('|---|---:|---|---:|---:|---:|---:|---:|---:|');
    for (const r of res.summary) {
      L.push(
        `| ${r.workload} | ${r.threads} | ${r.path} | ${f0(r.qps)} | ${f2(r.p95Ms)} | ${f2(r.p99Ms)} | ${f1(r.cpuUsPerQuery)} | ` +
          `${f1(r.serverCpuUsPerQuery)} | ${r.relayPeakRssKiB === null ? 'n/a' : f1(r.relayPeakRssKiB / 1024)} |`,
      );
    }
    for (const r of failed) L.push(`| ${r.workload} | ${r.threads} | ${r.path} | failed: ${r.error ?? ''} | | | | | |`);
    L.push('');
  }
  if (Object.keys(res.unavailable).length > 0) {
    L.push('Not available yet:', '');
    for (const [p, why] of Object.entries(res.unavailable)) L.push(`- ${p}: ${why.replace(/^not available yet: /, '')}`);
    L.push('');
  }
  if (res.stream.length > 0) {
    L.push(`Streaming (${res.streamNote}):`, '', '| path | MB | s | MB/s | relay RSS before → peak MiB |', '|---|---:|---:|---:|---:|');
    for (const s of res.stream) {
      L.push(
        s.error !== undefined
          ? `| ${s.path} | failed: ${s.error} | | | |`
          : `| ${s.path} | ${f0(s.bytes / 1e6)} | ${f2(s.seconds)} | ${f0(s.mbPerSec)} | ` +
              `${s.relayBaseRssKiB === null ? 'n/a' : f1(s.relayBaseRssKiB / 1024)} → ${s.relayPeakRssKiB === null ? 'n/a' : f1(s.relayPeakRssKiB / 1024)} |`,
      );
    }
    L.push('');
  }
  if (res.conns.length > 0) {
    L.push(`Connections (${res.connsNote}):`, '', '| path | held / wanted | KiB per idle conn | handshakes/s | note |', '|---|---:|---:|---:|---|');
    for (const c of res.conns) {
      L.push(`| ${c.path} | ${c.held} / ${c.wanted} | ${f1(c.rssPerConnKiB)} | ${f0(c.handshakesPerSec)} | ${c.error ?? ''} |`);
    }
    L.push('');
  }
  if (res.micro.length > 0) {
    L.push('Micro (tinybench, against dist/):', '', '| task | ops/s | mean ns | p99 ns | note |', '|---|---:|---:|---:|---|');
    for (const r of res.micro) L.push(`| ${r.suite}: ${r.task} | ${f0(r.opsPerSec)} | ${f0(r.meanNs)} | ${f0(r.p99Ns)} | ${r.note ?? ''} |`);
    L.push('');
  }
  if (res.ratios.length > 0) {
    L.push('Budget ratios (same run; a QPS ratio is the median of per-round ratios, with their range):', '', '| ratio | value | range | target |', '|---|---:|---|---|');
    for (const r of res.ratios) L.push(`| ${r.name} | ${f2(r.value)} | ${spreadText(r.spread)} | ${r.target}${r.ok === null ? '' : r.ok ? ' ✓' : ' ✗'} |`);
    L.push('');
  }
  return L.join('\n') + '\n';
}

const COLORS: Record<string, string> = {
  direct: '#7f7f7f',
  'direct-tls': '#bcbcbc',
  haproxy: '#1f77b4',
  naive: '#ff7f0e',
  'node-floor': '#e377c2',
  sluice: '#2ca02c',
  'sluice-tls': '#98df8a',
  'sluice-audit': '#d62728',
  'sluice-mask-none': '#9467bd',
  'sluice-mask-all': '#8c564b',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Two grouped bar panels: QPS and relay CPU µs/query, one group per workload×threads. */
export function svg(res: Results): string {
  const groups = [...new Set(res.summary.map((r) => `${r.workload}|${r.threads}`))];
  const paths = [...new Set(res.summary.map((r) => r.path))];
  const barW = 14;
  const gap = 26;
  const groupW = paths.length * barW + gap;
  const left = 70;
  const W = Math.max(520, left + groups.length * groupW + 160);
  const panelH = 200;
  const top1 = 40;
  const top2 = top1 + panelH + 70;
  const H = top2 + panelH + 60;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14">Sluice bench ${esc(res.date)} ${esc(res.sha)} (${res.mode})</text>`,
  );
  const panel = (top: number, title: string, val: (r: SummaryRow) => number | null): void => {
    const vals = res.summary.map(val).filter((v): v is number => v !== null && Number.isFinite(v));
    const max = vals.length > 0 ? Math.max(...vals) * 1.1 : 1;
    o.push(`<text x="${left}" y="${top - 8}" font-size="12">${esc(title)}</text>`);
    o.push(`<line x1="${left}" y1="${top + panelH}" x2="${left + groups.length * groupW}" y2="${top + panelH}" stroke="#000"/>`);
    o.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + panelH}" stroke="#000"/>`);
    for (let t = 0; t <= 4; t++) {
      const y = top + panelH - (panelH * t) / 4;
      const v = (max * t) / 4;
      o.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end">${v >= 100 ? Math.round(v) : v.toFixed(1)}</text>`);
      o.push(`<line x1="${left}" y1="${y}" x2="${left + groups.length * groupW}" y2="${y}" stroke="#eee"/>`);
    }
    groups.forEach((g, gi) => {
      const [wl, th] = g.split('|');
      const gx = left + gi * groupW + gap / 2;
      paths.forEach((p, pi) => {
        const r = res.summary.find((x) => x.path === p && `${x.workload}|${x.threads}` === g);
        const v = r ? val(r) : null;
        if (v === null || !Number.isFinite(v)) return;
        const h = (panelH * v) / max;
        const x = gx + pi * barW;
        o.push(
          `<rect x="${x}" y="${(top + panelH - h).toFixed(1)}" width="${barW - 2}" height="${h.toFixed(1)}" fill="${COLORS[p] ?? '#333'}">` +
            `<title>${esc(p)} ${esc(g)}: ${v.toFixed(1)}</title></rect>`,
        );
      });
      o.push(
        `<text x="${gx + (paths.length * barW) / 2}" y="${top + panelH + 14}" text-anchor="middle">${esc((wl ?? '').replace('oltp_', ''))} ${esc(th ?? '')}t</text>`,
      );
    });
  };
  panel(top1, 'QPS (median of rounds)', (r) => r.qps);
  panel(top2, 'relay CPU µs per query (direct: none)', (r) => r.cpuUsPerQuery);
  const lx = left + groups.length * groupW + 20;
  paths.forEach((p, i) => {
    o.push(`<rect x="${lx}" y="${top1 + i * 16}" width="10" height="10" fill="${COLORS[p] ?? '#333'}"/>`);
    o.push(`<text x="${lx + 14}" y="${top1 + i * 16 + 9}">${esc(p)}</text>`);
  });
  o.push('</svg>', '');
  return o.join('\n');
}
