// Renders a Config back to YAML for `sluice check-config`: the effective configuration with
// every default filled in, durations and sizes written back with units, so the output is
// itself a valid config file that loads to the same Config. Unit fields are listed here by
// path pattern ('*' = any list index); keep the list in step with the schema's unit() fields.
import { stringify } from 'yaml';
import { formatDuration, formatSize } from './units.ts';
import type { Config } from './types.ts';

const DURATIONS = [
  'health_check.interval',
  'health_check.timeout',
  'audit.sinks.*.fsync',
  'limits.handshake_timeout',
  'limits.idle_timeout',
  'shutdown_timeout',
];
const SIZES = ['audit.sinks.*.rotate.size', 'limits.max_packet'];

function render(v: unknown, path: string): unknown {
  if (typeof v === 'number') {
    if (DURATIONS.includes(path)) return formatDuration(v);
    if (SIZES.includes(path)) return formatSize(v);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => render(x, `${path}.*`));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = render(x, path === '' ? k : `${path}.${k}`);
    return out;
  }
  return v;
}

export function formatConfig(config: Config): string {
  return stringify(render(config, ''), { lineWidth: 0 });
}
