// Every default value of the config file in one table, with units, plus the built-in
// configuration used when `sluice` runs without --config (DESIGN.md §5.2). The schema reads
// its defaults from here, so this file is the single place to change one. Durations are ms,
// sizes are bytes.

export const DEFAULTS = {
  listenerName: 'default',
  listenerAddress: '127.0.0.1:6033',
  listenerProxyProtocol: false,
  clientTlsMode: 'preferred',
  clientTlsMinVersion: 'TLSv1.2',
  backendName: 'default',
  backendAddress: '127.0.0.1:3306',
  backendProxyProtocol: 'none',
  backendTlsMode: 'preferred',
  // backend tls.verify: 'identity' when tls.ca is given, else 'none' (see schema.ts)
  routeName: 'default',
  userTagSeparator: '.',
  healthCheckIntervalMs: 2_000, // 2 s
  healthCheckTimeoutMs: 1_000, // 1 s
  healthCheckRise: 2, // good probes in a row that bring a down backend up
  healthCheckFall: 3, // bad probes in a row that take an up backend down
  maskingOnBypass: 'reject',
  maskChar: '*',
  auditEvents: ['connect', 'auth', 'query', 'disconnect', 'admin'],
  auditMaxSqlLength: 4096, // characters
  auditWhenFull: 'block',
  auditFileRotateSizeBytes: 100 * 1024 ** 2, // 100 MiB
  auditFileRotateKeep: 10, // files
  auditFileFsyncMs: 1_000, // 1 s
  auditSyslogProtocol: 'udp',
  auditNatsSubject: 'sluice.audit',
  auditNatsStream: 'SLUICE_AUDIT',
  adminEnabled: true,
  adminAddress: '127.0.0.1:9033',
  adminTokenEnv: 'SLUICE_ADMIN_TOKEN',
  maxConnections: 10_000, // connections
  handshakeTimeoutMs: 10_000, // 10 s
  maxPacketBytes: 1024 ** 3, // 1 GiB (MariaDB's own max_allowed_packet ceiling)
  allowLocalInfile: true,
  shutdownTimeoutMs: 30_000, // 30 s
  logLevel: 'info',
} as const;

/**
 * The built-in configuration (§5.2) as a config *file* would spell it. It goes through the
 * same schema as any file, so an empty file and no file at all yield the same Config.
 */
export const BUILTIN_CONFIG_INPUT = {
  listeners: [{ name: DEFAULTS.listenerName, address: DEFAULTS.listenerAddress, tls: { mode: 'preferred' } }],
  backends: [
    { name: DEFAULTS.backendName, address: DEFAULTS.backendAddress, tls: { mode: 'preferred', verify: 'none' } },
  ],
  routes: [{ name: DEFAULTS.routeName, backends: [DEFAULTS.backendName] }],
  audit: { sinks: [{ type: 'stdout' }] },
  admin: { address: DEFAULTS.adminAddress },
} as const;
