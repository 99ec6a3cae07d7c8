import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileSink } from '../../src/audit/file-sink.ts';
import { batchOf } from '../harness/audit-batch.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-audit-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { logger: pino.Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, logs };
}

const line = (i: number, pad = 0): string => JSON.stringify({ ts: '2026-01-01T00:00:00.000000Z', event: 'admin', conn: 0, i, pad: 'p'.repeat(pad) });

function readLines(path: string): Array<{ i: number }> {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${path} ends with a newline`);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as { i: number });
}

test('writes JSON lines, one batch at a time, appending to an existing file', async () => {
  const path = join(dir, 'plain', 'a.jsonl');
  const s1 = new FileSink({ path, logger: capture().logger });
  await s1.open();
  await s1.write(batchOf([line(0), line(1)], 0));
  await s1.write(batchOf([line(2)], 2));
  await s1.close();
  const s2 = new FileSink({ path, logger: capture().logger, fsync: 0 });
  await s2.open();
  await s2.write(batchOf([line(3)]));
  await s2.close();
  assert.deepEqual(readLines(path).map((x) => x.i), [0, 1, 2, 3]);
});

test('a retried batch skips the lines that already reached the file', async () => {
  const path = join(dir, 'retry.jsonl');
  const s = new FileSink({ path, logger: capture().logger });
  await s.open();
  await s.write(batchOf([line(0), line(1), line(2)], 10));
  // the driver retries from seq 11 with a batch that overlaps what was written
  await s.write(batchOf([line(1), line(2), line(3)], 11));
  await s.close();
  assert.deepEqual(readLines(path).map((x) => x.i), [0, 1, 2, 3]);
});

test('size rotation keeps `keep` old files named .1 (newest) … .keep (oldest), each within the size', async () => {
  const path = join(dir, 'rot', 'sluice.jsonl');
  const { logger, logs } = capture();
  const fixed = (i: number): string => line(i, 50 - String(i).length); // every line has the same length
  const one = Buffer.byteLength(fixed(0)) + 1;
  const size = one * 10;
  const s = new FileSink({ path, logger, rotate: { size, keep: 3 } });
  await s.open();
  let seq = 0;
  for (let b = 0; b < 13; b++) {
    // batches of 7 lines: they straddle file boundaries
    const batch = Array.from({ length: 7 }, (_, k) => fixed(seq + k));
    await s.write(batchOf(batch, seq));
    seq += 7;
  }
  await s.close();
  const files = readdirSync(join(dir, 'rot')).sort();
  assert.deepEqual(files, ['sluice.jsonl', 'sluice.jsonl.1', 'sluice.jsonl.2', 'sluice.jsonl.3']);
  // 91 lines, 10 per file: current holds 1, .1 .2 .3 hold 10 each → the last 31 lines survive, in order
  const all = [...readLines(`${path}.3`), ...readLines(`${path}.2`), ...readLines(`${path}.1`), ...readLines(path)].map((x) => x.i);
  assert.deepEqual(all, Array.from({ length: 31 }, (_, k) => 60 + k));
  for (const f of files) assert.ok(readFileSync(join(dir, 'rot', f)).length <= size, `${f} within rotate.size`);
  assert.equal(logs.filter((l) => l.msg === 'audit file rotated').length, 9);
});

test('keep: 0 keeps no old file', async () => {
  const path = join(dir, 'keep0', 'k.jsonl');
  const one = Buffer.byteLength(line(0)) + 1;
  const s = new FileSink({ path, logger: capture().logger, rotate: { size: one * 2, keep: 0 } });
  await s.open();
  for (let i = 0; i < 5; i++) await s.write(batchOf([line(i)], i));
  await s.close();
  assert.deepEqual(readdirSync(join(dir, 'keep0')), ['k.jsonl']);
  assert.deepEqual(readLines(path).map((x) => x.i), [4]);
});

test('daily rotation on UTC date change, driven by an injected clock', async () => {
  const path = join(dir, 'daily', 'd.jsonl');
  let now = Date.UTC(2026, 10, 21, 23, 59, 58);
  const s = new FileSink({ path, logger: capture().logger, rotate: { daily: true, keep: 5 }, now: () => now });
  await s.open();
  await s.write(batchOf([line(0)]));
  now += 1000; // 23:59:59, same day
  await s.write(batchOf([line(1)], 1));
  now += 2000; // 00:00:01 next day
  await s.write(batchOf([line(2)], 2));
  now += 86_400_000; // a day later
  await s.write(batchOf([line(3)], 3));
  await s.close();
  assert.deepEqual(readLines(`${path}.2`).map((x) => x.i), [0, 1]);
  assert.deepEqual(readLines(`${path}.1`).map((x) => x.i), [2]);
  assert.deepEqual(readLines(path).map((x) => x.i), [3]);
});

test('daily: a file left from an earlier day is rotated before the first write of today', async () => {
  const path = join(dir, 'daily2', 'd.jsonl');
  const s0 = new FileSink({ path, logger: capture().logger });
  await s0.open();
  await s0.write(batchOf([line(0)]));
  await s0.close();
  const yesterday = new Date(Date.UTC(2026, 10, 20, 12));
  utimesSync(path, yesterday, yesterday);
  const s = new FileSink({ path, logger: capture().logger, rotate: { daily: true }, now: () => Date.UTC(2026, 10, 21, 1) });
  await s.open();
  await s.write(batchOf([line(1)], 1));
  await s.close();
  assert.deepEqual(readLines(`${path}.1`).map((x) => x.i), [0]);
  assert.deepEqual(readLines(path).map((x) => x.i), [1]);
});

test('open repairs a torn tail: the partial last line is cut and the cut is logged', async () => {
  const path = join(dir, 'torn.jsonl');
  const good = `${line(0)}\n${line(1)}\n`;
  const partial = line(2).slice(0, 17);
  writeFileSync(path, good + partial);
  const { logger, logs } = capture();
  const s = new FileSink({ path, logger });
  await s.open();
  await s.write(batchOf([line(3)], 3));
  await s.close();
  assert.deepEqual(readLines(path).map((x) => x.i), [0, 1, 3]);
  const cut = logs.find((l) => l.msg === 'audit file ended with a partial line; cut it');
  assert.equal(cut?.cut_bytes, 17);
});

test('open repairs a file that is one partial line longer than the read chunk', async () => {
  const path = join(dir, 'torn-big.jsonl');
  writeFileSync(path, `${line(0)}\n${'x'.repeat(200_000)}`);
  const { logger, logs } = capture();
  const s = new FileSink({ path, logger });
  await s.open();
  await s.close();
  assert.deepEqual(readLines(path).map((x) => x.i), [0]);
  assert.equal(logs.find((l) => l.cut_bytes !== undefined)?.cut_bytes, 200_000);
  // a file with no newline at all becomes empty
  const path2 = join(dir, 'torn-all.jsonl');
  writeFileSync(path2, '{"ts":"2026');
  const s2 = new FileSink({ path: path2, logger });
  await s2.open();
  await s2.close();
  assert.equal(readFileSync(path2, 'utf8'), '');
  assert.ok(existsSync(path2));
});
