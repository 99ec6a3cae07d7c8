// Runs the `mariadb` command-line client for tests. `--no-defaults` always comes first so no
// ~/.my.cnf or /etc/mysql config can change what a test does; stdin is always fed (or closed),
// so the client never waits for a terminal, and a deadline SIGKILLs it so a test can never hang.
// A run that hit the deadline resolves with code 124 (like timeout(1)) and says so in stderr.
import { spawn } from 'node:child_process';

export const MARIADB_CLI = '/usr/bin/mariadb';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function runMariaDbCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(MARIADB_CLI, ['--no-defaults', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // The client may exit before reading all input (e.g. on a login error): ignore EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) stderr += `\n[runMariaDbCli] killed after ${timeoutMs} ms timeout`;
      resolve({
        code: timedOut ? 124 : (code ?? (signal ? 128 : 1)),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
      });
    });
  });
}
