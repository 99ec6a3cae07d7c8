// Sluice's own greeting before a backend is chosen (DESIGN §3 step 1, issue 4 item 3): the version string
// of the first backend behind the listener and the intersection of the capabilities of every backend
// the listener can lead to, so a client never negotiates something its eventual backend cannot do. A
// backend whose greeting is not known yet counts as the conservative default below.
import { Capability } from '../protocol/constants.ts';
import type { HandshakeV10 } from '../protocol/handshake-v10.ts';

/**
 * Nothing learned yet: a MariaDB-shaped greeting (bit 0 clear, extended caps in the filler). The client
 * settles the result format with this greeting before the backend is known, and the backend only gets
 * client ∩ its own caps: so advertise no capability that changes what the server sends (EOF vs OK, OK
 * layout, column definitions) and that an older MySQL/MariaDB or a MySQL 8 may lack.
 */
export const DEFAULT_GREETING: HandshakeV10 = Object.freeze({
  protocolVersion: 10,
  serverVersion: '5.5.5-10.11.0-MariaDB-sluice',
  connectionId: 0,
  scramble: Buffer.alloc(20),
  capabilities: (0xfffffffe & ~Capability.SSL & ~Capability.DEPRECATE_EOF & ~Capability.SESSION_TRACK) >>> 0,
  charset: 45,
  statusFlags: 2,
  mariadbCapabilities: 0,
  authPluginName: 'mysql_native_password',
});

export interface KnownGreeting {
  readonly serverVersion: string;
  readonly capabilities: number;
  readonly mariadbCapabilities: number;
  readonly charset?: number;
}

/** Intersects what is known of the backends; `null` entries (unknown backends) count as the default. */
export function intersectGreetings(known: ReadonlyArray<KnownGreeting | null>): HandshakeV10 {
  const first = known.find((k): k is KnownGreeting => k !== null);
  if (first === undefined) return DEFAULT_GREETING;
  let caps = 0xffffffff;
  let ext = 0xffffffff;
  for (const k of known) {
    caps &= k === null ? DEFAULT_GREETING.capabilities : k.capabilities;
    ext &= k === null ? 0 : k.mariadbCapabilities;
  }
  // bit 0 clear means "MariaDB extended caps follow": only when every backend said so
  if (known.some((k) => k === null || (k.capabilities & Capability.LONG_PASSWORD) !== 0)) {
    caps |= Capability.LONG_PASSWORD;
    ext = 0;
  }
  return { ...DEFAULT_GREETING, serverVersion: first.serverVersion, charset: first.charset ?? DEFAULT_GREETING.charset, capabilities: caps >>> 0, mariadbCapabilities: ext >>> 0 };
}
