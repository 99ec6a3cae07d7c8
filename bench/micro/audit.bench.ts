// Micro-benchmark of the whole audit path of one statement, as a session drives it: the audit hooks'
// onStatement, the batch (analysis cache hit, digest statistics, the line writer), the queue and the file
// sink's driver writing to a file. One task runs 1,000 prepared point selects over 4 tables, then lets the
// sink write (one event-loop turn); divide its mean by 1,000 for the cost per statement. Never asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Bench } from 'tinybench';
import type * as AuditorMod from '../../src/audit/auditor.ts';
import type * as DigestStatsMod from '../../src/audit/digest-stats.ts';
import type * as CacheMod from '../../src/sql/cache.ts';
import type * as AuditHooksMod from '../../src/session/audit-hooks.ts';
import type { SessionFacts } from '../../src/session/hooks.ts';
import type { CommandStart, StatementResult } from '../../src/session/result-tracker.ts';
import { loadDist } from './common.ts';
import type { MicroSuite } from './common.ts';

const PER_TASK = 1000;

const suite: MicroSuite = {
  async register(bench: Bench, distRoot: string): Promise<void> {
    const { createAuditor } = await loadDist<typeof AuditorMod>(distRoot, 'audit/auditor');
    const { DigestStats } = await loadDist<typeof DigestStatsMod>(distRoot, 'audit/digest-stats');
    const { AnalysisCache } = await loadDist<typeof CacheMod>(distRoot, 'sql/cache');
    const { auditHooks } = await loadDist<typeof AuditHooksMod>(distRoot, 'session/audit-hooks');
    const dir = mkdtempSync(join(tmpdir(), 'sluice-micro-audit-'));
    const registry = new Registry();
    const auditor = createAuditor(
      {
        sinks: [{ type: 'file', path: join(dir, 'audit.jsonl'), rotate: { size: 64 * 1024 * 1024, keep: 1 }, fsync: 1000 }],
        events: ['connect', 'auth', 'query', 'disconnect'],
        max_sql_length: 4096,
        when_full: 'block',
      },
      { registry, logger: pino({ level: 'silent' }) },
    );
    const stats = new DigestStats({ registry });
    const hooks = auditHooks(auditor, stats, new AnalysisCache());
    const facts: SessionFacts[] = Array.from({ length: 8 }, (_, i) => ({
      conn: i + 1, listener: 'main', clientAddress: `127.0.0.1:${50000 + i}`, clientTls: null, user: 'sbtest', schema: 'testdb', route: 'all', backend: 'db1',
    }));
    const commands: CommandStart[] = [1, 2, 3, 4].map((t) => ({
      seqNo: 1, code: 0x17, name: 'COM_STMT_EXECUTE', sql: `SELECT c FROM sbtest${t} WHERE id=?`, sqlTruncated: false, statementId: t, startedAt: 0,
    }));
    let n = 0;
    const statement = (): StatementResult => {
      n++;
      return { command: commands[n & 3]!, index: 0, rows: 1, affectedRows: 0, lastInsertId: 0, warnings: 0, error: null, bytesOut: 187, durationNs: 95_000 + (n & 1023) };
    };
    bench.add(`audit: ${PER_TASK.toLocaleString('en-US')} statements, hooks → file sink`, async () => {
      for (let i = 0; i < PER_TASK; i++) {
        const wait = hooks.onStatement?.(facts[i & 7]!, statement());
        if (wait !== undefined) await wait;
      }
      hooks.flush();
      await new Promise((resolve) => setImmediate(resolve));
    });
    bench.addEventListener('complete', () => {
      void auditor.close({ timeoutMs: 2000 }).finally(() => {
        stats.close();
        rmSync(dir, { recursive: true, force: true });
      });
    });
  },
};

export default suite;
