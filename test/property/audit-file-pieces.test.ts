// The file sink writes a batch's pieces with writev(2) and goes on after a short write from piecesAfter():
// whatever the pieces and wherever the write stopped, what is left is exactly the rest of the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { piecesAfter } from '../../src/audit/file-sink.ts';

test('piecesAfter(pieces, n) holds exactly the bytes after the first n, for any pieces and any n', () => {
  const pieces = fc.array(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { maxLength: 12 });
  fc.assert(
    fc.property(
      pieces.chain((ps) => fc.tuple(fc.constant(ps), fc.nat({ max: ps.reduce((n, p) => n + p.length, 0) }))),
      ([ps, n]) => {
        const rest = piecesAfter(ps, n);
        assert.deepEqual(Buffer.concat(rest), Buffer.concat(ps).subarray(n));
        assert.ok(rest.length === 0 || (rest[0] as Buffer).length > 0 || ps.every((p) => p.length === 0), 'no empty leading piece');
      },
    ),
    { numRuns: 2000 },
  );
});
