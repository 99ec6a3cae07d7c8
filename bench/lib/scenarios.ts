// The non-sysbench scenarios: streaming one large result set through a path (MB/s and
// the relay's peak RSS) and holding N idle authenticated connections (RSS per
// connection), then handshakes per second. Contract: bounded in count and time;
// connections are closed before returning, whatever happens.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, quit, streamQuery } from './mini-client.ts';
import type { Conn } from './mini-client.ts';
import { memKiB, rssSampler } from './proc.ts';
import type { Creds, StartedPath } from './paths.ts';

export interface StreamResult {
  path: string;
  rows: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  relayBaseRssKiB: number | null;
  relayPeakRssKiB: number | null;
  error?: string;
}

export async function streamThrough(p: StartedPath, creds: Creds, rows: number, timeoutMs: number): Promise<StreamResult> {
  const base = p.relayPid !== null ? memKiB(p.relayPid).rssKiB : null;
  const sampler = p.relayPid !== null ? rssSampler(p.relayPid, 50) : null;
  let c: Conn | null = null;
  try {
    c = await connect({ port: p.port, ssl: p.ssl, ...creds });
    const t0 = process.hrtime.bigint();
    const r = await streamQuery(c, `SELECT REPEAT('x', 1000) FROM seq_1_to_${rows}`, timeoutMs);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const peak = sampler?.stop() ?? null;
    if (r.rows !== rows) throw new Error(`got ${r.rows} rows, expected ${rows}`);
    return {
      path: p.name,
      rows,
      bytes: r.bytes,
      seconds,
      mbPerSec: r.bytes / 1e6 / seconds,
      relayBaseRssKiB: base,
      relayPeakRssKiB: peak,
    };
  } catch (e) {
    const peak = sampler?.stop() ?? null;
    return {
      path: p.name,
      rows,
      bytes: 0,
      seconds: 0,
      mbPerSec: Number.NaN,
      relayBaseRssKiB: base,
      relayPeakRssKiB: peak,
      error: e instanceof Error ? e.message : String(e),
    };
  } finally {
    c?.close();
  }
}

export interface ConnResult {
  path: string;
  wanted: number;
  held: number;
  rssBeforeKiB: number | null;
  rssAfterKiB: number | null;
  rssPerConnKiB: number | null;
  handshakes: number;
  handshakeSeconds: number;
  handshakesPerSec: number;
  error?: string;
}

/**
 * Open `n` idle connections (64 handshakes in flight), measure the relay's RSS delta,
 * close them, then run closed-loop handshakes (connect, auth, COM_QUIT) with 8 workers
 * for `hsSeconds` or `hsMax` handshakes, whichever comes first.
 */
export async function idleAndHandshakes(
  p: StartedPath,
  creds: Creds,
  n: number,
  hsSeconds: number,
  hsMax: number,
): Promise<ConnResult> {
  const open: Conn[] = [];
  let error: string | undefined;
  const pid = p.relayPid;
  // settle: let a previous scenario's garbage be collected by the relay
  await sleep(300);
  const before = pid !== null ? memKiB(pid).rssKiB : null;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n && error === undefined) {
      next++;
      try {
        open.push(await connect({ port: p.port, ssl: p.ssl, ...creds, timeoutMs: 30000 }));
      } catch (e) {
        const m = e instanceof Error ? e.message : String(e);
        error = `after ${open.length} connections: ${m}${/EMFILE|ENFILE/.test(m) ? ' (file descriptor limit: see ulimit -n)' : ''}`;
      }
    }
  };
  let after: number | null;
  try {
    await Promise.all(Array.from({ length: 64 }, worker));
    await sleep(1000);
    after = pid !== null ? memKiB(pid).rssKiB : null;
  } finally {
    for (const c of open) c.close();
  }
  const held = open.length;
  await sleep(1000);

  let hs = 0;
  let hsErr: string | undefined;
  const t0 = Date.now();
  const until = t0 + hsSeconds * 1000;
  const hsWorker = async (): Promise<void> => {
    while (Date.now() < until && hs < hsMax && hsErr === undefined) {
      try {
        const c = await connect({ port: p.port, ssl: p.ssl, ...creds, timeoutMs: 10000 });
        quit(c);
        hs++;
      } catch (e) {
        hsErr = e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, hsWorker));
  const hsSecs = (Date.now() - t0) / 1000;
  const err = [error, hsErr !== undefined ? `handshakes: ${hsErr}` : undefined].filter((x) => x !== undefined).join('; ');
  return {
    path: p.name,
    wanted: n,
    held,
    rssBeforeKiB: before,
    rssAfterKiB: after,
    rssPerConnKiB: before !== null && after !== null && held > 0 ? (after - before) / held : null,
    handshakes: hs,
    handshakeSeconds: hsSecs,
    handshakesPerSec: hs / hsSecs,
    ...(err !== '' ? { error: err } : {}),
  };
}
