// Dials a backend. The TLS leg (issue: TLS on both legs) and PROXY protocol headers plug in here; the
// session only ever sees a connected duplex socket and a typed error naming the route and reason.
import net from 'node:net';
import type { BackendConfig } from '../config/types.ts';
import { splitAddress } from '../config/units.ts';
import { BackendUnavailable } from '../errors.ts';
import { encodeProxyV1, encodeProxyV2, type ProxyAddresses } from '../protocol/proxy-protocol.ts';
import type { ReadBuffer } from './read-buffer.ts';

/**
 * Connects; with `backends[].proxy_protocol` the PROXY header (the client's real address) is the first
 * thing written, so MariaDB's `proxy_protocol_networks` sees `user@client-host` as without a gateway.
 */
export function dialBackend(
  backend: BackendConfig,
  route: string,
  timeoutMs: number,
  proxy: ProxyAddresses | null = null,
  reads: ReadBuffer | null = null,
): Promise<net.Socket> {
  const { host, port } = splitAddress(backend.address);
  return new Promise((resolve, reject) => {
    const socket: net.Socket = net.connect({ host, port, noDelay: true, ...(reads !== null ? { onread: reads.onread(() => socket) } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new BackendUnavailable(route, `backend ${backend.name} (${backend.address}) did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      if (backend.proxy_protocol === 'v1') socket.write(encodeProxyV1(proxy ?? { src: null, dst: null }));
      else if (backend.proxy_protocol === 'v2') socket.write(encodeProxyV2(proxy ?? { src: null, dst: null }));
      resolve(socket);
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(new BackendUnavailable(route, `backend ${backend.name} (${backend.address}): ${e.message}`, { cause: e }));
    };
    socket.once('error', onError);
  });
}
