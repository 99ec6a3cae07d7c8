// Public face of src/config: import from here. The folder imports nothing of Sluice.
// Config is deep-frozen, keeps the YAML's snake_case keys, durations in ms, sizes in bytes.
export type * from './types.ts';
export { ConfigError, loadConfig, parseConfigText, parseConfigValue, defaultConfig } from './load.ts';
export { formatConfig } from './print.ts';
export { formatIssues, formatPath, yamlSourceMap, type SourceMap } from './format-issues.ts';
export { DEFAULTS, BUILTIN_CONFIG_INPUT } from './defaults.ts';
export { configSchema, LOG_LEVELS, DETECTORS, AUDIT_EVENTS } from './schema.ts';
export { splitAddress, parseAddress, parseDuration, parseSize, parseCidr, formatDuration, formatSize, type HostPort } from './units.ts';
