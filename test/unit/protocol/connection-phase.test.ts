import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Capability,
  MariaDbCapability,
  ProtocolError,
  parseHandshakeV10,
  encodeHandshakeV10,
  parseHandshakeResponse41,
  encodeHandshakeResponse41,
  parseSSLRequest,
  encodeSSLRequest,
  isSSLRequest,
  parseAuthSwitchRequest,
  encodeAuthSwitchRequest,
  isAuthSwitchRequest,
  parseAuthMoreData,
  encodeAuthMoreData,
  isAuthMoreData,
  type HandshakeResponse41,
} from '../../../src/protocol/index.ts';
import { a, bytes, payloadOf } from './helpers.ts';

// PROTOCOL-NOTES A3.1 (exp3_caps.out)
const GREETING = bytes(`
64 00 00 00 0a 35 2e 35 2e 35 2d 31 30 2e 31 31
2e 31 39 2d 4d 61 72 69 61 44 42 2d 30 2b 64 65
62 31 32 75 31 00 39 00 00 00 7e 4d 44 4b 2d 3f
34 27 00 fe ff 08 02 00 ff 81 15 00 00 00 00 00
00 1d 00 00 00 63 41 5a 23 3b 41 72 3f 7d 7d 7a
6c 00 6d 79 73 71 6c 5f 6e 61 74 69 76 65 5f 70
61 73 73 77 6f 72 64 00`);

test('A3.1 greeting parses and re-encodes byte-for-byte', () => {
  const p = payloadOf(GREETING);
  const h = parseHandshakeV10(p);
  assert.deepEqual(h, {
    protocolVersion: 10,
    serverVersion: '5.5.5-10.11.19-MariaDB-0+deb12u1',
    connectionId: 0x39,
    scramble: Buffer.concat([a("~MDK-?4'"), a('cAZ#;Ar?}}zl')]),
    capabilities: 0x81fffffe,
    charset: 8,
    statusFlags: 2,
    mariadbCapabilities: 0x1d,
    authPluginName: 'mysql_native_password',
  });
  assert.equal(h.scramble.length, 20);
  assert.equal(h.capabilities & Capability.LONG_PASSWORD, 0, 'MariaDB clears bit 0');
  assert.ok(h.capabilities & Capability.REMEMBER_OPTIONS, 'bit 31 as an unsigned number');
  assert.ok(h.mariadbCapabilities & MariaDbCapability.EXTENDED_METADATA);
  assert.deepEqual(encodeHandshakeV10(h), p);
  // the scramble is a copy: it must not pin or alias the socket chunk
  const copy = Buffer.from(p);
  const h2 = parseHandshakeV10(copy);
  copy.fill(0);
  assert.equal(h2.scramble.toString('latin1'), "~MDK-?4'cAZ#;Ar?}}zl");
});

test('greeting: a non-v10 first byte (e.g. an ERR) is refused', () => {
  assert.throws(() => parseHandshakeV10(bytes('ff 10 04 54 6f 6f')), ProtocolError);
  assert.throws(() => parseHandshakeV10(payloadOf(GREETING).subarray(0, 60)), ProtocolError);
});

// PROTOCOL-NOTES A1.1: exp1, user nat, plugin proxy_force_switch, empty auth
const EXP1 = bytes(
  '4a 00 00 01 | 0c a2 3a 00  00 00 00 01  2d',
  '00'.repeat(19),
  '00 00 00 00  6e 61 74 00  00  74 65 73 74 64 62 00',
  '70 72 6f 78 79 5f 66 6f 72 63 65 5f 73 77 69 74 63 68 00  09 04 5f 70 69 64 04 31 32 33 34',
);

test('A1.1 exp1 HandshakeResponse41 round-trips byte-for-byte', () => {
  // NB: the capture declares an attribute block of 9 bytes but carries 10 (`04 _pid 04 1234`), and the
  // packet length (0x4a) counts all 10. MariaDB accepted it; we keep the raw tail to forward it verbatim.
  const p = payloadOf(EXP1);
  const r = parseHandshakeResponse41(p);
  assert.deepEqual(r.connectAttributesRaw, bytes('09 04 5f 70 69 64 04 31 32 33 34'));
  assert.deepEqual(r, {
    connectAttributesRaw: bytes('09 04 5f 70 69 64 04 31 32 33 34'),
    capabilities: 0x003aa20c,
    maxPacketSize: 0x01000000,
    charset: 45,
    mariadbCapabilities: 0,
    user: 'nat',
    authResponse: Buffer.alloc(0),
    database: 'testdb',
    authPluginName: 'proxy_force_switch',
    connectAttributes: [['_pid', '1234']],
  });
  assert.deepEqual(encodeHandshakeResponse41(r), p);
  // the well-formed variant (declared length 0x0a) parses cleanly and needs no raw tail
  const fixed = Buffer.from(p);
  fixed[63] = 0x0a;
  const clean = parseHandshakeResponse41(fixed);
  assert.equal(clean.connectAttributesRaw, undefined);
  assert.deepEqual(clean.connectAttributes, [['_pid', '1234']]);
  assert.deepEqual(encodeHandshakeResponse41(clean), fixed);
  // dropping the raw tail re-encodes canonically from the pairs
  const { connectAttributesRaw: _raw, ...canon } = r;
  assert.deepEqual(encodeHandshakeResponse41(canon), fixed);
});

test('HandshakeResponse41 honours the auth-data form the caps select', () => {
  const base: HandshakeResponse41 = {
    capabilities: Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH,
    maxPacketSize: 0xffffff,
    charset: 33,
    mariadbCapabilities: 0x1d,
    user: 'ed',
    authResponse: Buffer.alloc(20, 0xab),
    database: null,
    authPluginName: 'mysql_native_password',
    connectAttributes: null,
  };
  // 1-byte length form
  const enc = encodeHandshakeResponse41(base);
  assert.equal(enc[32 + 3], 20, 'u8 length right after "ed\\0"');
  assert.equal(enc.readUInt32LE(28), 0x1d, 'ext caps in filler bytes 19..22');
  assert.deepEqual(parseHandshakeResponse41(enc), base);
  // NUL-terminated (neither SECURE_CONNECTION nor LENENC)
  const old = { ...base, capabilities: Capability.PROTOCOL_41, authResponse: a('pw'), authPluginName: null };
  const oldEnc = encodeHandshakeResponse41(old);
  assert.deepEqual(oldEnc.subarray(32), bytes('65 64 00 70 77 00'));
  assert.deepEqual(parseHandshakeResponse41(oldEnc), old);
  // lenenc form with > 250 bytes of auth data
  const big = { ...base, capabilities: base.capabilities | Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA, authResponse: Buffer.alloc(300, 1) };
  const bigEnc = encodeHandshakeResponse41(big);
  assert.deepEqual(bigEnc.subarray(35, 38), bytes('fc 2c 01'));
  assert.deepEqual(parseHandshakeResponse41(bigEnc), big);
  assert.throws(() => encodeHandshakeResponse41({ ...base, authResponse: Buffer.alloc(256) }), ProtocolError);
});

test('HandshakeResponse41: bits set but fields missing at the end read as absent', () => {
  const caps = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.CONNECT_WITH_DB | Capability.PLUGIN_AUTH;
  const p = bytes('00'.repeat(32), '61 00 00');
  p.writeUInt32LE(caps, 0);
  const r = parseHandshakeResponse41(p);
  assert.equal(r.database, null);
  assert.equal(r.authPluginName, null);
  assert.throws(() => parseHandshakeResponse41(p.subarray(0, 31)), ProtocolError);
});

// PROTOCOL-NOTES A2.1
const SSL_CLI = bytes('20 00 00 01 | 8c aa bf 00  00 00 10 00  21', '00'.repeat(19), '1d 00 00 00');
const SSL_PYMYSQL = bytes('20 00 00 01 | 0d aa 3a 00 ff ff ff 00 2d', '00'.repeat(23));

test('A2.1 SSLRequests from the mariadb CLI and PyMySQL', () => {
  const cli = payloadOf(SSL_CLI);
  assert.ok(isSSLRequest(cli));
  assert.deepEqual(parseSSLRequest(cli), { capabilities: 0x00bfaa8c, maxPacketSize: 0x00100000, charset: 33, mariadbCapabilities: 0x1d });
  assert.deepEqual(encodeSSLRequest(parseSSLRequest(cli)), cli);
  const py = payloadOf(SSL_PYMYSQL);
  assert.ok(isSSLRequest(py));
  assert.deepEqual(parseSSLRequest(py), { capabilities: 0x003aaa0d, maxPacketSize: 0x00ffffff, charset: 45, mariadbCapabilities: 0 });
  assert.deepEqual(encodeSSLRequest(parseSSLRequest(py)), py);
  // a full HandshakeResponse41 is not an SSLRequest; nor is a 32-byte payload without CLIENT_SSL
  assert.equal(isSSLRequest(payloadOf(EXP1)), false);
  const noSsl = Buffer.from(cli);
  noSsl.writeUInt32LE(0x00bfa28c, 0);
  assert.equal(isSSLRequest(noSsl), false);
  assert.throws(() => parseSSLRequest(cli.subarray(0, 31)), ProtocolError);
});

// PROTOCOL-NOTES A1.1
const SWITCH_NATIVE = bytes(
  '2c 00 00 02 | fe 6d 79 73 71 6c 5f 6e 61 74 69 76 65 5f 70 61 73 73 77 6f 72 64 00',
  '63 79 59 30 26 68 5d 7a 6e 38 6b 35 64 77 4b 50 2f 3b 7a 74 00',
);
const SWITCH_ED = bytes(
  '30 00 00 02 | fe 63 6c 69 65 6e 74 5f 65 64 32 35 35 31 39 00',
  'c8 1a 94 0b 0c 34 71 f4 a6 21 55 9e 71 43 ca 9d 70 56 9c 0f 89 aa 40 cb ab ac 4c 42 4e d5 68 c3',
);

test('A1.1 AuthSwitchRequests keep plugin data byte-exact (native ends with NUL, ed25519 does not)', () => {
  const n = payloadOf(SWITCH_NATIVE);
  assert.ok(isAuthSwitchRequest(n));
  const sw = parseAuthSwitchRequest(n);
  assert.equal(sw.pluginName, 'mysql_native_password');
  assert.deepEqual(sw.pluginData, bytes('6379593026685d7a6e386b3564774b502f3b7a74 00'));
  assert.deepEqual(encodeAuthSwitchRequest(sw), n);
  const e = payloadOf(SWITCH_ED);
  const ed = parseAuthSwitchRequest(e);
  assert.equal(ed.pluginName, 'client_ed25519');
  assert.equal(ed.pluginData.length, 32);
  assert.deepEqual(encodeAuthSwitchRequest(ed), e);
  assert.deepEqual(parseAuthSwitchRequest(bytes('fe')), { pluginName: 'mysql_old_password', pluginData: Buffer.alloc(0) });
  assert.throws(() => parseAuthSwitchRequest(bytes('00 00 00 02 00 00 00')), ProtocolError);
  assert.throws(() => parseAuthSwitchRequest(bytes('fe 61 62')), ProtocolError);
});

test('AuthMoreData (caching_sha2 fast_auth_success 01 03)', () => {
  const p = bytes('01 03');
  assert.ok(isAuthMoreData(p));
  assert.equal(isAuthMoreData(bytes('fe 00')), false);
  assert.deepEqual(parseAuthMoreData(p), { data: bytes('03') });
  assert.deepEqual(encodeAuthMoreData({ data: bytes('03') }), p);
  assert.throws(() => parseAuthMoreData(bytes('02')), ProtocolError);
});
