// Hook points of a session (DESIGN §1): audit, metrics and (later) masking subscribe here. Hooks are
// called synchronously on the hot path: keep them cheap and never throw (errors are logged and ignored).
import type { CommandStart, StatementResult } from './result-tracker.ts';

export interface SessionFacts {
  readonly conn: number;
  readonly listener: string;
  readonly clientAddress: string;
  readonly user: string | null;
  readonly schema: string | null;
  readonly route: string | null;
  readonly backend: string | null;
}

export interface AuthOutcome {
  readonly ok: boolean;
  readonly error: { code: number; sqlState: string | null; message: string } | null;
}

export interface SessionHooks {
  /** Whether the tracker must decode SQL text (costs a utf8 decode per statement). */
  readonly wantsSql: boolean;
  onConnect?(s: SessionFacts): void;
  onAuth?(s: SessionFacts, outcome: AuthOutcome): void;
  onCommand?(s: SessionFacts, cmd: CommandStart): void;
  onStatement?(s: SessionFacts, result: StatementResult): void;
  onDisconnect?(s: SessionFacts, totals: { durationMs: number; statements: number; bytesIn: number; bytesOut: number; reason: string }): void;
}

/** Combines several hook sets into one (metrics + audit + …). */
export function combineHooks(list: readonly SessionHooks[]): SessionHooks {
  const pick = <K extends keyof SessionHooks>(k: K) => list.map((h) => h[k]).filter((f) => typeof f === 'function');
  const connect = pick('onConnect') as Array<NonNullable<SessionHooks['onConnect']>>;
  const auth = pick('onAuth') as Array<NonNullable<SessionHooks['onAuth']>>;
  const command = pick('onCommand') as Array<NonNullable<SessionHooks['onCommand']>>;
  const statement = pick('onStatement') as Array<NonNullable<SessionHooks['onStatement']>>;
  const disconnect = pick('onDisconnect') as Array<NonNullable<SessionHooks['onDisconnect']>>;
  return {
    wantsSql: list.some((h) => h.wantsSql),
    onConnect: (s) => connect.forEach((f) => f(s)),
    onAuth: (s, o) => auth.forEach((f) => f(s, o)),
    onCommand: (s, c) => command.forEach((f) => f(s, c)),
    onStatement: (s, r) => statement.forEach((f) => f(s, r)),
    onDisconnect: (s, t) => disconnect.forEach((f) => f(s, t)),
  };
}
