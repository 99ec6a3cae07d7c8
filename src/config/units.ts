// Parsing and printing of the config file's unit-bearing scalars: durations ("500ms", "2s",
// "1h30m" → milliseconds), sizes ("512KiB", "64MiB", "1GiB", plain bytes → bytes) and
// `host:port` addresses (IPv6 bracketed: "[::1]:6033"). Parsers return a value or a reason
// string (never throw) so the schema can turn the reason into an issue at the right key path.
import { isIP } from 'node:net';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Render a value for an error message: strings quoted, everything else as YAML would show it. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** "2s", "500ms", "1m", "2h", "1d", "1.5s", "1h30m" → milliseconds (rounded). `0` alone is allowed. */
export function parseDuration(input: unknown): Parsed<number> {
  const fail = (): Parsed<number> => ({
    ok: false,
    reason: `expected a duration like 500ms, 2s, 1m, 2h, got ${describeValue(input)}`,
  });
  if (input === 0 || input === '0') return { ok: true, value: 0 };
  if (typeof input !== 'string') return fail();
  const s = input.trim();
  if (s === '') return fail();
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = DURATION_PART.exec(s); m !== null; m = DURATION_PART.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
    end = DURATION_PART.lastIndex;
  }
  if (end !== s.length) return fail();
  return { ok: true, value: Math.round(total) };
}

const SIZE_UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 } as const;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/;

/** "64MiB", "1GiB", "512KiB", "100B", 4096, "4096" → bytes (an integer). Units are binary (1 KiB = 1024 B). */
export function parseSize(input: unknown): Parsed<number> {
  const fail = (extra = ''): Parsed<number> => ({
    ok: false,
    reason: `expected a size like 512KiB, 64MiB, 1GiB or a number of bytes${extra}, got ${describeValue(input)}`,
  });
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? { ok: true, value: input } : fail();
  }
  if (typeof input !== 'string') return fail();
  const m = SIZE_RE.exec(input.trim());
  if (m === null) {
    return /^\d+(?:\.\d+)?\s*[kmgt]b$/i.test(input.trim()) ? fail(' (units are KiB, MiB, GiB, TiB)') : fail();
  }
  const bytes = Number(m[1]) * SIZE_UNITS[(m[2] ?? 'B') as keyof typeof SIZE_UNITS];
  if (!Number.isSafeInteger(bytes)) return fail(' (not a whole number of bytes)');
  return { ok: true, value: bytes };
}

export interface HostPort {
  /** Host name or IP address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * "127.0.0.1:6033", "db.example.com:3306", "[::1]:6033" → { host, port }.
 * `minPort` is 0 for listening addresses (0 = any free port), 1 for addresses we dial.
 */
export function parseAddress(input: unknown, minPort = 0): Parsed<HostPort> {
  const fail = (why = ''): Parsed<HostPort> => ({
    ok: false,
    reason: `expected host:port${why}, got ${describeValue(input)}`,
  });
  if (typeof input !== 'string') return fail();
  let host: string;
  let portText: string;
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0 || input[close + 1] !== ':') return fail(' ([ipv6]:port)');
    host = input.slice(1, close);
    portText = input.slice(close + 2);
    if (isIP(host) !== 6) return fail(' (not an IPv6 address inside [])');
  } else {
    const colon = input.lastIndexOf(':');
    if (colon < 0) return fail();
    host = input.slice(0, colon);
    portText = input.slice(colon + 1);
    if (host.includes(':')) return fail(' (write IPv6 addresses as [::1]:port)');
    if (isIP(host) === 0 && !HOSTNAME_RE.test(host)) return fail(' (bad host name)');
  }
  if (!/^\d{1,5}$/.test(portText)) return fail();
  const port = Number(portText);
  if (port < minPort || port > 65535) return fail(` (port must be ${minPort}–65535)`);
  return { ok: true, value: { host, port } };
}

/** Parse an address the schema already validated; throws only on a programming error. */
export function splitAddress(address: string): HostPort {
  const r = parseAddress(address);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

/** "10.0.0.0/8", "::1/128", "192.168.1.7" (a single host). */
export function parseCidr(input: unknown): Parsed<{ address: string; prefix: number; family: 4 | 6 }> {
  const fail = (): Parsed<never> => ({
    ok: false,
    reason: `expected an address or CIDR block like 10.0.0.0/8, got ${describeValue(input)}`,
  });
  if (typeof input !== 'string') return fail();
  const [addr = '', prefixText, ...rest] = input.split('/');
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return fail();
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (prefix < 0 || prefix > max) return fail();
  return { ok: true, value: { address: addr, prefix, family: family === 4 ? 4 : 6 } };
}

/** Milliseconds → the shortest exact unit form ("30s", "1500ms", "1h30m"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (!Number.isInteger(ms) || ms < 0) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest === 0 ? out : `${ms}ms`;
}

/** Bytes → "1GiB", "64MiB", or the plain number when no binary unit divides it. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
