// The root pino logger. One per process; sessions take `root.child({ conn, client })` and, after auth,
// a child with user/route/backend. Passwords and auth responses are redacted wherever they might appear.
import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['*.password', '*.authResponse', 'password', 'authResponse'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
