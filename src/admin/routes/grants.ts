// Masking grants (DESIGN §5.4): GET/POST /api/v1/masking/grants, DELETE /api/v1/masking/grants/:id.
// Bodies are validated with zod (strict; `reason` required; ttl like "2h"); bad input is 400
// `{error, message}`. Every state change (and every refused one) calls `onAdminEvent`, which the
// caller turns into an audit `admin` event. The caller is the bearer-token holder: `x-sluice-caller`
// names a person when the token is shared.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../config/units.ts';
import { GrantError } from '../../masking/grants.ts';
import type { GrantStore } from '../../masking/grants.ts';
import { callerOf } from '../admin-action.ts';

export interface AdminEvent {
  verb: 'masking.grant.create' | 'masking.grant.revoke';
  /** The grant id (or the user, when the create was refused before an id existed). */
  target: string;
  reason: string;
  caller: string;
  ok: boolean;
  details: Record<string, unknown>;
}

export interface GrantsRoutesOptions {
  store: GrantStore;
  onAdminEvent: (e: AdminEvent) => void;
  /** Longest ttl accepted, ms; default 7 days. */
  maxTtlMs?: number;
}

const createBody = z.strictObject({
  user: z.string().min(1).max(256),
  rules: z.array(z.string().min(1)).min(1),
  ttl: z.string().min(1),
  reason: z.string().trim().min(1, { message: 'reason is required' }).max(1000),
  created_by: z.string().min(1).max(256).optional(),
});

const idParams = z.strictObject({ id: z.string().min(1).max(64) });

function bad(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: 'bad_request', message });
}

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}

export async function grantsRoutes(app: FastifyInstance, opts: GrantsRoutesOptions): Promise<void> {
  const { store, onAdminEvent } = opts;
  const maxTtl = opts.maxTtlMs ?? 7 * 24 * 3_600_000;

  app.get('/api/v1/masking/grants', async () => ({ grants: store.list() }));

  app.post('/api/v1/masking/grants', async (req, reply) => {
    const caller = callerOf(req);
    const parsed = createBody.safeParse(req.body ?? {});
    if (!parsed.success) return bad(reply, issues(parsed.error));
    const b = parsed.data;
    const ttl = parseDuration(b.ttl);
    if (!ttl.ok) return bad(reply, `ttl: ${ttl.reason}`);
    if (ttl.value <= 0 || ttl.value > maxTtl) return bad(reply, `ttl: must be > 0 and at most ${maxTtl} ms`);
    try {
      const g = store.create({ user: b.user, rules: b.rules, ttl_ms: ttl.value, reason: b.reason, created_by: b.created_by ?? caller });
      onAdminEvent({ verb: 'masking.grant.create', target: g.id, reason: b.reason, caller, ok: true, details: { user: g.user, rules: g.rules, expires_at: g.expires_at } });
      return reply.code(201).send(g);
    } catch (e) {
      if (e instanceof GrantError) {
        onAdminEvent({ verb: 'masking.grant.create', target: b.user, reason: b.reason, caller, ok: false, details: { error: e.message, rules: b.rules } });
        return bad(reply, e.message);
      }
      throw e;
    }
  });

  app.delete('/api/v1/masking/grants/:id', async (req, reply) => {
    const caller = callerOf(req);
    const p = idParams.safeParse(req.params);
    if (!p.success) return bad(reply, issues(p.error));
    const q = req.query as Record<string, unknown> | undefined;
    const reason = typeof q?.['reason'] === 'string' ? q['reason'] : '';
    try {
      const g = store.revoke(p.data.id);
      onAdminEvent({ verb: 'masking.grant.revoke', target: g.id, reason, caller, ok: true, details: { user: g.user, rules: g.rules } });
      return reply.code(200).send(g);
    } catch (e) {
      if (e instanceof GrantError) {
        onAdminEvent({ verb: 'masking.grant.revoke', target: p.data.id, reason, caller, ok: false, details: { error: e.message } });
        return reply.code(404).send({ error: 'not_found', message: e.message });
      }
      throw e;
    }
  });
}
