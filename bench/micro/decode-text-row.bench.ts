// decode-text-row: one sysbench-like text row (4 length-encoded cells) decoded with the
// protocol Reader, as views (what masking needs to find a column) and as strings (what
// a full decode costs). Swap in the result-set codec's row decoder once it lands.
import type { Bench } from 'tinybench';
import type * as ReaderMod from '../../src/protocol/reader.ts';
import { loadDist, sbtestRow } from './common.ts';
import type { MicroSuite } from './common.ts';

const suite: MicroSuite = {
  async register(bench: Bench, distRoot: string): Promise<void> {
    const { Reader } = await loadDist<typeof ReaderMod>(distRoot, 'protocol/reader');
    const rows = Array.from({ length: 256 }, (_, i) => sbtestRow(i * 31));
    let i = 0;
    let sink = 0;
    bench.add('decode-text-row (views)', () => {
      const r = new Reader(rows[i++ & 255] as Buffer);
      for (let c = 0; c < 4; c++) sink += r.lenencBytes()?.length ?? 0;
    });
    bench.add('decode-text-row (strings)', () => {
      const r = new Reader(rows[i++ & 255] as Buffer);
      for (let c = 0; c < 4; c++) sink += r.lenencStr()?.length ?? 0;
    });
    bench.addEventListener('complete', () => {
      if (sink < 0) console.log(sink);
    });
  },
};
export default suite;
