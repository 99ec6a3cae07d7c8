// A sink-side Batch (src/audit/queue.ts) made from plain lines, as the queue hands it to a sink: the lines
// in one buffer with '\n' after each, numbered from `firstSeq`; `data` holds one view per line, as a batch
// gathered from many chunks would (the file sink writes the pieces with one writev).
import type { Batch } from '../../src/audit/queue.ts';

export function batchOf(lines: readonly string[], firstSeq = 0, conns: readonly number[] = lines.map(() => 0)): Batch {
  const buf = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  const starts: number[] = [];
  let at = 0;
  for (const l of lines) {
    starts.push(at);
    at += Buffer.byteLength(l, 'utf8') + 1;
  }
  return {
    count: lines.length,
    firstSeq,
    bytes: buf.length,
    data: starts.map((s, i) => buf.subarray(s, starts[i + 1] ?? buf.length)),
    conn: (i) => conns[i] as number,
    line: (i) => buf.subarray(starts[i], (starts[i] as number) + Buffer.byteLength(lines[i] as string, 'utf8')),
  };
}
