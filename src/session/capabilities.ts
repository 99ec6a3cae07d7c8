// Capability negotiation across the two legs (PROTOCOL-NOTES A3.9). The greeting advertises what Sluice
// can relay ∩ what the backend offers; the response sent upstream is what the client asked ∩ what was
// advertised, with bit 0 (CLIENT_MYSQL, MariaDB's "extended caps follow" signal) kept as the client sent it.
import { Capability, MariaDbCapability } from '../protocol/constants.ts';

/** Everything the relay handles. Not COMPRESS (not implemented), not the MySQL 8 format changers. */
export const GATEWAY_CAPABILITIES =
  (0xffffffff &
    ~Capability.COMPRESS &
    ~Capability.SSL &
    ~Capability.ZSTD_COMPRESSION_ALGORITHM &
    ~Capability.QUERY_ATTRIBUTES &
    ~Capability.OPTIONAL_RESULTSET_METADATA &
    ~Capability.MULTI_FACTOR_AUTHENTICATION &
    ~Capability.CAPABILITY_EXTENSION &
    ~Capability.SSL_VERIFY_SERVER_CERT &
    ~Capability.REMEMBER_OPTIONS) >>>
  0;

/**
 * MariaDB extended capabilities the relay handles. CACHE_METADATA: the server sends a prepared statement's
 * column definitions only when they change, not with every COM_STMT_EXECUTE; masking keeps each statement's
 * definitions for the EXECUTEs that skip them (session/masking-controller.ts).
 */
export const GATEWAY_MARIADB_CAPABILITIES =
  MariaDbCapability.PROGRESS | MariaDbCapability.STMT_BULK_OPERATIONS | MariaDbCapability.EXTENDED_METADATA | MariaDbCapability.CACHE_METADATA;

export interface CapabilityPolicy {
  /** Relay LOAD DATA LOCAL INFILE (limits.allow_local_infile). */
  allowLocalInfile: boolean;
}

/** Capabilities for Sluice's own greeting, from the backend's greeting. */
export function greetingCapabilities(backendCaps: number, policy: CapabilityPolicy): number {
  let caps = backendCaps & GATEWAY_CAPABILITIES;
  if (!policy.allowLocalInfile) caps &= ~Capability.LOCAL_FILES;
  return caps >>> 0;
}

export function greetingMariaDbCapabilities(backendCaps: number, backendExt: number): number {
  // extended caps only count when the server cleared bit 0
  if ((backendCaps & Capability.LONG_PASSWORD) !== 0) return 0;
  return backendExt & GATEWAY_MARIADB_CAPABILITIES;
}

/**
 * Capabilities to send upstream: client ∩ advertised, bit 0 exactly as the client sent it.
 * `advertised` must be what the client was shown (so a client that sets bits blindly, like PyMySQL,
 * never enables COMPRESS or LOCAL_FILES upstream behind our back).
 */
export function upstreamCapabilities(clientCaps: number, advertised: number): number {
  const bit0 = clientCaps & Capability.LONG_PASSWORD;
  return ((clientCaps & advertised & ~Capability.LONG_PASSWORD) | bit0) >>> 0;
}

export function upstreamMariaDbCapabilities(clientCaps: number, clientExt: number, advertisedExt: number): number {
  if ((clientCaps & Capability.LONG_PASSWORD) !== 0) return 0;
  return clientExt & advertisedExt;
}
