// mask-rows-{0,10,100}pct: plan a 4-column result set (id, name, phone, notes) and mask 1,000 text
// rows in which 0 %, 10 % or 100 % of the rows carry a value that gets masked. One task = plan +
// 1,000 rows, so µs/row = mean / 1000. Rows are built once, outside the measured function.
import type { Bench } from 'tinybench';
import type * as PolicyMod from '../../src/masking/policy.ts';
import type * as ProtocolMod from '../../src/protocol/index.ts';
import { loadDist } from './common.ts';
import type { MicroSuite } from './common.ts';

const suite: MicroSuite = {
  async register(bench: Bench, distRoot: string): Promise<void> {
    const { compilePolicy } = await loadDist<typeof PolicyMod>(distRoot, 'masking/policy');
    const { encodeTextRow, ColumnType } = await loadDist<typeof ProtocolMod>(distRoot, 'protocol/index');
    const rs = compilePolicy({
      default: ['phone', 'free'],
      rules: [
        { name: 'phone', columns: ['crm.users.phone'], mask: { type: 'partial', keep_first: 3, keep_last: 4, char: '*' } },
        { name: 'free', detect: ['cn_mobile', 'email'], mask: { type: 'full', char: '*' } },
      ],
      exempt_users: [],
      on_bypass: 'reject',
      grants_file: 'unused.json',
    }, { key: Buffer.from('bench') }).forRoute(undefined);
    const col = (name: string, type: number) => ({
      catalog: 'def', schema: 'crm', table: 'users', orgTable: 'users', name, orgName: name, extendedMetadata: null,
      charset: 45, columnLength: 1020, type, flags: 0, decimals: 0,
    });
    const cols = [col('id', ColumnType.LONG), col('name', ColumnType.VAR_STRING), col('phone', ColumnType.VAR_STRING), col('notes', ColumnType.BLOB)];
    const rows = (pct: number): Buffer[] => Array.from({ length: 1000 }, (_, i) => {
      const masked = (i * pct) % 100 < pct && pct > 0;
      return encodeTextRow([String(i), `用户${i}`, masked ? '13812345678' : null, masked ? 'call me at 13900001111 or me@example.com' : 'nothing secret in this note at all']);
    });
    let sink = 0;
    for (const pct of [0, 10, 100]) {
      const data = rows(pct);
      bench.add(`mask-rows-${pct}pct (plan + 1000 rows)`, () => {
        const plan = rs.planColumns(cols, { exemptRules: new Set() });
        if (plan === null) return;
        for (const r of data) sink += plan.maskTextRow(r).length;
      });
    }
    bench.addEventListener('complete', () => {
      if (sink < 0) console.log(sink);
    });
  },
};
export default suite;
