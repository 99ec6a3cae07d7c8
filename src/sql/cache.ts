// Bounded LRU of statement analyses keyed by digest, so the full parser (75–160 µs) runs once per distinct
// statement shape while every statement pays only the tokenizer + digest (a few µs).
// Keying by digest is sound because the digest replaces literals only: identifiers, structure and any list
// that is not literal-only are kept, so two statements with one digest touch the same tables with the same
// operations, and output lineage (which base column feeds which output) never depends on a literal value.
// Unaliased expression names are rendered with literals as `?` for the same reason.

import { tokenize } from './tokenizer.ts';
import { digestTokens, hash64 } from './digest.ts';
import { analyzeTokens } from './analyze.ts';
import type { Analysis } from './analyze.ts';

export interface CachedAnalysis {
  readonly digest: string;
  readonly hash: string;
  /** Deep-frozen and shared between all statements with this digest. */
  readonly analysis: Analysis;
  /** Whether the analysis came from the cache (the parser did not run). */
  readonly hit: boolean;
}

export interface AnalysisCacheOptions {
  /** Maximum number of digests kept; the least recently used is evicted. Default 10,000. */
  readonly maxEntries?: number;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const TEXT_CACHE_MAX = 1024;
const TEXT_CACHE_MAX_SQL = 4096;

export class AnalysisCache {
  readonly maxEntries: number;
  // Map iteration order is insertion order: re-inserting on hit makes the first key the LRU one
  readonly #entries = new Map<string, { digest: string; analysis: Analysis }>();
  /**
   * Exact statement text → result: prepared statements (COM_STMT_EXECUTE carries the prepared SQL) and
   * repeated texts skip even the tokenizer. Bounded; cleared wholesale when full (texts with literals
   * would otherwise churn it — they are served by the digest map above).
   */
  readonly #byText = new Map<string, CachedAnalysis>();
  #hits = 0;
  #misses = 0;

  constructor(opts: AnalysisCacheOptions = {}) {
    const max = opts.maxEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxEntries must be a positive integer, got ${max}`);
    this.maxEntries = max;
  }

  /** Digest `sql` (tokenizer only), then return the cached analysis or parse on a miss. Never throws. */
  analyzeCached(sql: string): CachedAnalysis {
    const known = this.#byText.get(sql);
    if (known !== undefined) {
      // the digest map stays the authority (its LRU order and bound): refresh it, or forget the text
      const entry = this.#entries.get(known.hash);
      if (entry !== undefined) {
        this.#entries.delete(known.hash);
        this.#entries.set(known.hash, entry);
        this.#hits++;
        return known;
      }
      this.#byText.delete(sql);
    }
    const r = this.#analyzeByDigest(sql);
    if (this.#byText.size >= TEXT_CACHE_MAX) this.#byText.clear();
    if (sql.length <= TEXT_CACHE_MAX_SQL) this.#byText.set(sql, r.hit ? r : { ...r, hit: true });
    return r;
  }

  #analyzeByDigest(sql: string): CachedAnalysis {
    // hot path: lex once, for both the digest and (on a miss) the analysis
    const tokens = tokenize(sql);
    const digest = digestTokens(tokens);
    const hash = hash64(digest);
    const entry = this.#entries.get(hash);
    // the text check makes a 64-bit hash collision a miss, never a wrong answer
    if (entry !== undefined && entry.digest === digest) {
      this.#entries.delete(hash);
      this.#entries.set(hash, entry);
      this.#hits++;
      return { digest, hash, analysis: entry.analysis, hit: true };
    }
    this.#misses++;
    const analysis = deepFreeze(analyzeTokens(sql, tokens));
    this.#entries.delete(hash);
    this.#entries.set(hash, { digest, analysis });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return { digest, hash, analysis, hit: false };
  }

  get size(): number {
    return this.#entries.size;
  }

  stats(): { size: number; hits: number; misses: number } {
    return { size: this.#entries.size, hits: this.#hits, misses: this.#misses };
  }

  clear(): void {
    this.#entries.clear();
    this.#byText.clear();
  }
}
