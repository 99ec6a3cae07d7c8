// Random and mutated bytes into every parser: they either return or throw ProtocolError —
// never RangeError/TypeError, which would escape the session layer's error mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as P from '../../src/protocol/index.ts';
import * as A from './protocol-arbitraries.ts';

const CAPS = [0, 0x00bfa28c, 0x003aa20d, 0xffffffff, P.Capability.PROTOCOL_41 | P.Capability.SESSION_TRACK];
const cols = [
  { type: P.ColumnType.LONGLONG, flags: 0 },
  { type: P.ColumnType.DATETIME, flags: 0 },
  { type: P.ColumnType.TIME, flags: 0 },
  { type: P.ColumnType.VAR_STRING, flags: 0 },
  { type: P.ColumnType.NEWDECIMAL, flags: 0 },
  { type: P.ColumnType.DOUBLE, flags: 0 },
  { type: P.ColumnType.TINY, flags: P.ColumnFlag.UNSIGNED },
];

const parsers: Array<[string, (b: Buffer) => unknown]> = [
  ['HandshakeV10', P.parseHandshakeV10],
  ['HandshakeResponse41', P.parseHandshakeResponse41],
  ['SSLRequest', P.parseSSLRequest],
  ['isSSLRequest', P.isSSLRequest],
  ['AuthSwitchRequest', P.parseAuthSwitchRequest],
  ['AuthMoreData', P.parseAuthMoreData],
  ...CAPS.map((c): [string, (b: Buffer) => unknown] => [`Ok/${c}`, (b) => P.parseOk(b, c)]),
  ['Err', P.parseErr],
  ['ProgressReport', P.parseProgressReport],
  ['Eof', P.parseEof],
  ['ColumnDefinition41', (b) => P.parseColumnDefinition41(b)],
  ['ColumnDefinition41/ext', (b) => P.parseColumnDefinition41(b, { extendedMetadata: true })],
  ['TextRow/3', (b) => P.parseTextRow(b, 3)],
  ['BinaryRow', (b) => P.parseBinaryRow(b, cols)],
  ['ComQuery', P.parseComQuery],
  ['ComInitDb', P.parseComInitDb],
  ['ComStmtPrepare', P.parseComStmtPrepare],
  ['ComStmtExecute', P.parseComStmtExecute],
  ['ComStmtFetch', P.parseComStmtFetch],
  ['ComStmtClose', P.parseComStmtClose],
  ['ComStmtReset', P.parseComStmtReset],
  ['ComStmtSendLongData', P.parseComStmtSendLongData],
  ...CAPS.map((c): [string, (b: Buffer) => unknown] => [`ComChangeUser/${c}`, (b) => P.parseComChangeUser(b, c)]),
  ['StmtPrepareOk', P.parseStmtPrepareOk],
  ['LocalInfileRequest', P.parseLocalInfileRequest],
  ['ColumnCount', (b) => P.parseColumnCount(b)],
  ['ColumnCount/cache', (b) => P.parseColumnCount(b, true)],
  ['readHeader', (b) => P.readHeader(b, 0)],
  ['Framer', (b) => {
    const f = new P.Framer({ maxPacket: 1 << 20 });
    f.push(b);
    while (f.next() !== null) { /* drain */ }
  }],
  ['Reader.lenencInt', (b) => new P.Reader(b).lenencInt()],
];

function onlyProtocolErrors(bytes: Buffer): void {
  for (const [name, parse] of parsers) {
    try {
      parse(bytes);
    } catch (e) {
      assert.ok(e instanceof P.ProtocolError, `${name} threw ${String(e)} for ${bytes.toString('hex')}`);
      assert.equal(e.code, 'PROTOCOL_ERROR');
    }
  }
}

test('random bytes into every parser throw only ProtocolError', () => {
  fc.assert(fc.property(A.buf(96), onlyProtocolErrors), { numRuns: 300 });
});

test('random bytes with plausible first bytes (OK/ERR/EOF/switch/command headers)', () => {
  const head = fc.constantFrom(0x00, 0x01, 0x03, 0x0a, 0x11, 0x16, 0x17, 0x19, 0xfb, 0xfc, 0xfd, 0xfe, 0xff);
  fc.assert(fc.property(head, A.buf(64), (h, rest) => onlyProtocolErrors(Buffer.concat([Buffer.from([h]), rest]))), { numRuns: 300 });
});

// Valid encodings, truncated or with a byte flipped, hit the deep branches random bytes rarely reach.
const validEncodings = fc.oneof(
  A.handshakeV10.map(P.encodeHandshakeV10),
  A.handshakeResponse41.map(P.encodeHandshakeResponse41),
  A.okWithCaps.map(({ ok, caps }) => P.encodeOk(ok, caps)),
  A.errPacket.map(P.encodeErr),
  A.progressReport.map(P.encodeProgressReport),
  A.columnDefinition.map(({ col, ext }) => P.encodeColumnDefinition41(col, { extendedMetadata: ext })),
  A.textRow.map(P.encodeTextRow),
);

test('truncated and bit-flipped valid packets throw only ProtocolError', () => {
  fc.assert(
    fc.property(validEncodings, fc.nat(), fc.nat(), u8Arb(), (enc, cut, at, x) => {
      onlyProtocolErrors(enc.subarray(0, cut % (enc.length + 1)));
      if (enc.length > 0) {
        const m = Buffer.from(enc);
        m[at % m.length] = x;
        onlyProtocolErrors(m);
      }
    }),
    { numRuns: 300 },
  );
});

function u8Arb(): fc.Arbitrary<number> {
  return fc.integer({ min: 0, max: 255 });
}
