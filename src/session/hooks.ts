// Hook points of a session (DESIGN §1): metrics, audit and (later) masking subscribe here. Hooks are
// called synchronously on the hot path: keep them cheap. A hook may return a promise to apply
// back-pressure (a full audit queue with `when_full: block`): the session stops reading from its client
// until the promise settles.
import type { CommandStart, StatementResult } from './result-tracker.ts';

export interface TlsFacts {
  readonly version: string;
  readonly cipher: string;
  readonly sni: string | null;
}

export interface SessionFacts {
  readonly conn: number;
  readonly listener: string;
  readonly clientAddress: string;
  readonly clientTls?: TlsFacts | null;
  readonly user: string | null;
  readonly schema: string | null;
  readonly route: string | null;
  readonly backend: string | null;
}

export interface AuthOutcome {
  readonly ok: boolean;
  readonly error: { code: number; sqlState: string | null; message: string } | null;
}

export interface DisconnectTotals {
  readonly durationMs: number;
  readonly statements: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly reason: string;
}

type Ret = void | Promise<void>;

export interface SessionHooks {
  /** Whether the tracker must decode SQL text (costs a utf8 decode per statement). */
  readonly wantsSql: boolean;
  onConnect?(s: SessionFacts): Ret;
  onAuth?(s: SessionFacts, outcome: AuthOutcome): Ret;
  onCommand?(s: SessionFacts, cmd: CommandStart): Ret;
  onStatement?(s: SessionFacts, result: StatementResult): Ret;
  onDisconnect?(s: SessionFacts, totals: DisconnectTotals): Ret;
}

/** Combines several hook sets into one (metrics + audit + …); promises are joined. */
export function combineHooks(list: readonly SessionHooks[]): SessionHooks {
  const fns = <A extends unknown[]>(pick: (h: SessionHooks) => ((...a: A) => Ret) | undefined) => {
    const out: Array<(...a: A) => Ret> = [];
    for (const h of list) {
      const f = pick(h);
      if (f !== undefined) out.push(f.bind(h));
    }
    return (...a: A): Ret => {
      let pending: Array<Promise<void>> | null = null;
      for (const f of out) {
        const r = f(...a);
        if (r !== undefined) (pending ??= []).push(r);
      }
      return pending === null ? undefined : Promise.all(pending).then(() => undefined);
    };
  };
  return {
    wantsSql: list.some((h) => h.wantsSql),
    onConnect: fns((h) => h.onConnect),
    onAuth: fns((h) => h.onAuth),
    onCommand: fns((h) => h.onCommand),
    onStatement: fns((h) => h.onStatement),
    onDisconnect: fns((h) => h.onDisconnect),
  };
}
