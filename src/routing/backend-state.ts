// Shared backend state: health (written by the health checker), drain (written by the admin API) and
// change notifications (read by metrics and logs). Everything goes through the small `BackendState`
// interface so a multi-worker build can later back it with something shared (DESIGN §4); the router
// only reads it. `snapshot()` is what `GET /api/v1/backends` serialises.
import type { Config } from '../config/types.ts';

export type HealthStatus = 'up' | 'down' | 'unknown';

export interface BackendHealth {
  readonly status: HealthStatus;
  /** Epoch ms of the last status change (or of registration while `unknown`). */
  readonly since: number;
  /** Epoch ms of the last finished probe; null before the first. */
  readonly lastCheck: number | null;
  /** Why the last probe failed (the backend's own error when it sent one); null after a good probe. */
  readonly lastError: string | null;
  /** Duration of the last good probe (connect → greeting → login → query), ms. */
  readonly latencyMs: number | null;
  /** `@@read_only`; null when unknown (no monitor user, or never probed). */
  readonly readOnly: boolean | null;
  /** Server version without MariaDB's "5.5.5-" replication prefix, e.g. "10.11.6-MariaDB-0+deb12u1". */
  readonly version: string | null;
  /** The greeting's server version string as sent. */
  readonly serverVersion: string | null;
  /** Capability flags of the greeting. */
  readonly capabilities: number | null;
  /** MariaDB extended capabilities of the greeting (0 for MySQL servers). */
  readonly mariadbCapabilities: number | null;
}

export interface DrainState {
  readonly draining: boolean;
  /** Where new connections for this backend go instead; null: the next backend in the route's order. */
  readonly redirect_to: string | null;
  /** Epoch ms of the last drain/undrain; null when never drained. */
  readonly since: number | null;
}

export interface BackendSnapshot {
  readonly name: string;
  readonly address: string;
  /** Routes that list this backend, in config order. */
  readonly routes: readonly string[];
  /** From `@@read_only`. */
  readonly role: 'read_write' | 'read_only' | 'unknown';
  readonly health: BackendHealth;
  readonly drain: DrainState;
}

export type BackendChange =
  /** The status changed (up/down/unknown). */
  | { readonly kind: 'health'; readonly name: string; readonly previous: BackendHealth; readonly current: BackendHealth }
  /** Any probe finished (status may be unchanged): latency, read_only, version updates. */
  | { readonly kind: 'probe'; readonly name: string; readonly ok: boolean; readonly current: BackendHealth }
  | { readonly kind: 'drain'; readonly name: string; readonly previous: DrainState; readonly current: DrainState };

export type BackendChangeListener = (change: BackendChange) => void;

/** A health update: the status plus whatever the probe learned (absent keys keep their value). */
export type HealthUpdate = { readonly status?: HealthStatus; readonly ok: boolean } & Partial<Omit<BackendHealth, 'status' | 'since'>>;

export class BackendStateError extends Error {
  constructor(
    readonly kind: 'unknown_backend' | 'bad_redirect',
    message: string,
  ) {
    super(message);
    this.name = 'BackendStateError';
  }
}

/** The one interface to shared backend state. */
export interface BackendState {
  has(name: string): boolean;
  health(name: string): BackendHealth;
  drainState(name: string): DrainState;
  /** Records a probe result; emits `probe`, and `health` when the status changes. */
  updateHealth(name: string, update: HealthUpdate): void;
  /** Drains a backend (throws BackendStateError for an unknown backend or a bad `redirect_to`). */
  drain(name: string, redirectTo?: string | null): DrainState;
  undrain(name: string): DrainState;
  snapshot(): BackendSnapshot[];
  /** Subscribes; returns the unsubscribe function. */
  on(event: 'change', listener: BackendChangeListener): () => void;
  /** Follows a config (reload): new backends start `unknown`, removed ones are forgotten, a changed address resets health. */
  sync(config: Pick<Config, 'backends' | 'routes'>): void;
}

interface Entry {
  address: string;
  routes: string[];
  health: BackendHealth;
  drain: DrainState;
}

function unknownHealth(now: number): BackendHealth {
  return {
    status: 'unknown',
    since: now,
    lastCheck: null,
    lastError: null,
    latencyMs: null,
    readOnly: null,
    version: null,
    serverVersion: null,
    capabilities: null,
    mariadbCapabilities: null,
  };
}

const UNDRAINED: DrainState = { draining: false, redirect_to: null, since: null };

/** In-process implementation. Values handed out are frozen copies. */
export class InMemoryBackendState implements BackendState {
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<BackendChangeListener>();
  readonly #now: () => number;

  constructor(config: Pick<Config, 'backends' | 'routes'>, opts?: { now?: () => number }) {
    this.#now = opts?.now ?? Date.now;
    this.sync(config);
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  health(name: string): BackendHealth {
    return this.#get(name).health;
  }

  drainState(name: string): DrainState {
    return this.#get(name).drain;
  }

  updateHealth(name: string, update: HealthUpdate): void {
    const e = this.#entries.get(name);
    if (e === undefined) return; // removed by a reload while its probe ran
    const previous = e.health;
    const now = this.#now();
    const { ok: _ok, status: nextStatus, ...learned } = update;
    const status = nextStatus ?? previous.status;
    const current: BackendHealth = Object.freeze({
      ...previous,
      ...learned,
      status,
      since: status !== previous.status ? now : previous.since,
    });
    e.health = current;
    this.#emit({ kind: 'probe', name, ok: update.ok, current });
    if (status !== previous.status) this.#emit({ kind: 'health', name, previous, current });
  }

  drain(name: string, redirectTo: string | null = null): DrainState {
    const e = this.#get(name);
    if (redirectTo !== null) {
      if (redirectTo === name) throw new BackendStateError('bad_redirect', `backend ${name} cannot redirect to itself`);
      if (!this.#entries.has(redirectTo)) throw new BackendStateError('bad_redirect', `redirect_to names unknown backend ${redirectTo}`);
    }
    return this.#setDrain(name, e, { draining: true, redirect_to: redirectTo, since: this.#now() });
  }

  undrain(name: string): DrainState {
    const e = this.#get(name);
    return this.#setDrain(name, e, { draining: false, redirect_to: null, since: this.#now() });
  }

  snapshot(): BackendSnapshot[] {
    return [...this.#entries].map(([name, e]) => ({
      name,
      address: e.address,
      routes: [...e.routes],
      role: e.health.readOnly === null ? 'unknown' : e.health.readOnly ? 'read_only' : 'read_write',
      health: e.health,
      drain: e.drain,
    }));
  }

  on(_event: 'change', listener: BackendChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  sync(config: Pick<Config, 'backends' | 'routes'>): void {
    const now = this.#now();
    const names = new Set(config.backends.map((b) => b.name));
    for (const name of [...this.#entries.keys()]) if (!names.has(name)) this.#entries.delete(name);
    for (const b of config.backends) {
      const routes = config.routes.filter((r) => r.backends.includes(b.name)).map((r) => r.name);
      const e = this.#entries.get(b.name);
      if (e === undefined) {
        this.#entries.set(b.name, { address: b.address, routes, health: Object.freeze(unknownHealth(now)), drain: UNDRAINED });
        continue;
      }
      e.routes = routes;
      if (e.address !== b.address) {
        e.address = b.address;
        e.health = Object.freeze(unknownHealth(now));
      }
      // a redirect to a backend that no longer exists falls back to the route's order
      if (e.drain.redirect_to !== null && !names.has(e.drain.redirect_to)) e.drain = Object.freeze({ ...e.drain, redirect_to: null });
    }
  }

  #setDrain(name: string, e: Entry, next: DrainState): DrainState {
    const previous = e.drain;
    const current = Object.freeze(next);
    e.drain = current;
    this.#emit({ kind: 'drain', name, previous, current });
    return current;
  }

  #get(name: string): Entry {
    const e = this.#entries.get(name);
    if (e === undefined) throw new BackendStateError('unknown_backend', `no backend named ${name}`);
    return e;
  }

  #emit(change: BackendChange): void {
    for (const l of [...this.#listeners]) {
      try {
        l(change);
      } catch {
        // a listener's failure must not break the writer (health checker, admin verb)
      }
    }
  }
}
