// Micro-benchmark of src/sql and the audit line writer: tokenizer and digest on short and long statements,
// analyzeCached on a cache hit (exact text, or digest only) versus a miss (full parse), and one query event
// serialized by the hot-path writer versus serializeEvent. Never asserted by tests.
import type { Bench } from 'tinybench';
import type * as TokenizerMod from '../../src/sql/tokenizer.ts';
import type * as DigestMod from '../../src/sql/digest.ts';
import type * as CacheMod from '../../src/sql/cache.ts';
import type * as EventsMod from '../../src/audit/events.ts';
import type * as LineWriterMod from '../../src/audit/line-writer.ts';
import { loadDist } from './common.ts';
import type { MicroSuite } from './common.ts';

const SHORT = 'SELECT id, name, phone FROM customers WHERE id = 42';
const LONG =
  "SELECT c.id, c.name, CONCAT(c.first_name, ' ', c.last_name) AS full_name, o.total, o.created_at, " +
  '(SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id) AS items ' +
  'FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id LEFT JOIN shop.addresses a ON a.customer_id = c.id ' +
  "WHERE o.status IN ('paid', 'shipped', 'delivered', 'returned') AND o.created_at >= '2024-01-01 00:00:00' " +
  "AND c.country = 'CN' AND o.total > 100.50 AND a.city IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10) " +
  'GROUP BY c.id, o.id HAVING SUM(o.total) > 1000 ORDER BY o.created_at DESC LIMIT 50 OFFSET 100';

const suite: MicroSuite = {
  async register(bench: Bench, distRoot: string): Promise<void> {
    const { tokenize } = await loadDist<typeof TokenizerMod>(distRoot, 'sql/tokenizer');
    const { digest } = await loadDist<typeof DigestMod>(distRoot, 'sql/digest');
    const { AnalysisCache } = await loadDist<typeof CacheMod>(distRoot, 'sql/cache');
    const ev = await loadDist<typeof EventsMod>(distRoot, 'audit/events');
    const lw = await loadDist<typeof LineWriterMod>(distRoot, 'audit/line-writer');
    const cache = new AnalysisCache();
    cache.analyzeCached(SHORT);
    cache.analyzeCached(LONG);
    const variants = Array.from({ length: 4096 }, (_, i) => SHORT.replace('42', String(i)));
    let n = 0;
    const e: EventsMod.QueryEvent = {
      ts: ev.auditTimestamp(), event: 'query', conn: 12, client: { addr: '127.0.0.1:54321', tls: null }, user: 'sbtest', route: 'all',
      backend: 'db', schema: 'testdb', command: 'COM_STMT_EXECUTE', sql: 'SELECT c FROM sbtest1 WHERE id=?', digest: 'SELECT c FROM sbtest1 WHERE id = ?',
      tables: [{ schema: 'testdb', table: 'sbtest1', op: 'select' }], duration_us: 123, rows: 1, affected: 0, bytes_out: 200, masked: [], error: null,
    };
    const session = Buffer.from(ev.querySessionJson(e.client, e.user, e.route, e.backend, e.schema));
    const analysis = Buffer.from(ev.queryAnalysisJson(e.digest, e.tables));
    const sql = lw.sqlJsonBytes(e.sql);
    const writer = new lw.JsonLinesWriter();
    let written = 0;
    bench
      .add('tokenize short', () => void tokenize(SHORT))
      .add('digest short', () => void digest(SHORT))
      .add('digest long', () => void digest(LONG))
      .add('analyzeCached exact-text hit', () => void cache.analyzeCached(LONG))
      .add('analyzeCached digest hit', () => void cache.analyzeCached(variants[n++ & 4095] as string))
      .add('analyzeCached miss (parse)', () => void new AnalysisCache({ maxEntries: 1 }).analyzeCached(SHORT))
      .add('audit serializeEvent', () => void ev.serializeEvent(e))
      .add('audit JsonLinesWriter.query (sealed every 100)', () => {
        writer.query({
          epochMs: ev.epochNow(), conn: e.conn, session, command: e.command, sql, sqlTruncated: false, statementIndex: undefined, analysis,
          durationUs: e.duration_us, rows: e.rows, affected: e.affected, bytesOut: e.bytes_out, masked: e.masked, error: null,
        });
        if (++written % 100 === 0) writer.seal();
      });
  },
};

export default suite;
