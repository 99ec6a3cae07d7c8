// The paths under test: direct, direct TLS, HAProxy (TCP mode), the naive Node relay,
// and Sluice with one config per variant (DESIGN §5.3). Each started path is a process
// whose PID we know, listening on a free 127.0.0.1 port. A Sluice variant that its
// build rejects (exit, no listener, or a failing probe) becomes "not available yet".
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnChild, stopChild, waitPort } from './proc.ts';
import type { Child } from './proc.ts';
import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { connect, quit } from './mini-client.ts';

export type PathName =
  | 'direct'
  | 'direct-tls'
  | 'haproxy'
  | 'naive'
  | 'node-floor'
  | 'sluice'
  | 'sluice-tls'
  | 'sluice-audit'
  | 'sluice-mask-none'
  | 'sluice-mask-all';

export const ALL_PATHS: readonly PathName[] = [
  'direct',
  'haproxy',
  'naive',
  'node-floor',
  'sluice',
  'direct-tls',
  'sluice-tls',
  'sluice-audit',
  'sluice-mask-none',
  'sluice-mask-all',
];

export interface Db {
  port: number;
  pid: number;
  tls: boolean;
}

export interface Creds {
  user: string;
  password: string;
  db: string;
}

export interface StartedPath {
  name: PathName;
  port: number;
  /** Whether clients use TLS on this path. */
  ssl: boolean;
  /** The relay process (null for direct paths). */
  relayPid: number | null;
  stop(): Promise<void>;
}

export interface Ctx {
  db: Db;
  creds: Creds;
  tmp: string;
  root: string;
  /** Idle connections the relay must be able to hold (sizes HAProxy maxconn, Sluice limits). */
  maxConns: number;
  /** Certificate for Sluice's TLS listener (the one mariadbd uses; sysbench trusts it). */
  cert: { cert: string; key: string } | null;
}

export function sluiceYaml(variant: PathName, port: number, adminPort: number, ctx: Ctx): string {
  const tls = variant === 'sluice-tls';
  const lines = [
    'listeners:',
    '  - name: main',
    `    address: 127.0.0.1:${port}`,
    tls && ctx.cert ? `    tls: { mode: required, cert: ${ctx.cert.cert}, key: ${ctx.cert.key} }` : `    tls: { mode: ${tls ? 'required' : 'disabled'} }`,
    'backends:',
    '  - name: db',
    `    address: 127.0.0.1:${ctx.db.port}`,
    `    tls: { mode: ${tls ? 'required' : 'disabled'}${tls ? ', verify: none' : ''} }`,
    'routes:',
    '  - name: all',
    '    backends: [db]',
    'health_check: { interval: 2s, timeout: 1s }',
  ];
  if (variant === 'sluice-mask-none') {
    lines.push(
      'masking:',
      '  default: [nomatch]',
      '  rules:',
      '    - name: nomatch',
      '      columns: ["nodb.notable.nocol"]',
      '      mask: { type: full, char: "*" }',
    );
  } else if (variant === 'sluice-mask-all') {
    lines.push(
      'masking:',
      '  default: [sbc]',
      '  rules:',
      '    - name: sbc',
      `      columns: ["${ctx.creds.db}.sbtest*.c"]`,
      '      mask: { type: partial, keep_first: 3, keep_last: 4, char: "*" }',
    );
  } else {
    lines.push('masking: { default: [], rules: [] }');
  }
  if (variant === 'sluice-audit') {
    lines.push(
      'audit:',
      '  sinks:',
      `    - { type: file, path: ${auditFile(ctx)}, rotate: { size: 256MiB, keep: 1 }, fsync: 1s }`,
      '  events: [connect, auth, query, disconnect]',
    );
  } else {
    lines.push('audit: { sinks: [] }');
  }
  lines.push(
    `admin: { address: 127.0.0.1:${adminPort} }`,
    `limits: { max_connections: ${ctx.maxConns + 100} }`,
    'log: { level: warn }',
    '',
  );
  return lines.join('\n');
}

function haproxyCfg(port: number, ctx: Ctx): string {
  return [
    'global',
    // HAProxy needs 2 fds per connection plus a few: stay under the hard limit the runner capped maxConns by
    `  maxconn ${ctx.maxConns + 50}`,
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    `  maxconn ${ctx.maxConns + 50}`,
    '  default_backend be',
    'backend be',
    `  server db 127.0.0.1:${ctx.db.port} maxconn ${ctx.maxConns + 50}`,
    '',
  ].join('\n');
}

/** One full handshake and a COM_QUIT through the path: proves it really relays MySQL. */
async function probe(port: number, ssl: boolean, ctx: Ctx): Promise<void> {
  const c = await connect({ port, ssl, ...ctx.creds, timeoutMs: 10000 });
  quit(c);
}

async function started(name: PathName, child: Child, port: number, ssl: boolean, ctx: Ctx): Promise<StartedPath> {
  try {
    await waitPort(port, child, 20000);
    await probe(port, ssl, ctx);
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  return { name, port, ssl, relayPid: child.pid, stop: () => stopChild(child) };
}

/** Starts a path; throws Error("not available yet: …") for unsupported variants. */
export async function startPath(name: PathName, ctx: Ctx): Promise<StartedPath> {
  const port = await freePort();
  switch (name) {
    case 'direct':
      return { name, port: ctx.db.port, ssl: false, relayPid: null, stop: () => Promise.resolve() };
    case 'direct-tls':
      if (!ctx.db.tls) throw new Error('not available yet: mariadbd started without TLS');
      return { name, port: ctx.db.port, ssl: true, relayPid: null, stop: () => Promise.resolve() };
    case 'haproxy': {
      const cfg = join(ctx.tmp, `haproxy-${port}.cfg`);
      writeFileSync(cfg, haproxyCfg(port, ctx));
      const c = spawnChild('haproxy', 'haproxy', ['-f', cfg, '-db']);
      return started(name, c, port, false, ctx);
    }
    case 'naive': {
      const c = spawnChild('naive', process.execPath, [join(ctx.root, 'bench', 'naive-relay.mjs'), String(port), String(ctx.db.port)]);
      return started(name, c, port, false, ctx);
    }
    case 'node-floor': {
      const c = spawnChild('node-floor', process.execPath, [join(ctx.root, 'bench', 'handle-relay-floor.mjs'), String(port), String(ctx.db.port)]);
      return started(name, c, port, false, ctx);
    }
    default: {
      const ssl = name === 'sluice-tls';
      if (ssl && !ctx.db.tls) throw new Error('not available yet: mariadbd started without TLS');
      const adminPort = await freePort();
      mkdirSync(join(ctx.tmp, 'audit'), { recursive: true });
      const cfg = join(ctx.tmp, `${name}.yaml`);
      writeFileSync(cfg, sluiceYaml(name, port, adminPort, ctx));
      const cli = join(ctx.root, 'dist', 'src', 'cli.js');
      // the V8 flag the `sluice` command and `npm start` run with (docs/benchmarks.md: streaming RSS)
      const c = spawnChild(name, process.execPath, ['--max-semi-space-size=2', cli, '--config', cfg], {
        env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
        cwd: ctx.tmp,
      });
      try {
        const sp = await started(name, c, port, ssl, ctx);
        try {
          await verifyFeature(name, sp, ctx);
        } catch (e) {
          await sp.stop();
          throw e;
        }
        return sp;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(msg.startsWith('not available yet') ? msg : `not available yet: ${msg.slice(0, 300)}`, { cause: e });
      }
    }
  }
}

async function cellC(port: number, ctx: Ctx): Promise<string> {
  const { user, password, db: database } = ctx.creds;
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user, password, database, connectTimeout: 10000 });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT c FROM sbtest1 WHERE id = 1');
    return String(rows[0]?.['c'] ?? '');
  } finally {
    await c.end();
  }
}

/** where sluice-audit's file sink writes (`SLUICE_BENCH_AUDIT_DIR`: another file system, e.g. a tmpfs) */
function auditFile(ctx: Ctx): string {
  return join(process.env['SLUICE_BENCH_AUDIT_DIR'] ?? join(ctx.tmp, 'audit'), 'sluice.jsonl');
}

/** A variant that starts but does not do its feature would measure plain Sluice: refuse it. */
async function verifyFeature(name: PathName, sp: StartedPath, ctx: Ctx): Promise<void> {
  if (name === 'sluice-mask-all') {
    const [direct, masked] = [await cellC(ctx.db.port, ctx), await cellC(sp.port, ctx)];
    if (direct === masked) throw new Error('not available yet: the masking rule left sbtest*.c unmasked');
  } else if (name === 'sluice-audit') {
    await cellC(sp.port, ctx);
    const f = auditFile(ctx);
    for (let i = 0; i < 30 && !(existsSync(f) && statSync(f).size > 0); i++) await sleep(100);
    if (!(existsSync(f) && statSync(f).size > 0)) throw new Error('not available yet: the audit file sink wrote nothing');
  }
}
