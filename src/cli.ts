#!/usr/bin/env -S node --max-semi-space-size=2
// The `sluice` command (DESIGN.md §5.1): argument parsing, config loading, and handing the
// frozen Config to main.ts. Exit codes: 0 ok, 1 invalid configuration (every problem printed,
// one per line, prefixed with the file name), 2 bad usage. No logger exists yet at this point,
// so messages go straight to stdout/stderr.
import { VERSION } from './version.ts';
import { parseArgs } from 'node:util';
import { ConfigError, formatConfig, loadConfig, type Config } from './config/index.ts';

const USAGE = `usage:
  sluice [--config FILE]        run (no file: the built-in default configuration)
  sluice check-config FILE      validate FILE and print the effective configuration
  sluice --version              print the version
  sluice --help                 print this help

environment:
  SLUICE_LOG_LEVEL              overrides log.level (fatal|error|warn|info|debug|trace|silent)
`;

function printConfigError(e: ConfigError): void {
  for (const line of e.issues) process.stderr.write(`${e.source}: ${line}\n`);
}

function usageError(message: string): number {
  process.stderr.write(`sluice: ${message}\n${USAGE}`);
  return 2;
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return usageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`sluice ${VERSION}\n`);
    return 0;
  }

  const [command, ...rest] = positionals;
  if (command === 'check-config') {
    const file = rest[0] ?? values.config;
    if (file === undefined || rest.length > 1 || (rest[0] !== undefined && values.config !== undefined)) {
      return usageError('check-config needs exactly one FILE');
    }
    try {
      process.stdout.write(formatConfig(loadConfig(file)));
      return 0;
    } catch (e) {
      if (e instanceof ConfigError) {
        printConfigError(e);
        return 1;
      }
      throw e;
    }
  }
  if (command !== undefined) return usageError(`unknown command "${command}"`);

  let config: Config;
  try {
    config = loadConfig(values.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      printConfigError(e);
      return 1;
    }
    throw e;
  }
  await (await import('./main.ts')).run(config, values.config);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`sluice: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
