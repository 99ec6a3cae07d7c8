// GET /api/v1/status: version, uptime, listeners and connection counts, from the `status`
// callback (read at request time, so it always shows the live numbers).
import type { FastifyPluginAsync } from 'fastify';
import type { StatusInfo } from '../types.ts';

export const statusRoutes: FastifyPluginAsync<{ status: () => StatusInfo }> = async (app, { status }) => {
  app.get('/api/v1/status', async () => status());
};
