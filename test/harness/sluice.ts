// Starts Sluice in-process for a test, in front of one backend, on free ports (listener and admin port 0).
// Logs go nowhere unless SLUICE_TEST_LOG is set (then to stderr at that level).
import pino from 'pino';
import { parseConfigValue } from '../../src/config/index.ts';
import type { Config } from '../../src/config/index.ts';
import { startSluice, type SluiceHandle, type StartOptions } from '../../src/main.ts';

export interface TestSluiceOptions extends StartOptions {
  /** Deep-merged over the generated config (plain YAML-shaped values). */
  config?: Record<string, unknown>;
}

export function testConfig(backendPort: number, extra: Record<string, unknown> = {}): Config {
  const raw: Record<string, unknown> = {
    listeners: [{ name: 'main', address: '127.0.0.1:0', tls: { mode: 'disabled' } }],
    backends: [{ name: 'db1', address: `127.0.0.1:${backendPort}`, tls: { mode: 'disabled' } }],
    routes: [{ name: 'default', backends: ['db1'] }],
    audit: { sinks: [] },
    admin: { address: '127.0.0.1:0' },
    log: { level: 'silent' },
    ...extra,
  };
  return parseConfigValue(raw, '<test>', {});
}

export async function startTestSluice(backendPort: number, opts: TestSluiceOptions = {}): Promise<SluiceHandle & { port: number }> {
  const level = process.env.SLUICE_TEST_LOG;
  const logger = opts.logger ?? pino({ level: level ?? 'silent' }, pino.destination(2));
  const handle = await startSluice(testConfig(backendPort, opts.config), { ...opts, logger });
  return Object.assign(handle, { port: handle.listenerAddress().port });
}
