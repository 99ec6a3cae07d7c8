// Reads the PROXY protocol header (v1 or v2) a trusted load balancer sends before any MySQL byte, from a
// socket in flowing mode: the bytes after it are put back for the handshake, and the socket is paused.
import type { Socket } from 'node:net';
import { BadHandshake } from '../errors.ts';
import { parseProxyHeader, type ProxyHeader } from '../protocol/proxy-protocol.ts';
import { LegClosed } from './handshake-leg.ts';

export type ReceivedProxyHeader = Exclude<ProxyHeader, { kind: 'incomplete' }>;

export function readProxyHeader(socket: Socket): Promise<ReceivedProxyHeader> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      let h: ProxyHeader;
      try {
        h = parseProxyHeader(buf);
      } catch (e) {
        cleanup();
        reject(new BadHandshake(`expected a PROXY protocol header from the load balancer: ${(e as Error).message}`));
        return;
      }
      if (h.kind === 'incomplete') return;
      cleanup();
      if (h.consumed < buf.length) socket.unshift(buf.subarray(h.consumed));
      resolve(h);
    };
    const onClose = (): void => {
      cleanup();
      reject(new LegClosed('client', 'before its PROXY header'));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
