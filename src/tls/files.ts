// Reading and checking the PEM files both legs use. Every failure is an Error whose message names the
// file (and the config key it came from), so a bad path or a key that does not belong to its
// certificate is obvious at start-up and on reload. Nothing here keeps state.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export class TlsFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsFileError';
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reads a file as text; the error names `what` and the path. */
export function readPem(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TlsFileError(`cannot read ${what} file "${path}": ${reason(e)}`, { cause: e });
  }
  return text;
}

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';

export interface KeyPairPem {
  cert: string;
  key: string;
  /** The leaf certificate (first in the file). */
  x509: X509Certificate;
}

/** Reads a certificate (chain) and its private key and checks that they belong together. */
export function loadKeyPair(certPath: string, keyPath: string, label: string): KeyPairPem {
  const cert = readPem(certPath, `${label} certificate`);
  const key = readPem(keyPath, `${label} key`);
  if (!cert.includes(CERT_BEGIN)) {
    throw new TlsFileError(`${label} certificate file "${certPath}" contains no PEM certificate (expected "${CERT_BEGIN}")`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new TlsFileError(`${label} certificate file "${certPath}" is not a valid PEM certificate: ${reason(e)}`, { cause: e });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new TlsFileError(`${label} key file "${keyPath}" is not a valid unencrypted PEM private key: ${reason(e)}`, { cause: e });
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsFileError(`${label} key file "${keyPath}" does not match certificate file "${certPath}" (key values mismatch)`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new TlsFileError(`${label} certificate "${certPath}" / key "${keyPath}" rejected by OpenSSL: ${reason(e)}`, { cause: e });
  }
  return { cert, key, x509 };
}

/** Reads a CA bundle (one or more PEM certificates). */
export function loadCaBundle(path: string, label: string): string {
  const ca = readPem(path, label);
  if (!ca.includes(CERT_BEGIN)) {
    throw new TlsFileError(`${label} file "${path}" contains no PEM certificate (expected "${CERT_BEGIN}")`);
  }
  try {
    createSecureContext({ ca });
  } catch (e) {
    throw new TlsFileError(`${label} file "${path}" is not a valid PEM CA bundle: ${reason(e)}`, { cause: e });
  }
  return ca;
}

/** Reads a PEM CRL. */
export function loadCrl(path: string, label: string): string {
  const crl = readPem(path, label);
  if (!crl.includes('-----BEGIN X509 CRL-----')) {
    throw new TlsFileError(`${label} file "${path}" contains no PEM CRL (expected "-----BEGIN X509 CRL-----")`);
  }
  try {
    createSecureContext({ crl });
  } catch (e) {
    throw new TlsFileError(`${label} file "${path}" is not a valid PEM CRL: ${reason(e)}`, { cause: e });
  }
  return crl;
}

/** Validity check for logging: a warning text when the certificate is not valid now, else null. */
export function validityProblem(x509: X509Certificate, path: string, now = Date.now()): string | null {
  const from = Date.parse(x509.validFrom);
  const to = Date.parse(x509.validTo);
  if (Number.isFinite(to) && to < now) return `certificate "${path}" expired on ${x509.validTo}`;
  if (Number.isFinite(from) && from > now) return `certificate "${path}" is not valid before ${x509.validFrom}`;
  return null;
}
