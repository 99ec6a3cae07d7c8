// caching_sha2_password across legs of different security (PROTOCOL-NOTES A2.4; MySQL's
// page_caching_sha2_authentication_exchanges). Full authentication sends the password in clear on a
// secure link and RSA-OAEP-encrypted (`(password\0) XOR nonce`) on a plain one. When Sluice's two legs
// differ, it converts between the two forms so that a clear password never crosses a plaintext leg:
//  - client TLS, server plain: the client's clear password is encrypted with the server's public key,
//    fetched by Sluice with the `02` request;
//  - client plain, server TLS: Sluice answers the client's `02` with its own public key, decrypts the
//    client's answer and sends the clear password over the server's TLS leg.
// The nonce is the server's, from the AuthSwitchRequest (or the reused greeting) — the client used it too.
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';

export const CACHING_SHA2 = 'caching_sha2_password';
/** AuthMoreData bodies of the exchange. */
export const REQUEST_PUBLIC_KEY = 0x02;
export const FAST_AUTH_SUCCESS = 0x03;
export const PERFORM_FULL_AUTH = 0x04;

/** `(password || NUL) XOR nonce`, the nonce repeated, as both sides of the exchange compute it. */
export function xorWithNonce(secret: Buffer, nonce: Buffer): Buffer {
  const out = Buffer.allocUnsafe(secret.length);
  for (let i = 0; i < secret.length; i++) out[i] = secret[i]! ^ nonce[i % nonce.length]!;
  return out;
}

/** Encrypts a clear password (with its NUL) for the server, as a client on a plaintext link would. */
export function encryptPassword(passwordWithNul: Buffer, nonce: Buffer, serverPublicKeyPem: string): Buffer {
  return publicEncrypt({ key: serverPublicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, xorWithNonce(passwordWithNul, nonce));
}

/** Sluice's own RSA key pair, made on first use (only plain-client/TLS-server full auth needs it). */
let ownKey: { publicPem: string; privateKey: KeyObject } | null = null;

export function gatewayPublicKeyPem(): string {
  return gatewayKey().publicPem;
}

/** Decrypts what a client encrypted with Sluice's public key; returns the clear password with its NUL. */
export function decryptPassword(encrypted: Buffer, nonce: Buffer): Buffer {
  const xored = privateDecrypt({ key: gatewayKey().privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, encrypted);
  return xorWithNonce(xored, nonce);
}

function gatewayKey(): { publicPem: string; privateKey: KeyObject } {
  if (ownKey === null) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ownKey = { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
  }
  return ownKey;
}

/** The 20-byte nonce from plugin data that may carry a trailing NUL. */
export function nonceOf(pluginData: Buffer): Buffer {
  return pluginData.length > 20 && pluginData[pluginData.length - 1] === 0 ? pluginData.subarray(0, pluginData.length - 1) : pluginData;
}
