// Public surface of the sans-I/O protocol codec: everything the session layer needs to frame,
// parse and encode MySQL/MariaDB packets. Nothing here touches sockets, timers or Sluice modules.

export * from './errors.ts';
export * from './constants.ts';
export * from './reader.ts';
export * from './writer.ts';
export * from './packet.ts';
export * from './framer.ts';
export * from './handshake-v10.ts';
export * from './handshake-response41.ts';
export * from './ssl-request.ts';
export * from './auth.ts';
export * from './ok.ts';
export * from './err.ts';
export * from './eof.ts';
export * from './column-definition.ts';
export * from './text-row.ts';
export * from './binary-row.ts';
export * from './commands.ts';
