// Property: however the bytes of each leg are cut into socket chunks (any sizes, any boundaries, incl.
// inside packet headers), the ResultTracker reports the same statements as for whole writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { run, smallScripts, type Chunker, type Seen } from '../unit/result-tracker-scripts.ts';

fc.configureGlobal({ numRuns: 200, interruptAfterTimeLimit: 20_000 });

const scripts = smallScripts();

/** Drops timings; everything else the tracker reports must be identical. */
function comparable(seen: Seen): unknown {
  return { commands: seen.commands, statements: seen.statements, done: seen.done, inFlight: seen.inFlight };
}

/** Cut points as fractions, so one arbitrary fits every step length. */
const cuts = fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), { minLength: 1, maxLength: 40 });

function chunkerFrom(fractions: number[][]): Chunker {
  return (b, i) => {
    const f = fractions[i % fractions.length]!;
    const points = [...new Set(f.map((x) => Math.floor(x * b.length)))].filter((p) => p > 0 && p < b.length).sort((x, y) => x - y);
    const out: Buffer[] = [];
    let at = 0;
    for (const p of points) {
      out.push(b.subarray(at, p));
      at = p;
    }
    out.push(b.subarray(at));
    return out;
  };
}

for (const script of scripts) {
  const expected = comparable(run(script));
  test(`any chunking gives the same report: ${script.name}`, () => {
    fc.assert(
      fc.property(cuts, (fractions) => {
        assert.deepEqual(comparable(run(script, chunkerFrom(fractions))), expected);
      }),
      { numRuns: 60 },
    );
  });
}

test('any chunking of all conversations back to back on one connection gives the same report', () => {
  // one long connection: every conversation after the other (same capabilities), cut anywhere
  for (const caps of [scripts[0]!.caps, scripts.at(-1)!.caps]) {
    const steps = scripts.filter((x) => x.caps === caps && !x.name.includes('QUIT')).flatMap((x) => x.steps);
    const all = { name: 'all', caps, steps };
    const expected = comparable(run(all));
    fc.assert(
      fc.property(cuts, (fractions) => {
        assert.deepEqual(comparable(run(all, chunkerFrom(fractions))), expected);
      }),
    );
  }
});
