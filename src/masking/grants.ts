// Masking exemptions: `exempt_users` from config (every rule) plus time-limited grants created through
// the admin API. Grants live in one small JSON file written atomically (temp file + fsync + rename,
// then fsync of the directory), loaded at start with expired grants dropped. Expiry is by time, checked
// at each statement via `exemptRules(user, now)`: no timer. Emits 'change' after every create/revoke.
// Kept behind this one class so a multi-worker future can swap the storage (DESIGN §4 seams).

import { EventEmitter } from 'node:events';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';

export interface Grant {
  readonly id: string;
  readonly user: string;
  /** Rule names, or `*` for every rule. */
  readonly rules: readonly string[];
  /** ISO time the grant stops applying. */
  readonly expires_at: string;
  readonly reason: string;
  readonly created_by: string;
  readonly created_at: string;
}

export interface GrantInput {
  readonly user: string;
  readonly rules: readonly string[];
  readonly ttl_ms: number;
  readonly reason: string;
  readonly created_by: string;
}

export interface GrantStoreOptions {
  /** The JSON file; null keeps grants in memory only (tests, no persistence configured). */
  readonly file: string | null;
  /** `masking.exempt_users`: exempt from every rule. */
  readonly exemptUsers?: readonly string[];
  /** Known rule names: `create` rejects others. Absent: any name is accepted. */
  readonly ruleNames?: readonly string[];
  /** Clock (ms since epoch), injectable for tests. */
  readonly now?: () => number;
}

export class GrantError extends Error {
  readonly code: 'bad_grant' | 'not_found';
  constructor(code: 'bad_grant' | 'not_found', message: string) {
    super(message);
    this.name = 'GrantError';
    this.code = code;
  }
}

const ALL: ReadonlySet<string> = Object.freeze(new Set(['*']));
const NONE: ReadonlySet<string> = Object.freeze(new Set<string>());

function isGrant(v: unknown): v is Grant {
  if (typeof v !== 'object' || v === null) return false;
  const g = v as Record<string, unknown>;
  return typeof g['id'] === 'string' && typeof g['user'] === 'string' && Array.isArray(g['rules']) &&
    g['rules'].every((r) => typeof r === 'string') && typeof g['expires_at'] === 'string' &&
    !Number.isNaN(Date.parse(g['expires_at'])) && typeof g['reason'] === 'string' &&
    typeof g['created_by'] === 'string' && typeof g['created_at'] === 'string';
}

/** Users whose exemptions are remembered at once (a bound, not a working-set estimate). */
const EXEMPTIONS_MAX = 10_000;

export class GrantStore extends EventEmitter<{ change: [{ verb: 'create' | 'revoke'; grant: Grant }] }> {
  readonly #file: string | null;
  readonly #exemptUsers: ReadonlySet<string>;
  readonly #ruleNames: ReadonlySet<string> | null;
  readonly #now: () => number;
  #grants = new Map<string, Grant>();
  /** exemptRules() per user: the same Set until a grant changes or one of the user's grants expires, so
   * callers can tell "unchanged" by identity (the masking controller keeps its per-session caches then). */
  readonly #exemptions = new Map<string, { rules: ReadonlySet<string>; from: number; until: number }>();

  constructor(opts: GrantStoreOptions) {
    super();
    this.#file = opts.file;
    this.#exemptUsers = new Set(opts.exemptUsers ?? []);
    this.#ruleNames = opts.ruleNames === undefined ? null : new Set(opts.ruleNames);
    this.#now = opts.now ?? Date.now;
    this.#load();
  }

  #load(): void {
    if (this.#file === null) return;
    let text: string;
    try {
      text = readFileSync(this.#file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const data: unknown = JSON.parse(text);
    const list = typeof data === 'object' && data !== null ? (data as { grants?: unknown }).grants : undefined;
    if (!Array.isArray(list)) throw new Error(`${this.#file}: not a grants file (expected {"grants": [...]})`);
    const now = this.#now();
    for (const g of list) if (isGrant(g) && Date.parse(g.expires_at) > now) this.#grants.set(g.id, g);
  }

  /** Write every live grant: temp file, fsync, rename over the old file, fsync the directory. */
  #save(): void {
    if (this.#file === null) return;
    const now = this.#now();
    const grants = [...this.#grants.values()].filter((g) => Date.parse(g.expires_at) > now);
    const tmp = `${this.#file}.${process.pid}.tmp`;
    mkdirSync(dirname(this.#file), { recursive: true });
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify({ version: 1, grants }, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#file);
    try {
      const dfd = openSync(dirname(this.#file), 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch {
      // some platforms cannot fsync a directory; the rename is still atomic
    }
  }

  create(input: GrantInput): Grant {
    if (input.user === '') throw new GrantError('bad_grant', 'user must not be empty');
    if (input.reason.trim() === '') throw new GrantError('bad_grant', 'reason is required');
    if (!Number.isFinite(input.ttl_ms) || input.ttl_ms <= 0) throw new GrantError('bad_grant', 'ttl must be positive');
    if (input.rules.length === 0) throw new GrantError('bad_grant', 'rules must name at least one rule (or "*")');
    const known = this.#ruleNames;
    if (known !== null) {
      const unknown = input.rules.filter((r) => r !== '*' && !known.has(r));
      if (unknown.length > 0) throw new GrantError('bad_grant', `unknown masking rule(s): ${unknown.join(', ')}`);
    }
    const now = this.#now();
    const grant: Grant = Object.freeze({
      id: randomUUID(),
      user: input.user,
      rules: Object.freeze([...new Set(input.rules)]),
      expires_at: new Date(now + input.ttl_ms).toISOString(),
      reason: input.reason,
      created_by: input.created_by,
      created_at: new Date(now).toISOString(),
    });
    this.#grants.set(grant.id, grant);
    this.#exemptions.clear();
    try {
      this.#save();
    } catch (e) {
      this.#grants.delete(grant.id);
      this.#exemptions.clear();
      throw e;
    }
    this.emit('change', { verb: 'create', grant });
    return grant;
  }

  /** Live (unexpired) grants, oldest first. */
  list(): Grant[] {
    const now = this.#now();
    return [...this.#grants.values()].filter((g) => Date.parse(g.expires_at) > now);
  }

  get(id: string): Grant | undefined {
    return this.#grants.get(id);
  }

  /** Remove a grant; returns it, or throws GrantError('not_found'). */
  revoke(id: string): Grant {
    const g = this.#grants.get(id);
    if (g === undefined || Date.parse(g.expires_at) <= this.#now()) throw new GrantError('not_found', `no live grant ${id}`);
    this.#grants.delete(id);
    this.#exemptions.clear();
    try {
      this.#save();
    } catch (e) {
      this.#grants.set(id, g);
      this.#exemptions.clear();
      throw e;
    }
    this.emit('change', { verb: 'revoke', grant: g });
    return g;
  }

  /** Rules `user` is exempt from at `now` (ms): `*` for exempt_users; checked at each statement. */
  exemptRules(user: string, now?: number): ReadonlySet<string> {
    if (this.#exemptUsers.has(user)) return ALL;
    if (this.#grants.size === 0) return NONE;
    const t = now ?? this.#now();
    const known = this.#exemptions.get(user);
    if (known !== undefined && t >= known.from && t < known.until) return known.rules;
    let out: Set<string> | null = null;
    let until = Infinity;
    for (const g of this.#grants.values()) {
      const expires = Date.parse(g.expires_at);
      if (g.user !== user || expires <= t) continue;
      until = Math.min(until, expires);
      out ??= new Set();
      for (const r of g.rules) out.add(r);
    }
    const rules = out ?? NONE;
    if (this.#exemptions.size >= EXEMPTIONS_MAX) this.#exemptions.clear();
    this.#exemptions.set(user, { rules, from: t, until });
    return rules;
  }
}
