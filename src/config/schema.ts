// The zod schema of the whole config file (DESIGN.md §5.3). `z.strictObject` at every level,
// so a misspelt key is an error, never silently ignored. Unit scalars (durations, sizes,
// addresses) are parsed here and their reasons become issues at the offending key. Checks
// that span sections (names unique, references resolve, …) run in one superRefine with paths;
// zod runs them only once the structure is valid, so they show up after structural fixes.
import { z } from 'zod';
import { DEFAULTS, BUILTIN_CONFIG_INPUT } from './defaults.ts';
import { parseAddress, parseCidr, parseDuration, parseSize, type Parsed } from './units.ts';
import type { BackendTlsConfig, Config } from './types.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DETECTORS = ['cn_mobile', 'e164', 'email', 'cn_id_card', 'credit_card', 'iban', 'ipv4'] as const;
export const AUDIT_EVENTS = ['connect', 'auth', 'query', 'disconnect', 'admin'] as const;

/** A unit scalar: any input, parsed by `parse`, whose failure reason becomes the issue message. */
function unit<T>(parse: (v: unknown) => Parsed<T>) {
  return z.unknown().transform((v, ctx): T => {
    const r = parse(v);
    if (r.ok) return r.value;
    ctx.issues.push({ code: 'custom', message: r.reason, input: v });
    return z.NEVER;
  });
}

const duration = () => unit(parseDuration);
const size = () => unit(parseSize);
/** Address to listen on (port 0 allowed) or to dial (port ≥ 1); the value stays the string. */
const address = (minPort: 0 | 1) =>
  z.string().superRefine((v, ctx) => {
    const r = parseAddress(v, minPort);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason, input: v });
  });
const cidr = () =>
  z.string().superRefine((v, ctx) => {
    const r = parseCidr(v);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason, input: v });
  });
const name = () =>
  z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, {
    message: 'expected a name of letters, digits, "_", "-", "." (at most 64 characters)',
  });
const nonEmpty = () => z.string().min(1, { message: 'must not be empty' });
const file = nonEmpty; // a path; existence is checked when the file is used (TLS, audit), not here

const sniCertSchema = z.strictObject({
  names: z.array(nonEmpty()).min(1, { message: 'needs at least one name' }),
  cert: file(),
  key: file(),
});

const clientTlsSchema = z.strictObject({
  mode: z.enum(['disabled', 'preferred', 'required', 'passthrough']).default(DEFAULTS.clientTlsMode),
  cert: file().optional(),
  key: file().optional(),
  sni: z.array(sniCertSchema).default([]),
  client_ca: file().optional(),
  min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default(DEFAULTS.clientTlsMinVersion),
});

const listenerSchema = z.strictObject({
  name: name(),
  address: address(0),
  proxy_protocol: z.boolean().default(DEFAULTS.listenerProxyProtocol),
  /** Peers allowed (and then required) to send a PROXY header; others connect directly. */
  proxy_protocol_networks: z.array(cidr()).default(['127.0.0.1/32', '::1/128']),
  tls: clientTlsSchema.prefault({}),
});

const backendTlsSchema = z
  .strictObject({
    mode: z.enum(['disabled', 'preferred', 'required', 'as_client']).default(DEFAULTS.backendTlsMode),
    verify: z.enum(['none', 'ca', 'identity']).optional(),
    ca: file().optional(),
    crl: file().optional(),
    cert: file().optional(),
    key: file().optional(),
    server_name: nonEmpty().optional(),
  })
  .transform((t): BackendTlsConfig => ({ ...t, verify: t.verify ?? (t.ca !== undefined ? 'identity' : 'none') }));

const backendSchema = z.strictObject({
  name: name(),
  address: address(1),
  proxy_protocol: z.enum(['none', 'v1', 'v2']).default(DEFAULTS.backendProxyProtocol),
  tls: backendTlsSchema.prefault({}),
});

const routeMatchSchema = z.strictObject({
  host: nonEmpty().optional(),
  sni: nonEmpty().optional(),
  user_tag: nonEmpty().optional(),
  schema: nonEmpty().optional(),
  listener: name().optional(),
  client_cidr: z.array(cidr()).min(1, { message: 'needs at least one address block' }).optional(),
});

const routeSchema = z.strictObject({
  name: name(),
  match: routeMatchSchema.optional(),
  backends: z.array(name()).min(1, { message: 'needs at least one backend' }),
  masking: z.array(name()).optional(),
});

const healthCheckSchema = z.strictObject({
  interval: duration().prefault(`${DEFAULTS.healthCheckIntervalMs}ms`),
  timeout: duration().prefault(`${DEFAULTS.healthCheckTimeoutMs}ms`),
  rise: z.number().int().min(1).max(100).default(DEFAULTS.healthCheckRise),
  fall: z.number().int().min(1).max(100).default(DEFAULTS.healthCheckFall),
  user: nonEmpty().optional(),
  password_env: nonEmpty().optional(),
});

const regexDetectorSchema = z.strictObject({
  regex: z.string().superRefine((v, ctx) => {
    try {
      new RegExp(v, 'u');
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`, input: v });
    }
  }),
});

const detectorSchema = z.union([z.enum(DETECTORS), regexDetectorSchema], {
  error: `expected one of ${DETECTORS.join(' | ')} or {regex: "..."}`,
});

const maskChar = () => z.string().length(1, { message: 'expected exactly one character' }).default(DEFAULTS.maskChar);
const count = () => z.int().min(0);

const maskSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('partial'), keep_first: count().default(0), keep_last: count().default(0), char: maskChar() }),
  z.strictObject({ type: z.literal('full'), char: maskChar() }),
  z.strictObject({ type: z.literal('hash') }),
  z.strictObject({ type: z.literal('null') }),
  z.strictObject({ type: z.literal('fixed'), value: z.string() }),
]);

const maskingRuleSchema = z.strictObject({
  name: name(),
  columns: z.array(nonEmpty()).min(1, { message: 'needs at least one column glob' }).optional(),
  detect: z.array(detectorSchema).min(1, { message: 'needs at least one detector' }).optional(),
  mask: maskSchema.prefault({ type: 'full' }),
});

const maskingSchema = z.strictObject({
  default: z.array(name()).default([]),
  rules: z.array(maskingRuleSchema).default([]),
  exempt_users: z.array(nonEmpty()).default([]),
  on_bypass: z.enum(['reject', 'mask_expression']).default(DEFAULTS.maskingOnBypass),
  grants_file: nonEmpty().default('sluice-grants.json'),
});

const auditSinkSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('file'),
    path: file(),
    rotate: z
      .strictObject({
        size: size().prefault(DEFAULTS.auditFileRotateSizeBytes),
        keep: z.int().min(1).default(DEFAULTS.auditFileRotateKeep),
      })
      .prefault({}),
    fsync: duration().prefault(`${DEFAULTS.auditFileFsyncMs}ms`),
  }),
  z.strictObject({ type: z.literal('stdout') }),
  z.strictObject({
    type: z.literal('syslog'),
    address: address(1),
    protocol: z.enum(['udp', 'tcp']).default(DEFAULTS.auditSyslogProtocol),
  }),
  z.strictObject({
    type: z.literal('nats'),
    url: z.string().regex(/^(nats|tls|wss?):\/\/\S+$/, { message: 'expected a URL like nats://127.0.0.1:4222' }),
    subject: nonEmpty().default(DEFAULTS.auditNatsSubject),
    stream: nonEmpty().default(DEFAULTS.auditNatsStream),
  }),
]);

const auditSchema = z.strictObject({
  sinks: z.array(auditSinkSchema).prefault([...BUILTIN_CONFIG_INPUT.audit.sinks]),
  events: z.array(z.enum(AUDIT_EVENTS)).default([...DEFAULTS.auditEvents]),
  max_sql_length: z.int().min(16).default(DEFAULTS.auditMaxSqlLength),
  when_full: z.enum(['block', 'drop']).default(DEFAULTS.auditWhenFull),
});

const adminSchema = z.strictObject({
  enabled: z.boolean().default(DEFAULTS.adminEnabled),
  address: address(0).default(DEFAULTS.adminAddress),
  token_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name' })
    .default(DEFAULTS.adminTokenEnv),
});

const limitsSchema = z.strictObject({
  max_connections: z.int().min(1).default(DEFAULTS.maxConnections),
  handshake_timeout: duration().prefault(`${DEFAULTS.handshakeTimeoutMs}ms`),
  max_packet: size()
    .pipe(z.number().min(1024, { message: 'must be at least 1KiB' }).max(DEFAULTS.maxPacketBytes, { message: 'must be at most 1GiB' }))
    .prefault(DEFAULTS.maxPacketBytes),
  allow_local_infile: z.boolean().default(DEFAULTS.allowLocalInfile),
  idle_timeout: duration().optional(),
});

const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default(DEFAULTS.logLevel),
});

// Mutable copies of the built-in sections: prefault values are parsed like file input.
const listenersDefault = BUILTIN_CONFIG_INPUT.listeners.map((l) => ({ ...l, tls: { ...l.tls } }));
const backendsDefault = BUILTIN_CONFIG_INPUT.backends.map((b) => ({ ...b, tls: { ...b.tls } }));

const rootShape = z.strictObject({
  listeners: z.array(listenerSchema).min(1, { message: 'needs at least one listener' }).prefault(listenersDefault),
  backends: z.array(backendSchema).min(1, { message: 'needs at least one backend' }).prefault(backendsDefault),
  /** Absent with exactly one backend: one route "default" to it. */
  routes: z.array(routeSchema).min(1, { message: 'needs at least one route' }).optional(),
  user_tag_separator: z.string().min(1).max(4).default(DEFAULTS.userTagSeparator),
  health_check: healthCheckSchema.prefault({}),
  masking: maskingSchema.prefault({}),
  audit: auditSchema.prefault({}),
  admin: adminSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  shutdown_timeout: duration().prefault(`${DEFAULTS.shutdownTimeoutMs}ms`),
  log: logSchema.prefault({}),
});

type RawConfig = z.output<typeof rootShape>;
type Ctx = z.RefinementCtx;

function issue(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

function checkUnique(ctx: Ctx, items: readonly { name: string }[], section: (string | number)[], what: string): void {
  const seen = new Map<string, number>();
  items.forEach((it, i) => {
    const first = seen.get(it.name);
    if (first !== undefined) {
      issue(ctx, [...section, i, 'name'], `duplicate ${what} name "${it.name}" (first used by ${fmtIndex(section, first)})`);
    } else seen.set(it.name, i);
  });
}

function fmtIndex(section: (string | number)[], i: number): string {
  return `${section.join('.')}[${i}]`;
}

function checkPair(ctx: Ctx, obj: { cert?: string | undefined; key?: string | undefined }, path: (string | number)[]): void {
  if ((obj.cert === undefined) !== (obj.key === undefined)) {
    const missing = obj.cert === undefined ? 'cert' : 'key';
    issue(ctx, [...path, missing], `required when ${missing === 'cert' ? 'key' : 'cert'} is set`);
  }
}

function crossChecks(c: RawConfig, ctx: Ctx): void {
  checkUnique(ctx, c.listeners, ['listeners'], 'listener');
  checkUnique(ctx, c.backends, ['backends'], 'backend');
  if (c.routes !== undefined) checkUnique(ctx, c.routes, ['routes'], 'route');
  checkUnique(ctx, c.masking.rules, ['masking', 'rules'], 'masking rule');

  // Two sockets cannot bind the same address (port 0 is "any free port", so it may repeat).
  const bound = new Map<string, string>();
  const bind = (addr: string, path: (string | number)[], owner: string): void => {
    if (addr.endsWith(':0')) return;
    const prev = bound.get(addr);
    if (prev !== undefined) issue(ctx, path, `address ${addr} is already used by ${prev}`);
    else bound.set(addr, owner);
  };
  c.listeners.forEach((l, i) => {
    bind(l.address, ['listeners', i, 'address'], `listeners[${i}]`);
    checkPair(ctx, l.tls, ['listeners', i, 'tls']);
    if (l.tls.mode === 'disabled' && l.tls.client_ca !== undefined) {
      issue(ctx, ['listeners', i, 'tls', 'client_ca'], 'client certificates need tls.mode preferred or required');
    }
  });
  if (c.admin.enabled) bind(c.admin.address, ['admin', 'address'], 'a listener');
  c.backends.forEach((b, i) => {
    checkPair(ctx, b.tls, ['backends', i, 'tls']);
    if (b.tls.mode === 'disabled' && b.tls.verify !== 'none') {
      issue(ctx, ['backends', i, 'tls', 'verify'], 'verification needs tls.mode other than disabled');
    }
  });

  const backendNames = new Set(c.backends.map((b) => b.name));
  const listenerNames = new Set(c.listeners.map((l) => l.name));
  const ruleNames = new Set(c.masking.rules.map((r) => r.name));
  const knownRule = (n: string, path: (string | number)[]): void => {
    if (!ruleNames.has(n)) issue(ctx, path, `unknown masking rule "${n}"${list(ruleNames, 'rules')}`);
  };

  if (c.routes === undefined) {
    if (c.backends.length !== 1) {
      issue(ctx, ['routes'], `required when there is more than one backend (${c.backends.length} are defined)`);
    }
  } else {
    let catchAll: number | undefined;
    c.routes.forEach((r, i) => {
      const seenBackends = new Set<string>();
      r.backends.forEach((b, j) => {
        if (!backendNames.has(b)) issue(ctx, ['routes', i, 'backends', j], `unknown backend "${b}"${list(backendNames, 'backends')}`);
        else if (seenBackends.has(b)) issue(ctx, ['routes', i, 'backends', j], `backend "${b}" is listed twice`);
        seenBackends.add(b);
      });
      r.masking?.forEach((m, j) => knownRule(m, ['routes', i, 'masking', j]));
      const m = r.match;
      if (m?.listener !== undefined && !listenerNames.has(m.listener)) {
        issue(ctx, ['routes', i, 'match', 'listener'], `unknown listener "${m.listener}"${list(listenerNames, 'listeners')}`);
      }
      if (m?.user_tag?.includes(c.user_tag_separator)) {
        issue(ctx, ['routes', i, 'match', 'user_tag'], `must not contain the user_tag_separator "${c.user_tag_separator}"`);
      }
      if (catchAll !== undefined) {
        issue(ctx, ['routes', i], `unreachable: routes[${catchAll}] "${c.routes?.[catchAll]?.name}" matches every connection`);
      } else if (m === undefined || Object.values(m).every((v) => v === undefined)) {
        catchAll = i;
      }
    });
  }

  c.masking.default.forEach((m, j) => knownRule(m, ['masking', 'default', j]));
  c.masking.rules.forEach((r, i) => {
    if (r.columns === undefined && r.detect === undefined) {
      issue(ctx, ['masking', 'rules', i], 'needs columns, detect or both');
    }
  });

  if (c.health_check.timeout > c.health_check.interval) {
    issue(ctx, ['health_check', 'timeout'], 'must not be longer than health_check.interval');
  }
}

function list(names: Set<string>, what: string): string {
  return names.size === 0 ? ` (no ${what} are defined)` : ` (defined: ${[...names].join(', ')})`;
}

export const configSchema = rootShape.superRefine(crossChecks).transform(
  (c): Config => ({
    ...c,
    routes: c.routes ?? [{ name: DEFAULTS.routeName, backends: [c.backends[0]?.name ?? DEFAULTS.backendName] }],
  }),
);
