// GET /api/v1/digests?limit=N: the top statements by total time (pt-query-digest's profile), from the
// `digests` callback. Digests carry no literal values: they are safe to show to operators.
import type { FastifyPluginAsync } from 'fastify';
import type { DigestRow } from '../../audit/digest-stats.ts';

export const digestRoutes: FastifyPluginAsync<{ digests: (limit: number) => DigestRow[] }> = async (app, { digests }) => {
  app.get<{ Querystring: { limit?: string } }>('/api/v1/digests', async (req, reply) => {
    const raw = req.query.limit ?? '20';
    const limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return reply.code(400).send({ error: 'bad_request', message: `limit: expected a whole number 1–1000, got "${raw}"` });
    }
    return { digests: digests(limit) };
  });
};
