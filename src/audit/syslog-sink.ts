// RFC 5424 syslog sink. Each event becomes `<PRI>1 TS HOST sluice PID MSGID - JSON` with PRI =
// facility*8 + 6 (info), TS = the event's own `ts`, MSGID = the event kind. UDP: one datagram per
// event (unconnected socket, so an absent collector is not an error; datagrams over 64 KiB cannot be
// sent and are logged and skipped). TCP: RFC 6587 octet counting (`<len> <msg>`), reconnecting on
// the next write after any failure; the driver's back-off paces the reconnects.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Batch } from './queue.ts';
import type { AuditSink } from './sink.ts';

export const SYSLOG_FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10,
  ftp: 11, ntp: 12, security: 13, console: 14, clock: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

export interface SyslogSinkOptions {
  /** `host:port` or `[v6]:port`; port defaults to 514 */
  readonly address: string;
  readonly protocol: 'udp' | 'tcp';
  /** default local0 */
  readonly facility?: string;
  readonly logger: Logger;
  readonly appName?: string;
  readonly hostname?: string;
}

const SEVERITY_INFO = 6;
const MAX_UDP_PAYLOAD = 65_507;

export function parseHostPort(address: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  if (m === null || m[1] === undefined) throw new Error(`bad address "${address}" (want host:port)`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`bad port in "${address}"`);
  return { host: m[1], port };
}

/** `"ts":"…"` and `"event":"…"` from a line produced by serializeEvent (ts first, event second). */
function headerFields(line: string): { ts: string; kind: string } {
  let ts = '-';
  let kind = '-';
  if (line.startsWith('{"ts":"')) {
    const end = line.indexOf('"', 7);
    if (end > 7) ts = line.substring(7, end);
    const k = line.indexOf('"event":"', end);
    if (k > 0) {
      const kEnd = line.indexOf('"', k + 9);
      if (kEnd > k + 9) kind = line.substring(k + 9, kEnd);
    }
  }
  return { ts, kind };
}

export class SyslogSink implements AuditSink {
  readonly name: string;
  readonly #host: string;
  readonly #port: number;
  readonly #protocol: 'udp' | 'tcp';
  readonly #prefix: string; // "<PRI>1 "
  readonly #suffix: string; // " HOST APP PID "
  readonly #log: Logger;
  #udp: UdpSocket | null = null;
  #tcp: Socket | null = null;

  constructor(opts: SyslogSinkOptions) {
    const { host, port } = parseHostPort(opts.address, 514);
    const facilityName = opts.facility ?? 'local0';
    const facility = (SYSLOG_FACILITIES as Record<string, number>)[facilityName];
    if (facility === undefined) throw new Error(`unknown syslog facility "${facilityName}"`);
    this.#host = host;
    this.#port = port;
    this.#protocol = opts.protocol;
    this.#prefix = `<${facility * 8 + SEVERITY_INFO}>1 `;
    const h = (opts.hostname ?? hostname()).replace(/[^\x21-\x7e]/g, '') || '-';
    this.#suffix = ` ${h.substring(0, 255)} ${opts.appName ?? 'sluice'} ${process.pid} `;
    this.#log = opts.logger;
    this.name = `syslog:${opts.protocol}:${opts.address}`;
  }

  /** The RFC 5424 message for one serialized event (no framing). */
  format(line: string): string {
    const { ts, kind } = headerFields(line);
    return `${this.#prefix}${ts}${this.#suffix}${kind} - ${line}`;
  }

  async open(): Promise<void> {
    if (this.#protocol === 'udp') {
      if (this.#udp === null) {
        const sock = createSocket(this.#host.includes(':') ? 'udp6' : 'udp4');
        sock.on('error', (e) => this.#log.warn({ err: e.message }, 'audit syslog udp socket error'));
        sock.unref();
        this.#udp = sock;
      }
    } else {
      await this.#connectTcp();
    }
  }

  async write(batch: Batch): Promise<void> {
    if (this.#protocol === 'udp') return this.#writeUdp(batch);
    return this.#writeTcp(batch);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    const u = this.#udp;
    this.#udp = null;
    if (u !== null) await new Promise<void>((resolve) => u.close(() => resolve()));
    const t = this.#tcp;
    this.#tcp = null;
    if (t !== null && !t.destroyed) {
      await new Promise<void>((resolve) => {
        t.once('close', () => resolve());
        t.end();
        setTimeout(() => t.destroy(), 2000).unref();
      });
    }
  }

  async #writeUdp(batch: Batch): Promise<void> {
    if (this.#udp === null) await this.open();
    const sock = this.#udp as UdpSocket;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < batch.count; i++) {
      const msg = Buffer.from(this.format(batch.line(i).toString('utf8')), 'utf8');
      if (msg.length > MAX_UDP_PAYLOAD) {
        this.#log.error({ bytes: msg.length, sink: this.name }, 'audit event too large for one syslog UDP datagram; skipped (lower max_sql_length)');
        continue;
      }
      sends.push(
        new Promise<void>((resolve, reject) => {
          sock.send(msg, this.#port, this.#host, (err) => (err ? reject(err) : resolve()));
        }),
      );
    }
    await Promise.all(sends);
  }

  async #writeTcp(batch: Batch): Promise<void> {
    const sock = this.#tcp !== null && !this.#tcp.destroyed ? this.#tcp : await this.#connectTcp();
    let out = '';
    for (let i = 0; i < batch.count; i++) {
      const msg = this.format(batch.line(i).toString('utf8'));
      out += `${Buffer.byteLength(msg, 'utf8')} ${msg}`;
    }
    await new Promise<void>((resolve, reject) => {
      sock.write(out, 'utf8', (err) => {
        if (err) {
          sock.destroy();
          reject(err);
        } else resolve();
      });
    });
  }

  #connectTcp(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const sock = connect({ host: this.#host, port: this.#port });
      sock.setNoDelay(true);
      const onError = (e: Error): void => {
        sock.destroy();
        reject(e);
      };
      sock.once('error', onError);
      sock.once('connect', () => {
        sock.off('error', onError);
        sock.on('error', (e) => this.#log.warn({ err: e.message, sink: this.name }, 'audit syslog tcp connection error'));
        sock.on('close', () => {
          if (this.#tcp === sock) this.#tcp = null;
        });
        sock.resume(); // a collector never sends; discard anything it does send
        this.#tcp = sock;
        resolve(sock);
      });
    });
  }
}
