// GET /api/v1/connections: one row per client session, from the `connections` callback.
// Answered as a bare JSON array (the rows carry no secrets: no passwords, no SQL text).
import type { FastifyPluginAsync } from 'fastify';
import type { ConnectionInfo } from '../types.ts';

export const connectionRoutes: FastifyPluginAsync<{ connections: () => ConnectionInfo[] }> = async (app, { connections }) => {
  app.get('/api/v1/connections', async () => connections());
};
