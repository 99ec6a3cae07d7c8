// DigestStats: statement statistics in the manner of pt-query-digest, kept in bounded memory.
// Per digest: calls, total/max time, rows, errors, first/last seen — for at most `maxDigests` digests
// (when full, the digest with the least total time is evicted: the top by total time is what matters).
// Prometheus series exist only for the current top N digests (bounded cardinality; re-ranked every
// `rerankMs`), per user and per table/operation (each capped, overflow under the label "other").
import type { Registry } from 'prom-client';
import { HotCounter, HotHistogram, type HotCounterChild, type HotHistogramChild } from '../hot-metrics.ts';

export interface StatementSample {
  readonly digest: string;
  readonly hash: string;
  readonly user: string;
  readonly tables: ReadonlyArray<{ readonly schema: string | null; readonly table: string; readonly op: string }>;
  readonly durationNs: number;
  readonly rows: number;
  readonly error: boolean;
}

export interface DigestRow {
  hash: string;
  digest: string;
  calls: number;
  total_ms: number;
  avg_ms: number;
  max_ms: number;
  rows: number;
  errors: number;
  first_seen: string;
  last_seen: string;
}

interface Entry {
  hash: string;
  /** Label children, looked up once per digest. */
  series: { calls: HotCounterChild; time: HotHistogramChild } | null;
  digest: string;
  calls: number;
  totalNs: number;
  maxNs: number;
  rows: number;
  errors: number;
  first: number;
  last: number;
  /** dropped from the table (handles holding it look it up again) */
  evicted: boolean;
}

interface UserSeries {
  readonly calls: HotCounterChild;
  readonly time: HotHistogramChild;
}

/** See DigestStats.handle(). */
export interface DigestHandle {
  readonly hash: string;
  readonly digest: string;
  entry: Entry;
  readonly user: UserSeries;
  readonly tables: readonly HotCounterChild[];
}

export interface DigestStatsOptions {
  registry: Registry;
  /** digests remembered (default 5,000) */
  maxDigests?: number;
  /** digests with their own Prometheus series (default 50) */
  topN?: number;
  /** distinct users / tables with their own series before "other" (default 200 / 500) */
  maxUsers?: number;
  maxTables?: number;
  rerankMs?: number;
}

const NO_TABLES: readonly HotCounterChild[] = Object.freeze([]);

const BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

export class DigestStats {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #topN: number;
  #top = new Set<string>();
  readonly #digestCalls: HotCounter<'digest'>;
  readonly #digestTime: HotHistogram<'digest'>;
  readonly #userCalls: HotCounter<'user'>;
  readonly #userTime: HotHistogram<'user'>;
  readonly #tableOps: HotCounter<'schema' | 'table' | 'op'>;
  readonly #users = new Set<string>();
  readonly #tables = new Set<string>();
  readonly #maxUsers: number;
  readonly #maxTables: number;
  readonly #timer: NodeJS.Timeout;

  constructor(opts: DigestStatsOptions) {
    this.#max = opts.maxDigests ?? 5000;
    this.#topN = opts.topN ?? 50;
    this.#maxUsers = opts.maxUsers ?? 200;
    this.#maxTables = opts.maxTables ?? 500;
    // the registry is per process: a second instance (tests, reload) reuses the series
    const reg = opts.registry;
    const registers = [reg];
    const once = <T>(name: string, make: () => T): T => (reg.getSingleMetric(name) as T | undefined) ?? make();
    this.#digestCalls = once('sluice_digest_statements_total', () => new HotCounter({ name: 'sluice_digest_statements_total', help: 'Statements per digest (top N digests by total time; label = digest hash)', labelNames: ['digest'], registers }));
    this.#digestTime = once('sluice_digest_duration_seconds', () => new HotHistogram({ name: 'sluice_digest_duration_seconds', help: 'Statement latency per digest (top N digests by total time)', labelNames: ['digest'], buckets: BUCKETS, registers }));
    this.#userCalls = once('sluice_user_statements_total', () => new HotCounter({ name: 'sluice_user_statements_total', help: 'Statements per user', labelNames: ['user'], registers }));
    this.#userTime = once('sluice_user_statement_duration_seconds', () => new HotHistogram({ name: 'sluice_user_statement_duration_seconds', help: 'Statement latency per user', labelNames: ['user'], buckets: BUCKETS, registers }));
    this.#tableOps = once('sluice_table_operations_total', () => new HotCounter({ name: 'sluice_table_operations_total', help: 'Statements per table and operation', labelNames: ['schema', 'table', 'op'], registers }));
    this.#timer = setInterval(() => this.#rerank(), opts.rerankMs ?? 10_000);
    this.#timer.unref();
  }

  record(s: StatementSample): void {
    this.recordWith(this.handle(s.digest, s.hash, s.user, s.tables), s.durationNs, s.rows, s.error);
  }

  /** What record() looks up per statement (the digest's entry, the user's and the tables' series), looked
   * up once: for the statements of one prepared statement in one session. */
  handle(digest: string, hash: string, user: string, tables: StatementSample['tables']): DigestHandle {
    return { hash, digest, entry: this.#entry(hash, digest), user: this.#userSeries(user), tables: tables.length > 0 ? this.#tableSeries(tables) : NO_TABLES };
  }

  /** One statement; `at` is its wall-clock time (epoch ms). */
  recordWith(h: DigestHandle, durationNs: number, rows: number, error: boolean, at: number = Date.now()): void {
    let e = h.entry;
    if (e.evicted) e = h.entry = this.#entry(h.hash, h.digest);
    e.calls++;
    e.totalNs += durationNs;
    if (durationNs > e.maxNs) e.maxNs = durationNs;
    e.rows += rows;
    if (error) e.errors++;
    if (at > e.last) e.last = at;
    const seconds = durationNs / 1e9;
    if (this.#top.has(e.hash)) {
      e.series ??= { calls: this.#digestCalls.labels(e.hash), time: this.#digestTime.labels(e.hash) };
      e.series.calls.inc();
      e.series.time.observe(seconds);
    }
    h.user.calls.inc();
    h.user.time.observe(seconds);
    for (const child of h.tables) child.inc();
  }

  #entry(hash: string, digest: string): Entry {
    let e = this.#entries.get(hash);
    if (e === undefined) {
      if (this.#entries.size >= this.#max) this.#evict();
      const now = Date.now();
      e = { hash, series: null, digest, calls: 0, totalNs: 0, maxNs: 0, rows: 0, errors: 0, first: now, last: now, evicted: false };
      this.#entries.set(hash, e);
      if (this.#top.size < this.#topN) this.#top.add(hash);
    }
    return e;
  }

  /** Top digests by total time, like pt-query-digest's profile. */
  top(limit = 20): DigestRow[] {
    return [...this.#entries.values()]
      .sort((a, b) => b.totalNs - a.totalNs)
      .slice(0, limit)
      .map((e) => ({
        hash: e.hash,
        digest: e.digest,
        calls: e.calls,
        total_ms: ms(e.totalNs),
        avg_ms: ms(e.totalNs / e.calls),
        max_ms: ms(e.maxNs),
        rows: e.rows,
        errors: e.errors,
        first_seen: new Date(e.first).toISOString(),
        last_seen: new Date(e.last).toISOString(),
      }));
  }

  close(): void {
    clearInterval(this.#timer);
  }

  readonly #tableChildren = new Map<string, HotCounterChild>();
  /** Callers pass the same (frozen) tables array for every statement of a digest: resolve its series once. */
  readonly #tablesSeries = new WeakMap<StatementSample['tables'], HotCounterChild[]>();

  #tableSeries(tables: StatementSample['tables']): HotCounterChild[] {
    let children = this.#tablesSeries.get(tables);
    if (children === undefined) {
      children = tables.map((t) => this.#tableChild(t.schema ?? '', t.table, t.op));
      this.#tablesSeries.set(tables, children);
    }
    return children;
  }

  #tableChild(schema: string, table: string, op: string): HotCounterChild {
    const key = `${schema}.${table}.${op}`;
    let child = this.#tableChildren.get(key);
    if (child === undefined) {
      const capped = this.#capped(this.#tables, `${schema}.${table}`, this.#maxTables) === 'other';
      child = this.#tableOps.labels(capped ? 'other' : schema, capped ? 'other' : table, op);
      if (!capped) this.#tableChildren.set(key, child);
    }
    return child;
  }
  readonly #userChildren = new Map<string, UserSeries>();

  #userSeries(name: string): UserSeries {
    let c = this.#userChildren.get(name);
    if (c === undefined) {
      const user = this.#capped(this.#users, name, this.#maxUsers);
      c = this.#userChildren.get(user) ?? { calls: this.#userCalls.labels(user), time: this.#userTime.labels(user) };
      if (this.#userChildren.size < this.#maxUsers + 1) this.#userChildren.set(name, c);
    }
    return c;
  }

  #capped(seen: Set<string>, v: string, max: number): string {
    if (seen.has(v)) return v;
    if (seen.size >= max) return 'other';
    seen.add(v);
    return v;
  }

  #evict(): void {
    let victim: Entry | null = null;
    for (const e of this.#entries.values()) if (victim === null || e.totalNs < victim.totalNs) victim = e;
    if (victim === null) return;
    this.#entries.delete(victim.hash);
    victim.evicted = true;
    if (this.#top.delete(victim.hash)) this.#removeSeries(victim);
  }

  /** Re-ranks which digests own Prometheus series; series of digests that left the top N are removed. */
  #rerank(): void {
    const next = new Set(this.top(this.#topN).map((r) => r.hash));
    for (const h of this.#top) {
      const e = this.#entries.get(h);
      if (!next.has(h) && e !== undefined) this.#removeSeries(e);
    }
    this.#top = next;
  }

  #removeSeries(e: Entry): void {
    this.#digestCalls.remove(e.hash);
    this.#digestTime.remove(e.hash);
    e.series = null;
  }
}

function ms(ns: number): number {
  return Math.round(ns / 1000) / 1000;
}
