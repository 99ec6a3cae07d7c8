// Backends and configuration verbs (DESIGN §5.4): GET /api/v1/backends (health, role, drain, latency),
// POST /api/v1/backends/:name/drain {"redirect_to"?, "reason"?}, POST …/undrain, POST /api/v1/reload.
// Draining stops new connections to a backend (they go to the next in order or to redirect_to); live
// sessions are untouched. Every verb is reported through `onAction` (audit `admin` event + log).
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { BackendStateError, type BackendState } from '../../routing/backend-state.ts';
import { callerOf, type OnAdminAction } from '../admin-action.ts';

export interface BackendsRoutesOptions {
  state: BackendState;
  /** Re-reads the config file and applies it to new connections; throws with the problems when invalid. */
  reload: () => { source: string };
  onAction: OnAdminAction;
}

const drainBody = z.strictObject({ redirect_to: z.string().min(1).nullable().optional(), reason: z.string().max(1000).optional() }).nullable().optional();
const reasonBody = z.strictObject({ reason: z.string().max(1000).optional() }).nullable().optional();

function badBody(reply: FastifyReply, e: z.ZodError): FastifyReply {
  const message = e.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
  return reply.code(400).send({ error: 'bad_request', message });
}

export const backendsRoutes: FastifyPluginAsync<BackendsRoutesOptions> = async (app, { state, reload, onAction }) => {
  app.get('/api/v1/backends', async () => ({ backends: state.snapshot() }));

  app.post<{ Params: { name: string } }>('/api/v1/backends/:name/drain', async (req, reply) => {
    const body = drainBody.safeParse(req.body);
    if (!body.success) return badBody(reply, body.error);
    const caller = callerOf(req);
    const redirect = body.data?.redirect_to ?? null;
    const reason = body.data?.reason ?? null;
    try {
      const d = state.drain(req.params.name, redirect);
      onAction({ verb: 'backend.drain', target: req.params.name, reason, caller, ok: true, details: { redirect_to: redirect } });
      return { backend: req.params.name, drain: d };
    } catch (e) {
      onAction({ verb: 'backend.drain', target: req.params.name, reason, caller, ok: false, details: { error: (e as Error).message } });
      if (e instanceof BackendStateError) return reply.code(e.kind === 'unknown_backend' ? 404 : 400).send({ error: e.kind === 'unknown_backend' ? 'not_found' : 'bad_request', message: e.message });
      throw e;
    }
  });

  app.post<{ Params: { name: string } }>('/api/v1/backends/:name/undrain', async (req, reply) => {
    const body = reasonBody.safeParse(req.body);
    if (!body.success) return badBody(reply, body.error);
    const caller = callerOf(req);
    const reason = body.data?.reason ?? null;
    try {
      const d = state.undrain(req.params.name);
      onAction({ verb: 'backend.undrain', target: req.params.name, reason, caller, ok: true, details: {} });
      return { backend: req.params.name, drain: d };
    } catch (e) {
      onAction({ verb: 'backend.undrain', target: req.params.name, reason, caller, ok: false, details: { error: (e as Error).message } });
      if (e instanceof BackendStateError) return reply.code(404).send({ error: 'not_found', message: e.message });
      throw e;
    }
  });

  app.post('/api/v1/reload', async (req, reply) => {
    const body = reasonBody.safeParse(req.body);
    if (!body.success) return badBody(reply, body.error);
    const caller = callerOf(req);
    const reason = body.data?.reason ?? null;
    try {
      const r = reload();
      onAction({ verb: 'reload', target: r.source, reason, caller, ok: true, details: {} });
      return { ok: true, source: r.source };
    } catch (e) {
      const issues = (e as { issues?: string[] }).issues ?? [(e as Error).message];
      onAction({ verb: 'reload', target: null, reason, caller, ok: false, details: { issues } });
      return reply.code(400).send({ error: 'invalid_config', message: 'the new configuration was rejected; the running one stays', issues });
    }
  });
};
