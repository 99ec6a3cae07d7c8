// The parsed, validated, deep-frozen configuration. Keys keep the YAML file's snake_case so
// docs, files and code share one vocabulary. Durations are already numbers of milliseconds
// and sizes numbers of bytes (the unit is named in each comment); addresses stay "host:port"
// strings (split them with `splitAddress`). Every optional key is `T | undefined`.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type ClientTlsMode = 'disabled' | 'preferred' | 'required' | 'passthrough';
export type BackendTlsMode = 'disabled' | 'preferred' | 'required' | 'as_client';
export type TlsVerify = 'none' | 'ca' | 'identity';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
export type ProxyProtocolVersion = 'none' | 'v1' | 'v2';
export type DetectorName = 'cn_mobile' | 'e164' | 'email' | 'cn_id_card' | 'credit_card' | 'iban' | 'ipv4';
export type AuditEventKind = 'connect' | 'auth' | 'query' | 'disconnect' | 'admin';

export interface SniCertConfig {
  /** Server names (globs like "*.orders.example.com") served with this certificate. */
  readonly names: readonly string[];
  /** PEM file paths, as written in the file (relative paths are relative to the working directory). */
  readonly cert: string;
  readonly key: string;
}

/** The client leg's TLS. */
export interface ClientTlsConfig {
  readonly mode: ClientTlsMode;
  /** Absent (with `key`): a self-signed certificate is generated at start-up. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly sni: readonly SniCertConfig[];
  /** When set, client certificates are requested and verified against this CA bundle. */
  readonly client_ca?: string | undefined;
  readonly min_version: TlsVersion;
}

export interface ListenerConfig {
  readonly name: string;
  /** "host:port" to listen on; port 0 picks a free port. */
  readonly address: string;
  /** Accept a PROXY v1/v2 header from a load balancer before the MySQL greeting. */
  readonly proxy_protocol: boolean;
  /** With proxy_protocol: the load balancers' networks; peers there must send a PROXY header, others connect directly. */
  readonly proxy_protocol_networks: readonly string[];
  readonly tls: ClientTlsConfig;
}

/** The server leg's TLS. */
export interface BackendTlsConfig {
  readonly mode: BackendTlsMode;
  /** Default: `identity` when `ca` is given, else `none`. */
  readonly verify: TlsVerify;
  readonly ca?: string | undefined;
  readonly crl?: string | undefined;
  /** Optional client certificate Sluice presents to the server. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** Name to verify and send as SNI; absent: the host of `address`. */
  readonly server_name?: string | undefined;
}

export interface BackendConfig {
  readonly name: string;
  /** "host:port" to dial (port 1–65535). */
  readonly address: string;
  /** PROXY header Sluice sends to the server (MariaDB `proxy_protocol_networks`). */
  readonly proxy_protocol: ProxyProtocolVersion;
  readonly tls: BackendTlsConfig;
}

/** Every given matcher must hold; an absent `match` (or an empty one) matches every connection. */
export interface RouteMatchConfig {
  /** Glob on the name the client dialled: TLS SNI, else the `_server_host` connect attribute. */
  readonly host?: string | undefined;
  /** Glob on the TLS server name only. */
  readonly sni?: string | undefined;
  /** User "orders.alice" has tag "orders" (see `user_tag_separator`); the tag is stripped upstream. */
  readonly user_tag?: string | undefined;
  /** Glob on the schema named in the handshake. */
  readonly schema?: string | undefined;
  /** Name of a listener. */
  readonly listener?: string | undefined;
  /** Client address blocks ("10.0.0.0/8", "::1/128", or a single address). */
  readonly client_cidr?: readonly string[] | undefined;
}

export interface RouteConfig {
  readonly name: string;
  readonly match?: RouteMatchConfig | undefined;
  /** Backend names in failover order (at least one). */
  readonly backends: readonly string[];
  /** Masking rule names for this route; absent: `masking.default`. */
  readonly masking?: readonly string[] | undefined;
}

export interface HealthCheckConfig {
  /** ms between probes of each backend. */
  readonly interval: number;
  /** ms a probe may take. */
  readonly timeout: number;
  /** Good probes in a row that bring a down backend up. */
  readonly rise: number;
  /** Bad probes in a row that take an up backend down. */
  readonly fall: number;
  /** Account used to log in (absent: probes stop at the server greeting). */
  readonly user?: string | undefined;
  /** Name of the environment variable holding that account's password (the password itself never sits in the file). */
  readonly password_env?: string | undefined;
}

export type DetectorConfig = DetectorName | { readonly regex: string };

export type MaskConfig =
  | { readonly type: 'partial'; readonly keep_first: number; readonly keep_last: number; readonly char: string }
  | { readonly type: 'full'; readonly char: string }
  | { readonly type: 'hash' }
  | { readonly type: 'null' }
  | { readonly type: 'fixed'; readonly value: string };

export interface MaskingRuleConfig {
  readonly name: string;
  /** "schema.table.column" globs on original names. Columns only: the whole cell is masked. */
  readonly columns?: readonly string[] | undefined;
  /** Value detectors. Detect only: matched parts of any string cell; with columns: matched parts in those columns. */
  readonly detect?: readonly DetectorConfig[] | undefined;
  readonly mask: MaskConfig;
}

export interface MaskingConfig {
  /** Rules for routes that list none. */
  readonly default: readonly string[];
  readonly rules: readonly MaskingRuleConfig[];
  readonly exempt_users: readonly string[];
  readonly on_bypass: 'reject' | 'mask_expression';
  /** Where time-limited exemptions (grants) are kept across restarts; written atomically. */
  readonly grants_file: string;
}

export type AuditSinkConfig =
  | {
      readonly type: 'file';
      readonly path: string;
      readonly rotate: { /** bytes */ readonly size: number; readonly keep: number };
      /** ms between fsyncs (0: fsync after every batch). */
      readonly fsync: number;
    }
  | { readonly type: 'stdout' }
  | { readonly type: 'syslog'; readonly address: string; readonly protocol: 'udp' | 'tcp' }
  | { readonly type: 'nats'; readonly url: string; readonly subject: string; readonly stream: string };

export interface AuditConfig {
  readonly sinks: readonly AuditSinkConfig[];
  readonly events: readonly AuditEventKind[];
  /** Characters of SQL kept per event; longer statements are truncated. */
  readonly max_sql_length: number;
  /** What a full audit queue does to the session: wait (block) or drop the event (counted). */
  readonly when_full: 'block' | 'drop';
}

export interface AdminConfig {
  readonly enabled: boolean;
  /** "host:port" of the admin HTTP API; port 0 picks a free port. */
  readonly address: string;
  /** Name of the environment variable holding the bearer token; when that variable is set and non-empty, `/api/*` needs it. */
  readonly token_env: string;
}

export interface LimitsConfig {
  /** Open client connections across all listeners; beyond: ERR 1040. */
  readonly max_connections: number;
  /** ms from accept to the end of authentication. */
  readonly handshake_timeout: number;
  /** bytes: largest logical packet (after 16 MiB continuation), either direction. */
  readonly max_packet: number;
  /** Relay LOAD DATA LOCAL INFILE (the CLIENT_LOCAL_FILES capability). */
  readonly allow_local_infile: boolean;
  /** ms a session may sit idle between commands; absent: no limit. */
  readonly idle_timeout?: number | undefined;
}

export interface LogConfig {
  /** Overridden by the SLUICE_LOG_LEVEL environment variable. */
  readonly level: LogLevel;
}

export interface Config {
  readonly listeners: readonly ListenerConfig[];
  readonly backends: readonly BackendConfig[];
  /** First match wins. */
  readonly routes: readonly RouteConfig[];
  readonly user_tag_separator: string;
  readonly health_check: HealthCheckConfig;
  readonly masking: MaskingConfig;
  readonly audit: AuditConfig;
  readonly admin: AdminConfig;
  readonly limits: LimitsConfig;
  /** ms to let statements and transactions finish on SIGTERM/SIGINT before closing. */
  readonly shutdown_timeout: number;
  readonly log: LogConfig;
}
