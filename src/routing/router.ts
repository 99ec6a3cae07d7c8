// Router: picks the route and backend for a connection. This first version serves the core issue: routes
// are tried in order, a route matches when its `listener` matcher (if any) names the listener, and its
// first backend is used. The matchers of DESIGN §5.3 (sni, host, user tag, schema, CIDR), health and drain
// state plug in here without changing the session.
import type { BackendConfig, Config, RouteConfig } from '../config/types.ts';

export interface RouteRequest {
  readonly listener: string;
  readonly user: string;
  readonly schema: string | null;
  readonly clientAddress: string;
}

export interface ResolvedRoute {
  readonly route: RouteConfig;
  readonly backend: BackendConfig;
  /** The user name to send upstream (a user tag stripped). */
  readonly user: string;
}

export class Router {
  readonly #config: Config;
  readonly #backends: ReadonlyMap<string, BackendConfig>;

  constructor(config: Config) {
    this.#config = config;
    this.#backends = new Map(config.backends.map((b) => [b.name, b]));
  }

  /**
   * The route when it is known before the client has said anything (one candidate route with one backend):
   * the session may then connect first and reuse the backend's greeting, saving a round trip.
   */
  preGreetingRoute(listener: string): Omit<ResolvedRoute, 'user'> | null {
    const candidates = this.#config.routes.filter((r) => this.#listenerMatches(r, listener));
    if (candidates.length !== 1) return null;
    const route = candidates[0]!;
    if (route.backends.length !== 1 || hasClientMatchers(route)) return null;
    return { route, backend: this.#backend(route.backends[0]!) };
  }

  /** First matching route; null when none matches. */
  route(req: RouteRequest): ResolvedRoute | null {
    for (const route of this.#config.routes) {
      if (!this.#listenerMatches(route, req.listener)) continue;
      if (hasClientMatchers(route)) continue; // matchers not evaluated yet never match (no silent catch-all)
      return { route, backend: this.#backend(route.backends[0]!), user: req.user };
    }
    return null;
  }

  #listenerMatches(r: RouteConfig, listener: string): boolean {
    return r.match?.listener === undefined || r.match.listener === listener;
  }

  #backend(name: string): BackendConfig {
    const b = this.#backends.get(name);
    if (b === undefined) throw new Error(`route names unknown backend ${name}`); // the config schema forbids this
    return b;
  }
}

function hasClientMatchers(r: RouteConfig): boolean {
  const m = r.match;
  return m !== undefined && (m.host !== undefined || m.sni !== undefined || m.user_tag !== undefined || m.schema !== undefined || m.client_cidr !== undefined);
}
