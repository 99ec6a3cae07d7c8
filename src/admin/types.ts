// Shapes the admin API serves (DESIGN.md §5.4). They are the JSON contract: snake_case keys,
// times as ISO strings, nullable fields explicit. The session layer produces them; the admin
// layer only reads them through the callbacks given to buildAdmin.

export interface StatusInfo {
  version: string;
  /** Seconds since start-up. */
  uptime_s: number;
  listeners: Array<{ name: string; address: string; connections: number }>;
  connections: { open: number; total: number };
}

export interface ConnectionInfo {
  conn: number;
  /** Client "addr:port". */
  client: string;
  listener: string;
  /** Null until the handshake response arrived. */
  user: string | null;
  schema: string | null;
  route: string | null;
  backend: string | null;
  /** Session state, e.g. "handshake", "auth", "idle", "command". */
  state: string;
  /** ISO time the connection was accepted. */
  since: string;
  statements: number;
  bytes_in: number;
  bytes_out: number;
  client_tls: { version: string; cipher: string; sni: string | null } | null;
  backend_tls: { version: string; cipher: string } | null;
}

/** Body of every error response. `error` is a stable machine word, `message` is for people. */
export interface AdminErrorBody {
  error: string;
  message: string;
}
