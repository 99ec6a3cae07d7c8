// Loading: file → YAML document (line positions kept) → zod schema → env overrides → a
// deep-frozen Config. Precedence is CLI (`--config` picks the file) > SLUICE_* env > file >
// defaults, all applied here and nowhere else. Every problem, from YAML syntax to cross-field
// checks, ends up in one ConfigError listing one line per issue.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { BUILTIN_CONFIG_INPUT } from './defaults.ts';
import { formatIssues, yamlSourceMap, type SourceMap } from './format-issues.ts';
import { configSchema, LOG_LEVELS } from './schema.ts';
import type { Config, LogLevel } from './types.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One human-readable line per problem, e.g. `backends[1].address: expected host:port, got "db" (line 9)`. */
  readonly issues: string[];
  readonly source: string;

  constructor(source: string, issues: string[], options?: ErrorOptions) {
    super(`invalid configuration in ${source}:\n  ${issues.join('\n  ')}`, options);
    this.source = source;
    this.issues = issues;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** Validate an already-parsed value (what the YAML held); `source` positions issues when given. */
export function parseConfigValue(raw: unknown, sourceName: string, env: Env = process.env, source?: SourceMap): Config {
  const input = raw === null || raw === undefined ? {} : raw; // an empty file is the built-in default
  const issues: string[] = [];
  const result = configSchema.safeParse(input);
  if (!result.success) issues.push(...formatIssues(result.error.issues, input, source));

  const envLevel = env['SLUICE_LOG_LEVEL'];
  let level: LogLevel | undefined;
  if (envLevel !== undefined && envLevel !== '') {
    if ((LOG_LEVELS as readonly string[]).includes(envLevel)) level = envLevel as LogLevel;
    else issues.push(`SLUICE_LOG_LEVEL (environment): expected one of ${LOG_LEVELS.join(' | ')}, got ${JSON.stringify(envLevel)}`);
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(sourceName, issues);

  const config: Config = level === undefined ? result.data : { ...result.data, log: { ...result.data.log, level } };
  return deepFreeze(structuredClone(config));
}

/** Parse YAML text; `sourceName` (usually the file path) names it in errors. */
export function parseConfigText(text: string, sourceName = '<config>', env: Env = process.env): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const line = e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line;
      return `yaml: ${e.message.split('\n')[0]} (line ${line})`;
    });
    throw new ConfigError(sourceName, issues);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ConfigError(sourceName, [`yaml: ${(e as Error).message}`], { cause: e });
  }
  return parseConfigValue(raw, sourceName, env, yamlSourceMap(doc, lines));
}

/** The built-in configuration of DESIGN.md §5.2 (env overrides still apply). */
export function defaultConfig(env: Env = process.env): Config {
  return parseConfigValue(BUILTIN_CONFIG_INPUT, '<built-in default>', env);
}

/** `sluice [--config FILE]`: no path means the built-in default. Throws ConfigError. */
export function loadConfig(path?: string, env: Env = process.env): Config {
  if (path === undefined) return defaultConfig(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(path, [`cannot read the file: ${err.code ?? ''} ${err.message}`.trim()], { cause: e });
  }
  return parseConfigText(text, path, env);
}
