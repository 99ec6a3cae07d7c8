// Shared plumbing for the micro-benchmarks: they run against the build in dist/ (what
// ships), import it at run time, and report "not available yet" when a module or export
// has not landed. Contract: each `*.bench.ts` default-exports a MicroSuite; nothing here
// asserts a time; inputs are built once, outside the measured functions.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Bench } from 'tinybench';

export class NotAvailable extends Error {}

export interface MicroSuite {
  /** Registers tasks on `bench`; throws NotAvailable when the code under test is missing. */
  register(bench: Bench, distRoot: string): Promise<void>;
}

/** Import `dist/src/<rel>.js`; the caller names the TS module type for the result. */
export async function loadDist<T>(distRoot: string, rel: string): Promise<T> {
  const file = join(distRoot, 'src', `${rel}.js`);
  if (!existsSync(file)) throw new NotAvailable(`not available yet: dist/src/${rel}.js missing (run npm run build)`);
  return (await import(pathToFileURL(file).href)) as T;
}

/** Packets as bytes: 3-byte length, sequence id, payload. */
export function packets(payloads: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  let seq = 1;
  for (const p of payloads) {
    const h = Buffer.alloc(4);
    h.writeUIntLE(p.length, 0, 3);
    h[3] = seq++ & 0xff;
    out.push(h, p);
  }
  return Buffer.concat(out);
}

function lenenc(s: Buffer): Buffer {
  if (s.length < 251) return Buffer.concat([Buffer.from([s.length]), s]);
  const h = Buffer.alloc(3);
  h[0] = 0xfc;
  h.writeUInt16LE(s.length, 1);
  return Buffer.concat([h, s]);
}

/** A text-protocol row like sysbench's sbtest: id, k, c (119 chars), pad (59 chars). */
export function sbtestRow(i: number): Buffer {
  const c = Buffer.from(`${String(i).padStart(11, '0')}-`.repeat(10).slice(0, 119), 'latin1');
  const pad = Buffer.from(`${String(i * 7).padStart(11, '0')}-`.repeat(5).slice(0, 59), 'latin1');
  return Buffer.concat([lenenc(Buffer.from(String(i))), lenenc(Buffer.from(String(i % 5000))), lenenc(c), lenenc(pad)]);
}

/** Cut `stream` into chunks of `size` bytes (what a socket hands the relay). */
export function chunks(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < stream.length; off += size) out.push(stream.subarray(off, Math.min(off + size, stream.length)));
  return out;
}
