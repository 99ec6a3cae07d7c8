// Turns Node/OpenSSL TLS failures into short words for ERR 1429 ("SSL connection error: <reason>"),
// logs and the `tls failures by reason` metric. The reason is what an operator needs to fix it:
// which check failed, not OpenSSL's library/function/line triple.

/** Node's `err.code` for certificate checks (X509_V_ERR_* names without the prefix) and TLS errors. */
const REASONS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown CA (self-signed certificate in chain)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown CA (self-signed certificate)',
  CERT_UNTRUSTED: 'unknown CA (certificate not trusted)',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_REVOKED: 'certificate revoked',
  CERT_SIGNATURE_FAILURE: 'certificate signature invalid',
  CERT_REJECTED: 'certificate rejected',
  INVALID_CA: 'invalid CA certificate in chain',
  INVALID_PURPOSE: 'certificate not usable for this purpose (extended key usage)',
  PATH_LENGTH_EXCEEDED: 'certificate chain too long',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  UNABLE_TO_GET_CRL: 'no CRL for the certificate issuer',
  CRL_HAS_EXPIRED: 'CRL has expired',
  CRL_NOT_YET_VALID: 'CRL is not yet valid',
  CRL_SIGNATURE_FAILURE: 'CRL signature invalid',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'certificate signature invalid',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'unknown CA (issuer public key unreadable)',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'TLS handshake timed out',
  ERR_SSL_WRONG_VERSION_NUMBER: 'peer does not speak TLS (wrong version number)',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'no common TLS version',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'no common TLS version',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'no common TLS version',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'handshake failure (no shared cipher or parameters)',
  ERR_SSL_NO_SHARED_CIPHER: 'handshake failure (no shared cipher)',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'peer requires a client certificate',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'peer did not send a client certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'peer rejected our certificate (unknown CA)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'peer rejected our certificate (bad certificate)',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'peer rejected our certificate (expired)',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: 'peer rejected our certificate (revoked)',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'handshake failure (decrypt error)',
  ECONNRESET: 'connection closed during the TLS handshake',
  EPIPE: 'connection closed during the TLS handshake',
};

function codeOf(e: Error): string | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Short human reason for a TLS failure ("unknown CA", "certificate has expired", "hostname mismatch (…)"). */
export function describeTlsError(e: Error): string {
  const code = codeOf(e);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const detail = (e as { reason?: unknown }).reason;
    return `hostname mismatch (${typeof detail === 'string' ? detail : e.message})`;
  }
  if (code !== undefined) {
    const words = REASONS[code];
    if (words !== undefined) return words;
  }
  // OpenSSL errors without a mapped code: keep the reason part of "error:0A000086:SSL routines::certificate verify failed".
  const m = /^error:[0-9A-F]+:[^:]*:[^:]*:(.+)$/i.exec(e.message);
  return m?.[1] ?? e.message;
}
