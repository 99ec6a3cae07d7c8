// Builds (does not start) the admin HTTP server: a Fastify instance with the routes of
// routes/*.ts. When `token` is set every /api/* request, including unknown paths, needs
// `Authorization: Bearer <token>`, compared in constant time; /metrics stays open. Every
// error is JSON `{ error, message }`. Later routes (backends, grants, reload) register on
// the returned instance before `listen()`, and inherit the token check.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AdminErrorBody, ConnectionInfo, StatusInfo } from './types.ts';
import { connectionRoutes } from './routes/connections.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { statusRoutes } from './routes/status.ts';

export type { AdminErrorBody, ConnectionInfo, StatusInfo } from './types.ts';

export interface AdminOptions {
  registry: Registry;
  status: () => StatusInfo;
  connections: () => ConnectionInfo[];
  /** The bearer token for /api/*; undefined or empty: the API is open (bind it to localhost). */
  token?: string | undefined;
  logger?: Logger | undefined;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time check of an Authorization header; hashing first makes the length irrelevant. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const given = digest(m?.[1] ?? '');
  return timingSafeEqual(given, expected) && m !== null;
}

function isApiPath(path: string): boolean {
  const p = path.split('?')[0]?.toLowerCase() ?? '';
  return p === '/api' || p.startsWith('/api/');
}

function safeDecode(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

function errorBody(error: string, message: string): AdminErrorBody {
  return { error, message };
}

const ERROR_WORDS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export function buildAdmin(opts: AdminOptions): FastifyInstance {
  const app: FastifyInstance =
    opts.logger === undefined
      ? Fastify({ logger: false })
      : (Fastify({ loggerInstance: opts.logger as unknown as FastifyBaseLogger }) as unknown as FastifyInstance);

  if (opts.token !== undefined && opts.token !== '') {
    const expected = digest(opts.token);
    app.addHook('onRequest', async (req, reply) => {
      // Judge by the matched route pattern, not only the raw URL: the router decodes
      // "/%61pi/v1/status" to the /api route, which a raw-prefix check would let through.
      const pattern = req.routeOptions.url;
      const protectedPath = pattern !== undefined ? isApiPath(pattern) : isApiPath(safeDecode(req.url));
      if (!protectedPath) return;
      if (bearerMatches(req.headers.authorization, expected)) return;
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="sluice"')
        .send(errorBody('unauthorized', 'this endpoint needs "Authorization: Bearer <token>"'));
    });
  }

  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)),
  );
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'admin request failed');
      return reply.code(status).send(errorBody('internal', 'internal error; see the gateway log'));
    }
    return reply.code(status).send(errorBody(ERROR_WORDS[status] ?? 'bad_request', err.message));
  });

  void app.register(metricsRoutes, { registry: opts.registry });
  void app.register(statusRoutes, { status: opts.status });
  void app.register(connectionRoutes, { connections: opts.connections });
  return app;
}
