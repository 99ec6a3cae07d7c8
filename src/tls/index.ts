// src/tls: everything TLS except the session's packet handling. The client leg (Sluice as TLS
// server, SNI certificates, client certificates, generated self-signed certificate) and the
// server leg (Sluice as TLS client, verify none | ca | identity, CRL), both reloadable.
export { buildClientLegTls, ClientTlsHandshakeError } from './client-leg.ts';
export type { ClientLegTls, ClientLegUpgrade } from './client-leg.ts';
export { buildBackendLegTls } from './backend-leg.ts';
export type { BackendLegTls, BackendLegUpgrade } from './backend-leg.ts';
export { describeTlsError } from './describe-error.ts';
export { generateSelfSigned, DEFAULT_SELF_SIGNED_NAMES } from './self-signed.ts';
export type { SelfSignedCert } from './self-signed.ts';
export { TlsFileError } from './files.ts';
export { compileNameGlob } from './server-name.ts';
