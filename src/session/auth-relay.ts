// The auth relay (DESIGN §3 step 5): forwards every packet of the authentication exchange between the
// two legs until the backend says OK or ERR, renumbering sequence ids when one leg had an SSLRequest and
// the other not (§3 step 6, PROTOCOL-NOTES A2.2), and bridging caching_sha2_password full authentication
// when the legs differ in security (caching-sha2-bridge.ts). Sluice never keeps a password: the one
// bridge case that sees a clear password uses it for one encrypt/send and drops it.
import type { Frame } from '../protocol/framer.ts';
import { encodePacket } from '../protocol/packet.ts';
import { encodeAuthMoreData, parseAuthSwitchRequest } from '../protocol/auth.ts';
import { parseErr, type ErrPacket } from '../protocol/err.ts';
import type { HandshakeLeg } from './handshake-leg.ts';
import { CACHING_SHA2, PERFORM_FULL_AUTH, REQUEST_PUBLIC_KEY, decryptPassword, encryptPassword, gatewayPublicKeyPem, nonceOf } from './caching-sha2-bridge.ts';

/** How full authentication must be converted between the legs. */
export type Sha2Bridge = 'none' | 'encrypt_for_server' | 'decrypt_for_server';

export interface AuthRelayOptions {
  readonly client: HandshakeLeg;
  readonly backend: HandshakeLeg;
  writeClient(bytes: Buffer): void;
  writeBackend(bytes: Buffer): void;
  /** client seq − backend seq for the same step of the exchange. */
  readonly seqDelta: number;
  readonly bridge: Sha2Bridge;
  /** Plugin and scramble in force before any switch (the reused backend greeting), if any. */
  readonly plugin: string | null;
  readonly nonce: Buffer | null;
  /** The sequence id the client expects next, as the exchange moves on: an ERR of Sluice's own carries it. */
  clientSeq(next: number): void;
}

export type AuthResult = { readonly ok: true } | { readonly ok: false; readonly err: ErrPacket };

type BridgeState =
  | { kind: 'idle' }
  | { kind: 'fullAuth'; backendSeq: number } // the server said 01 04; the client answers next
  | { kind: 'awaitServerKey'; password: Buffer; clientSeq: number }
  | { kind: 'awaitClientEncrypted'; backendSeq: number };

export function relayAuth(o: AuthRelayOptions): Promise<AuthResult> {
  let delta = o.seqDelta;
  let plugin = o.plugin;
  let nonce = o.nonce;
  let bridge: BridgeState = { kind: 'idle' };

  const toClient = (payload: Buffer, seq: number): void => {
    o.clientSeq((seq + 1) & 0xff);
    o.writeClient(encodePacket(payload, seq & 0xff));
  };
  const toBackend = (payload: Buffer, seq: number): void => o.writeBackend(encodePacket(payload, seq & 0xff));

  return new Promise<AuthResult>((resolve, reject) => {
    o.backend.onFrame((f: Frame) => {
      const p = f.payload();
      const first = p[0];
      if (first === 0xfe && p.length > 1) {
        const sw = parseAuthSwitchRequest(p);
        plugin = sw.pluginName;
        nonce = Buffer.from(nonceOf(sw.pluginData));
      } else if (first === 0x01 && bridge.kind === 'awaitServerKey') {
        // the server's public key: encrypt the client's password for it; the client never sees this step
        const enc = encryptPassword(bridge.password, nonce ?? Buffer.alloc(0), p.toString('latin1', 1));
        bridge.password.fill(0);
        toBackend(enc, f.seq + 1);
        // the server's verdict (seq f.seq + 2) answers the client's password packet
        delta = bridge.clientSeq + 1 - (f.seq + 2);
        bridge = { kind: 'idle' };
        return;
      } else if (first === 0x01 && p.length === 2 && p[1] === PERFORM_FULL_AUTH && plugin === CACHING_SHA2 && o.bridge !== 'none') {
        bridge = { kind: 'fullAuth', backendSeq: f.seq };
      }
      toClient(p, f.seq + delta);
      if (first === 0x00) resolve({ ok: true });
      else if (first === 0xff) resolve({ ok: false, err: parseErr(p) });
    }, reject);

    o.client.onFrame((f: Frame) => {
      o.clientSeq((f.seq + 1) & 0xff);
      const p = f.payload();
      if (bridge.kind === 'fullAuth' && o.bridge === 'encrypt_for_server') {
        // TLS client, plain server: p is the clear password; fetch the server's key instead of forwarding it
        bridge = { kind: 'awaitServerKey', password: Buffer.from(p), clientSeq: f.seq };
        toBackend(Buffer.from([REQUEST_PUBLIC_KEY]), f.seq - delta);
        return;
      }
      if (bridge.kind === 'fullAuth' && o.bridge === 'decrypt_for_server' && p.length === 1 && p[0] === REQUEST_PUBLIC_KEY) {
        // plain client, TLS server: the client asks *us* for a key; it will encrypt with Sluice's
        toClient(encodeAuthMoreData({ data: Buffer.from(gatewayPublicKeyPem(), 'latin1') }), f.seq + 1);
        bridge = { kind: 'awaitClientEncrypted', backendSeq: bridge.backendSeq };
        return;
      }
      if (bridge.kind === 'awaitClientEncrypted') {
        let clear: Buffer;
        try {
          clear = decryptPassword(p, nonce ?? Buffer.alloc(0));
        } catch (e) {
          reject(e);
          return;
        }
        toBackend(clear, bridge.backendSeq + 1);
        clear.fill(0);
        delta = f.seq + 1 - (bridge.backendSeq + 2);
        bridge = { kind: 'idle' };
        return;
      }
      if (bridge.kind === 'fullAuth') bridge = { kind: 'idle' };
      toBackend(p, f.seq - delta);
    }, reject);
  });
}
