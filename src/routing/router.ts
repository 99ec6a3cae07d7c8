// Router: picks the route and backend for a connection (DESIGN §3 step 3, §5.3). Routes are tried in
// config order and the first whose every given matcher holds wins: `host` (glob on the TLS SNI, else
// the `_server_host` connect attribute), `sni` (glob on the SNI only), `user_tag` (the part of the
// user before `user_tag_separator`; stripped upstream when the route matched on it), `schema` (glob),
// `listener`, `client_cidr` (IPv4/IPv6 blocks; IPv4-mapped IPv6 clients match IPv4 blocks). Globs
// know `*` and `?`, are anchored, compiled once per Router; host-name globs ignore case, schema globs
// do not (MariaDB schema names are case-sensitive on Linux). Within the route, the first backend in
// failover order that is not down and not draining wins; a draining backend with `redirect_to` hands
// its connections to that backend when it is usable. `unknown` health (no verdict yet) counts as up.
import type { BackendConfig, Config, RouteConfig } from '../config/types.ts';
import { parseCidr } from '../config/units.ts';
import { ipToBytes } from '../protocol/proxy-protocol.ts';
import type { BackendState, BackendHealth, DrainState } from './backend-state.ts';

export interface RouteRequest {
  readonly listener: string;
  /** The user name as the client sent it (tag included). */
  readonly user: string;
  readonly schema: string | null;
  /** Client IP (IPv4, IPv6, or IPv4-mapped IPv6 as Node reports it). */
  readonly clientAddress: string;
  /** TLS server name from the client's ClientHello; null without TLS or SNI. */
  readonly sni: string | null;
  /** The `_server_host` connect attribute (libmariadb clients); null when absent. */
  readonly serverHost: string | null;
}

export interface ResolvedRoute {
  readonly route: RouteConfig;
  readonly backend: BackendConfig;
  /** The user name to send upstream (a user tag stripped). */
  readonly user: string;
}

export interface BackendVerdict {
  readonly name: string;
  readonly status: BackendHealth['status'];
  readonly draining: boolean;
  readonly redirect_to: string | null;
  readonly lastError: string | null;
}

export type RouteOutcome =
  | ({ readonly kind: 'ok' } & ResolvedRoute & {
        /** Set when a draining backend's `redirect_to` chose `backend`: the drained backend's name. */
        readonly redirectedFrom: string | null;
      })
  /** No route matches: answer ERR 1045 `(sluice: no route <detail>)` (RouteNotFound). */
  | { readonly kind: 'no_route'; readonly detail: string }
  /** The route matched but none of its backends may take the connection: ERR 1429 (BackendUnavailable(route.name, reason)). */
  | {
      readonly kind: 'unavailable';
      readonly route: RouteConfig;
      readonly user: string;
      readonly backends: readonly BackendVerdict[];
      readonly reason: string;
    };

type Matcher = (req: RouteRequest, tag: string | null) => boolean;

interface CompiledRoute {
  readonly route: RouteConfig;
  readonly matchers: readonly Matcher[];
  readonly clientDependent: boolean;
  readonly stripsTag: boolean;
}

export interface RouterOptions {
  /** Health and drain; absent: every backend counts as up and undrained. */
  readonly state?: BackendState | undefined;
}

export class Router {
  readonly #routes: readonly CompiledRoute[];
  readonly #backends: ReadonlyMap<string, BackendConfig>;
  readonly #separator: string;
  readonly #state: BackendState | null;

  constructor(config: Pick<Config, 'routes' | 'backends' | 'user_tag_separator'>, opts: RouterOptions = {}) {
    this.#backends = new Map(config.backends.map((b) => [b.name, b]));
    this.#separator = config.user_tag_separator;
    this.#state = opts.state ?? null;
    this.#routes = config.routes.map(compileRoute);
    for (const r of config.routes) for (const b of r.backends) this.#backend(b); // fail early on a broken table
  }

  /**
   * The route and backend when they are known before the client has said anything: the first route
   * that can match this listener has no client matchers, and exactly one backend, which is usable now.
   * The session may then connect first and reuse the backend's greeting (no extra round trip). Health
   * and drain are applied again by `route()`, which has the final word.
   */
  preGreetingRoute(listener: string): Omit<ResolvedRoute, 'user'> | null {
    const first = this.#routes.find((r) => r.route.match?.listener === undefined || r.route.match.listener === listener);
    if (first === undefined || first.clientDependent || first.route.backends.length !== 1) return null;
    const backend = this.#backend(first.route.backends[0]!);
    if (!this.#usable(backend.name)) return null;
    return { route: first.route, backend };
  }

  /**
   * First matching route, then the first usable backend of it. `skip` holds backends this connection
   * already failed to reach (they count as down for it, before the health checker notices).
   */
  route(req: RouteRequest, skip: ReadonlySet<string> = NO_SKIP): RouteOutcome {
    const { tag, rest } = splitUserTag(req.user, this.#separator);
    const compiled = this.#routes.find((r) => r.matchers.every((m) => m(req, tag)));
    if (compiled === undefined) return { kind: 'no_route', detail: describeRequest(req, tag) };
    const route = compiled.route;
    const user = compiled.stripsTag ? rest : req.user;
    for (const name of route.backends) {
      if (skip.has(name)) continue;
      const drain = this.#drain(name);
      if (drain.draining) {
        const target = this.#redirectTarget(name);
        if (target !== null && !skip.has(target)) return { kind: 'ok', route, backend: this.#backend(target), user, redirectedFrom: name };
        continue;
      }
      if (this.#healthy(name)) return { kind: 'ok', route, backend: this.#backend(name), user, redirectedFrom: null };
    }
    const backends = route.backends.map((name) => this.#verdict(name));
    return { kind: 'unavailable', route, user, backends, reason: describeUnavailable(route, backends) };
  }

  /** Follows `redirect_to` from a draining backend to the first usable target (cycle-safe). */
  #redirectTarget(from: string): string | null {
    const seen = new Set<string>([from]);
    let next = this.#drain(from).redirect_to;
    while (next !== null && !seen.has(next) && this.#backends.has(next)) {
      seen.add(next);
      const d = this.#drain(next);
      if (!d.draining) return this.#healthy(next) ? next : null;
      next = d.redirect_to;
    }
    return null;
  }

  #usable(name: string): boolean {
    return !this.#drain(name).draining && this.#healthy(name);
  }

  #healthy(name: string): boolean {
    const s = this.#state;
    return s === null || !s.has(name) || s.health(name).status !== 'down';
  }

  #drain(name: string): DrainState {
    const s = this.#state;
    return s === null || !s.has(name) ? NOT_DRAINING : s.drainState(name);
  }

  #verdict(name: string): BackendVerdict {
    const s = this.#state;
    const h = s !== null && s.has(name) ? s.health(name) : null;
    const d = this.#drain(name);
    return { name, status: h?.status ?? 'unknown', draining: d.draining, redirect_to: d.redirect_to, lastError: h?.lastError ?? null };
  }

  #backend(name: string): BackendConfig {
    const b = this.#backends.get(name);
    if (b === undefined) throw new Error(`route names unknown backend ${name}`); // the config schema forbids this
    return b;
  }
}

const NOT_DRAINING: DrainState = { draining: false, redirect_to: null, since: null };
const NO_SKIP: ReadonlySet<string> = new Set();

/** "orders.alice" with "." → tag "orders", rest "alice"; no separator (or a leading one): no tag. */
export function splitUserTag(user: string, separator: string): { tag: string | null; rest: string } {
  const i = separator === '' ? -1 : user.indexOf(separator);
  if (i <= 0) return { tag: null, rest: user };
  return { tag: user.slice(0, i), rest: user.slice(i + separator.length) };
}

/** Anchored glob: `*` any run of characters (dots included), `?` one character. */
export function compileGlob(glob: string, opts: { ignoreCase: boolean }): (s: string) => boolean {
  if (!/[*?]/.test(glob)) {
    if (!opts.ignoreCase) return (s) => s === glob;
    const lower = glob.toLowerCase();
    return (s) => s.toLowerCase() === lower;
  }
  const body = [...glob].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  const re = new RegExp(`^${body}$`, opts.ignoreCase ? 'isu' : 'su');
  return (s) => re.test(s);
}

interface Block {
  readonly net: Buffer;
  readonly prefix: number;
}

/** CIDR blocks as 16-byte IPv6 networks (IPv4 as ::ffff:a.b.c.d/96+n) so mapped clients match. */
export function compileCidrs(cidrs: readonly string[]): (address: string) => boolean {
  const blocks: Block[] = cidrs.map((c) => {
    const p = parseCidr(c);
    if (!p.ok) throw new Error(`client_cidr: ${p.reason}`); // the config schema forbids this
    const bytes = to16(ipToBytes(p.value.address)!);
    return { net: bytes, prefix: p.value.family === 4 ? 96 + p.value.prefix : p.value.prefix };
  });
  return (address) => {
    const raw = ipToBytes(address);
    if (raw === null) return false;
    const a = to16(raw);
    return blocks.some((b) => inBlock(a, b));
  };
}

function to16(bytes: Buffer): Buffer {
  if (bytes.length === 16) return bytes;
  return Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), bytes]);
}

function inBlock(a: Buffer, b: Block): boolean {
  const whole = b.prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b.net[i]) return false;
  const bits = b.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((a[whole]! ^ b.net[whole]!) & mask) === 0;
}

function compileRoute(route: RouteConfig): CompiledRoute {
  const m = route.match;
  const matchers: Matcher[] = [];
  if (m?.listener !== undefined) {
    const listener = m.listener;
    matchers.push((req) => req.listener === listener);
  }
  if (m?.host !== undefined) {
    const g = compileGlob(m.host, { ignoreCase: true });
    matchers.push((req) => {
      const name = req.sni ?? req.serverHost;
      return name !== null && g(stripTrailingDot(name));
    });
  }
  if (m?.sni !== undefined) {
    const g = compileGlob(m.sni, { ignoreCase: true });
    matchers.push((req) => req.sni !== null && g(stripTrailingDot(req.sni)));
  }
  if (m?.user_tag !== undefined) {
    const want = m.user_tag;
    matchers.push((_req, tag) => tag === want);
  }
  if (m?.schema !== undefined) {
    const g = compileGlob(m.schema, { ignoreCase: false });
    matchers.push((req) => req.schema !== null && g(req.schema));
  }
  if (m?.client_cidr !== undefined) {
    const inside = compileCidrs(m.client_cidr);
    matchers.push((req) => inside(req.clientAddress));
  }
  const clientDependent =
    m !== undefined && (m.host !== undefined || m.sni !== undefined || m.user_tag !== undefined || m.schema !== undefined || m.client_cidr !== undefined);
  return { route, matchers, clientDependent, stripsTag: m?.user_tag !== undefined };
}

function stripTrailingDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function describeRequest(req: RouteRequest, tag: string | null): string {
  const parts = [`for listener ${req.listener}`];
  if (tag !== null) parts.push(`user tag '${tag}'`);
  if (req.sni !== null) parts.push(`sni '${req.sni}'`);
  else if (req.serverHost !== null) parts.push(`host '${req.serverHost}'`);
  if (req.schema !== null) parts.push(`schema '${req.schema}'`);
  parts.push(`client ${req.clientAddress}`);
  return parts.join(', ');
}

function describeUnavailable(route: RouteConfig, backends: readonly BackendVerdict[]): string {
  const each = backends.map((b) => {
    const states: string[] = [];
    if (b.status === 'down') states.push(b.lastError !== null ? `down: ${b.lastError}` : 'down');
    if (b.draining) states.push(b.redirect_to !== null ? `draining, redirect to ${b.redirect_to} unusable` : 'draining');
    return `${b.name} (${states.join(', ') || b.status})`;
  });
  return `all backends of route ${route.name} are down or draining: ${each.join('; ')}`;
}
