// What every state-changing admin verb reports (drain, undrain, reload, grants): the caller turns it into
// an audit `admin` event and a log line. The caller is the bearer-token holder; `x-sluice-caller` names a
// person when the token is shared.
import type { FastifyRequest } from 'fastify';

export interface AdminAction {
  verb: string;
  target: string | null;
  reason: string | null;
  caller: string;
  ok: boolean;
  details: Record<string, unknown>;
}

export type OnAdminAction = (a: AdminAction) => void;

export function callerOf(req: FastifyRequest): string {
  const h = req.headers['x-sluice-caller'];
  return typeof h === 'string' && h !== '' ? h : `admin@${req.ip}`;
}
