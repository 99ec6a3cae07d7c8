// The catalogue of errors Sluice itself raises (DESIGN §5.6). Each class carries the MySQL errno and
// SQLSTATE the client will see; `session/err-map.ts` is the one place that turns them into ERR packets.
// Codes 2000–2999 are client-library codes: libmariadb turns a server-sent 2xxx into 2027, so never use them.

export type ErrorSide = 'client' | 'backend' | 'gateway';

export abstract class SluiceError extends Error {
  abstract readonly code: string;
  abstract readonly errno: number;
  abstract readonly sqlState: string;
  abstract readonly side: ErrorSide;
  /** Whether the connection must be closed after the ERR is sent. */
  readonly fatal: boolean = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InsecureTransport extends SluiceError {
  readonly code = 'INSECURE_TRANSPORT';
  readonly errno = 3159;
  readonly sqlState = 'HY000';
  readonly side = 'client';
  constructor() {
    super('Connections using insecure transport are prohibited while --require_secure_transport=ON. (sluice: this listener requires TLS)');
  }
}

export class RouteNotFound extends SluiceError {
  readonly code = 'ROUTE_NOT_FOUND';
  readonly errno = 1045;
  readonly sqlState = '28000';
  readonly side = 'client';
  constructor(user: string, host: string, detail: string) {
    super(`Access denied for user '${user}'@'${host}' (sluice: no route ${detail})`);
  }
}

export class BackendUnavailable extends SluiceError {
  readonly code = 'BACKEND_UNAVAILABLE';
  readonly errno = 1429;
  readonly sqlState = 'HY000';
  readonly side = 'backend';
  readonly retryable = true;
  constructor(route: string, reason: string, options?: { cause?: unknown }) {
    super(`Unable to connect to foreign data source: ${reason} (sluice: route ${route})`, options);
  }
}

export class UpstreamTlsError extends SluiceError {
  readonly code = 'UPSTREAM_TLS';
  readonly errno = 1429;
  readonly sqlState = 'HY000';
  readonly side = 'backend';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`Unable to connect to foreign data source: SSL connection error: ${reason}`, options);
  }
}

export class TooManyConnections extends SluiceError {
  readonly code = 'TOO_MANY_CONNECTIONS';
  readonly errno = 1040;
  readonly sqlState = '08004';
  readonly side = 'gateway';
  constructor(limit: number) {
    super(`Too many connections (sluice: limits.max_connections = ${limit})`);
  }
}

export class ShuttingDown extends SluiceError {
  readonly code = 'SHUTTING_DOWN';
  readonly errno = 1053;
  readonly sqlState = '08S01';
  readonly side = 'gateway';
  constructor() {
    super('Server shutdown in progress (sluice is draining)');
  }
}

export class PacketTooLarge extends SluiceError {
  readonly code = 'PACKET_TOO_LARGE';
  readonly errno = 1153;
  readonly sqlState = '08S01';
  readonly side = 'client';
  constructor(length: number, max: number) {
    super(`Got a packet bigger than 'max_allowed_packet' bytes (sluice: ${length} > limits.max_packet ${max})`);
  }
}

export class HandshakeTimeout extends SluiceError {
  readonly code = 'HANDSHAKE_TIMEOUT';
  readonly errno = 1158;
  readonly sqlState = '08S01';
  readonly side = 'client';
  constructor(ms: number) {
    super(`Got an error reading communication packets (sluice: handshake not completed within ${ms} ms)`);
  }
}

export class MalformedPacket extends SluiceError {
  readonly code = 'MALFORMED_PACKET';
  readonly errno = 1156;
  readonly sqlState = '08S01';
  readonly side: ErrorSide;
  constructor(reason: string, side: ErrorSide = 'client', options?: { cause?: unknown }) {
    super(`Got packets out of order (sluice: malformed packet: ${reason})`, options);
    this.side = side;
  }
}

export class BackendLost extends SluiceError {
  readonly code = 'BACKEND_LOST';
  readonly errno = 1158;
  readonly sqlState = '08S01';
  readonly side = 'backend';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`Got an error reading communication packets (sluice: backend connection lost: ${reason})`, options);
  }
}

/**
 * COM_CHANGE_USER between a TLS client and a plaintext server leg, and the server asks for caching_sha2
 * full authentication: the client would answer with its password in clear, which must not reach that leg.
 * (At login Sluice does the RSA exchange for the client; the command phase relays without decoding.)
 */
export class ClearPasswordRefused extends SluiceError {
  readonly code = 'CLEAR_PASSWORD_REFUSED';
  readonly errno = 1251; // ER_NOT_SUPPORTED_AUTH_MODE
  readonly sqlState = '08004';
  readonly side = 'gateway';
  constructor() {
    super(
      'Client does not support authentication protocol requested by server (sluice: caching_sha2_password full authentication in COM_CHANGE_USER would send the password in clear on the plaintext server leg; use TLS on the server leg, or connect anew as this user)',
    );
  }
}

export class BadHandshake extends SluiceError {
  readonly code = 'BAD_HANDSHAKE';
  readonly errno = 1043;
  readonly sqlState = '08S01';
  readonly side = 'client';
  constructor(reason: string) {
    super(`Bad handshake (sluice: ${reason})`);
  }
}

/** A server asked for a LOCAL INFILE file although the gateway cleared the capability on both legs. */
export class LocalInfileRefused extends SluiceError {
  readonly code = 'LOCAL_INFILE_REFUSED';
  readonly errno = 4166; // ER_LOAD_INFILE_CAPABILITY_DISABLED: what a server that honours the capability says
  readonly sqlState = 'HY000';
  readonly side = 'backend';
  override readonly fatal = false;
  constructor() {
    super('The used command is not allowed because the MariaDB server or client has disabled the local infile capability (sluice: limits.allow_local_infile is false, and the server asked for a file anyway)');
  }
}
