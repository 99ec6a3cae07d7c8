// GET /metrics: the Prometheus text exposition of the registry handed to buildAdmin.
// Stays open even when an API token is set (scrapers rarely carry bearer tokens).
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export const metricsRoutes: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
};
