// PROXY protocol v1/v2: the spec's examples byte for byte, parse(encode(x)) round trips, any split
// of the input parses as `incomplete` then the same header, and garbage throws ProtocolError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { ProtocolError } from '../../src/protocol/errors.ts';
import {
  PROXY_V2_SIGNATURE,
  encodeProxyV1,
  encodeProxyV2,
  formatIp,
  ipToBytes,
  parseProxyHeader,
  type ProxyAddresses,
} from '../../src/protocol/proxy-protocol.ts';

const runs = { numRuns: 300 };

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIp(Buffer.from(b)));
const ipv6 = fc
  .oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    // many zero runs, to exercise :: placement
    fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 }).map((ws) => {
      const b = new Uint8Array(16);
      ws.forEach((w, i) => new DataView(b.buffer).setUint16(i * 2, w));
      return b;
    }),
  )
  .map((b) => formatIp(Buffer.from(b)))
  .filter((a) => !a.startsWith('::ffff:') || a.includes(':', 7)); // mapped ones go out as TCP4
const port = fc.integer({ min: 0, max: 65535 });
const endpoint = (ip: fc.Arbitrary<string>): fc.Arbitrary<{ address: string; port: number }> => fc.record({ address: ip, port }).map((e) => ({ ...e }));
const addresses: fc.Arbitrary<ProxyAddresses> = fc.oneof(
  fc.record({ src: endpoint(ipv4), dst: endpoint(ipv4) }).map((a) => ({ ...a })),
  fc.record({ src: endpoint(ipv6), dst: endpoint(ipv6) }).map((a) => ({ ...a })),
  fc.constant({ src: null, dst: null }),
);

test('IP text <-> bytes round trip, RFC 5952 text', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      const text = formatIp(Buffer.from(b));
      assert.equal(isIP(text), 6, text);
      assert.deepEqual(ipToBytes(text), Buffer.from(b));
      assert.equal(text, text.toLowerCase());
      assert.ok(!/(^|:)0[0-9a-f]/.test(text), `no leading zeros: ${text}`);
    }),
    runs,
  );
  assert.equal(formatIp(ipToBytes('2001:0db8:0000:0000:0000:0000:0002:0001')!), '2001:db8::2:1');
  assert.equal(formatIp(ipToBytes('2001:db8:0:1:1:1:1:1')!), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(formatIp(ipToBytes('2001:0:0:1:0:0:0:1')!), '2001:0:0:1::1', 'the longest run is compressed');
  assert.equal(formatIp(ipToBytes('::')!), '::');
  assert.equal(formatIp(ipToBytes('::1')!), '::1');
  assert.equal(formatIp(ipToBytes('::ffff:10.0.0.1')!), '::ffff:10.0.0.1');
  assert.equal(ipToBytes('nope'), null);
});

for (const [name, encode, kind] of [
  ['v1', encodeProxyV1, 'v1'],
  ['v2', encodeProxyV2, 'v2'],
] as const) {
  test(`${name}: parse(encode(x)) round trip, trailing bytes untouched, any prefix incomplete`, () => {
    fc.assert(
      fc.property(addresses, fc.uint8Array({ maxLength: 20 }), (a, tail) => {
        const header = encode(a);
        const buf = Buffer.concat([header, Buffer.from(tail)]);
        const parsed = parseProxyHeader(buf);
        assert.deepEqual(parsed, { kind, src: a.src, dst: a.dst, consumed: header.length });
        for (let i = 0; i < header.length; i++) {
          assert.deepEqual(parseProxyHeader(header.subarray(0, i)), { kind: 'incomplete' }, `prefix of ${i} bytes`);
        }
      }),
      runs,
    );
  });
}

test('IPv4-mapped IPv6 addresses go out as TCP4; mixed families as TCP6', () => {
  const mapped = { src: { address: '::ffff:10.1.2.3', port: 51000 }, dst: { address: '::ffff:127.0.0.1', port: 6033 } };
  assert.equal(encodeProxyV1(mapped).toString('latin1'), 'PROXY TCP4 10.1.2.3 127.0.0.1 51000 6033\r\n');
  const v2 = parseProxyHeader(encodeProxyV2(mapped));
  assert.deepEqual(v2, { kind: 'v2', src: { address: '10.1.2.3', port: 51000 }, dst: { address: '127.0.0.1', port: 6033 }, consumed: 28 });
  const mixed = { src: { address: '10.1.2.3', port: 1 }, dst: { address: '::1', port: 2 } };
  assert.equal(encodeProxyV1(mixed).toString('latin1'), 'PROXY TCP6 ::ffff:10.1.2.3 ::1 1 2\r\n');
  assert.throws(() => encodeProxyV1({ src: { address: '1.2.3.4', port: 1 }, dst: null }), ProtocolError);
  assert.throws(() => encodeProxyV2({ src: { address: 'x', port: 1 }, dst: { address: '1.2.3.4', port: 1 } }), ProtocolError);
  assert.throws(() => encodeProxyV2({ src: { address: '1.2.3.4', port: 70000 }, dst: { address: '1.2.3.4', port: 1 } }), ProtocolError);
});

test('spec examples (haproxy proxy-protocol.txt)', () => {
  // 2.1: the human-readable header
  const tcp4 = Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n', 'latin1');
  assert.deepEqual(parseProxyHeader(tcp4), {
    kind: 'v1',
    src: { address: '192.168.0.1', port: 56324 },
    dst: { address: '192.168.0.11', port: 443 },
    consumed: 47,
  });
  assert.deepEqual(encodeProxyV1({ src: { address: '192.168.0.1', port: 56324 }, dst: { address: '192.168.0.11', port: 443 } }), tcp4.subarray(0, 47));
  const tcp6 = 'PROXY TCP6 ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'.replace(/f\.\.\.f/g, 'ffff:ffff:ffff:ffff:ffff:ffff');
  const p6 = parseProxyHeader(Buffer.from(tcp6, 'latin1'));
  assert.equal(p6.kind, 'v1');
  assert.equal(Buffer.byteLength(tcp6), 104, "the spec's worst-case TCP6 line");
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { kind: 'v1', src: null, dst: null, consumed: 15 });
  const unknownWorst = `PROXY UNKNOWN ${'f'.repeat(39)} ${'f'.repeat(39)} 65535 65535\r\n`;
  assert.equal(unknownWorst.length, 107);
  assert.deepEqual(parseProxyHeader(Buffer.from(unknownWorst)), { kind: 'v1', src: null, dst: null, consumed: 107 });

  // 2.2: binary header, TCP over IPv4 (\x21 \x11, 12 address bytes)
  const v2 = Buffer.concat([
    PROXY_V2_SIGNATURE,
    Buffer.from([0x21, 0x11, 0x00, 0x0c, 192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01, 0xbb]),
    Buffer.from('rest'),
  ]);
  assert.deepEqual(parseProxyHeader(v2), {
    kind: 'v2',
    src: { address: '192.168.0.1', port: 56324 },
    dst: { address: '192.168.0.11', port: 443 },
    consumed: 28,
  });
  assert.deepEqual(encodeProxyV2({ src: { address: '192.168.0.1', port: 56324 }, dst: { address: '192.168.0.11', port: 443 } }), v2.subarray(0, 28));
  // LOCAL: addresses ignored, even when present; TLVs after the addresses are skipped
  const local = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x11, 0x00, 0x0c]), Buffer.alloc(12)]);
  assert.deepEqual(parseProxyHeader(local), { kind: 'v2', src: null, dst: null, consumed: 28 });
  assert.deepEqual(encodeProxyV2({ src: null, dst: null }), Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]));
  const withTlv = Buffer.concat([
    PROXY_V2_SIGNATURE,
    Buffer.from([0x21, 0x11, 0x00, 0x12, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2]),
    Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]), // PP2_TYPE_NOOP, 3 bytes
  ]);
  assert.deepEqual(parseProxyHeader(withTlv), { kind: 'v2', src: { address: '10.0.0.1', port: 1 }, dst: { address: '10.0.0.2', port: 2 }, consumed: 34 });
  // UNSPEC / UDP / UNIX with PROXY: accepted, no TCP addresses
  const udp = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x12, 0x00, 0x0c]), Buffer.alloc(12)]);
  assert.deepEqual(parseProxyHeader(udp), { kind: 'v2', src: null, dst: null, consumed: 28 });
});

test('garbage throws ProtocolError; short input is incomplete', () => {
  const bad = (s: string | Buffer): void => assert.throws(() => parseProxyHeader(typeof s === 'string' ? Buffer.from(s, 'latin1') : s), ProtocolError, String(s));
  bad('GET / HTTP/1.1\r\n');
  bad('\x0a\x00\x00\x00'); // a MySQL packet header, say
  bad('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'); // LF without CR
  bad('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n');
  bad('PROXY TCP4 ::1 ::1 1 2\r\n');
  bad('PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n');
  bad('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n');
  bad('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n');
  bad('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n');
  bad(`PROXY UNKNOWN ${'x'.repeat(120)}`); // no CRLF within 107 bytes
  bad(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x11, 0x11, 0, 12])])); // version 1 in a v2 header
  bad(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x22, 0x11, 0, 12])])); // command 2
  bad(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, 4]), Buffer.alloc(4)])); // TCP4 block too short
  bad(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x41, 0, 0])])); // unknown family
  assert.deepEqual(parseProxyHeader(Buffer.alloc(0)), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROX')), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4')), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, 12]), Buffer.alloc(5)])), { kind: 'incomplete' });

  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (b) => {
      try {
        const r = parseProxyHeader(Buffer.from(b));
        if (r.kind !== 'incomplete') assert.ok(r.consumed > 0 && r.consumed <= b.length);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `only ProtocolError escapes, got ${String(e)}`);
      }
    }),
    { numRuns: 2000 },
  );
});
