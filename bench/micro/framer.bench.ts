// framer-push-64k: the protocol framer and the offset-only packet walker fed 64 KiB
// socket chunks of a text result set (sysbench-like 200-byte rows), i.e. the relay's
// per-chunk cost on the response path. Bytes/s = 64 KiB × ops/s.
import type { Bench } from 'tinybench';
import type * as FramerMod from '../../src/protocol/framer.ts';
import type * as WalkerMod from '../../src/protocol/packet-walker.ts';
import { chunks, loadDist, packets, sbtestRow } from './common.ts';
import type { MicroSuite } from './common.ts';

const CHUNK = 64 * 1024;

function input(): Buffer[] {
  const rows: Buffer[] = [];
  for (let i = 0; i < 4000; i++) rows.push(sbtestRow(i));
  // odd offset so packets straddle chunk boundaries like on a real socket
  return chunks(packets(rows), CHUNK).filter((c) => c.length === CHUNK);
}

const suite: MicroSuite = {
  async register(bench: Bench, distRoot: string): Promise<void> {
    const cs = input();
    const { Framer } = await loadDist<typeof FramerMod>(distRoot, 'protocol/framer');
    let i = 0;
    const framer = new Framer();
    let frames = 0;
    bench.add('framer-push-64k', () => {
      framer.push(cs[i++ % cs.length] as Buffer);
      while (framer.next() !== null) frames++;
    });
    const { PacketWalker } = await loadDist<typeof WalkerMod>(distRoot, 'protocol/packet-walker');
    let seen = 0;
    const walker = new PacketWalker(
      {
        onPacket(_seq: number, _len: number, buf: Buffer, off: number): void {
          seen += buf[off] as number;
        },
      },
      { headLimit: 4, maxPacket: 1 << 30 },
    );
    let j = 0;
    bench.add('packet-walker-64k', () => {
      walker.walk(cs[j++ % cs.length] as Buffer);
    });
    // keep the sinks observable so nothing is optimised away
    bench.addEventListener('complete', () => {
      if (frames < 0 || seen < 0) console.log(frames, seen);
    });
  },
};
export default suite;
