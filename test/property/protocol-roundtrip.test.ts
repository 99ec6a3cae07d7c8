// parse(encode(x)) deep-equals x for every parse/encode pair of src/protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as P from '../../src/protocol/index.ts';
import * as A from './protocol-arbitraries.ts';

const runs = { numRuns: 200 };

test('lenenc integers', () => {
  fc.assert(
    fc.property(A.lenencValue, (n) => {
      const enc = new P.Writer().lenencInt(n).payload();
      const r = new P.Reader(enc);
      assert.deepEqual(r.lenencInt(), n);
      assert.equal(r.remaining(), 0);
      const len = typeof n === 'bigint' || n > 0xffffff ? 9 : n > 0xffff ? 4 : n >= 0xfb ? 3 : 1;
      assert.equal(enc.length, len, 'canonical length');
    }),
    runs,
  );
});

test('HandshakeV10', () => {
  fc.assert(fc.property(A.handshakeV10, (h) => assert.deepEqual(P.parseHandshakeV10(P.encodeHandshakeV10(h)), h)), runs);
});

test('HandshakeResponse41', () => {
  fc.assert(fc.property(A.handshakeResponse41, (h) => assert.deepEqual(P.parseHandshakeResponse41(P.encodeHandshakeResponse41(h)), h)), runs);
});

test('SSLRequest', () => {
  fc.assert(
    fc.property(A.sslRequest, (s) => {
      const enc = P.encodeSSLRequest(s);
      assert.equal(enc.length, 32);
      assert.equal(P.isSSLRequest(enc), (s.capabilities & P.Capability.SSL) !== 0);
      assert.deepEqual(P.parseSSLRequest(enc), s);
    }),
    runs,
  );
});

test('AuthSwitchRequest / AuthMoreData', () => {
  fc.assert(fc.property(A.authSwitch.filter((a) => a.pluginName !== '' || a.pluginData.length > 0), (a) => assert.deepEqual(P.parseAuthSwitchRequest(P.encodeAuthSwitchRequest(a)), a)), runs);
  fc.assert(fc.property(A.authMoreData, (a) => assert.deepEqual(P.parseAuthMoreData(P.encodeAuthMoreData(a)), a)), runs);
});

test('OK packet under every capability mix', () => {
  fc.assert(fc.property(A.okWithCaps, ({ ok, caps }) => assert.deepEqual(P.parseOk(P.encodeOk(ok, caps), caps), ok)), runs);
});

test('ERR, progress report, EOF', () => {
  fc.assert(fc.property(A.errPacket, (e) => assert.deepEqual(P.parseErr(P.encodeErr(e)), e)), runs);
  fc.assert(fc.property(A.progressReport, (p) => assert.deepEqual(P.parseProgressReport(P.encodeProgressReport(p)), p)), runs);
  fc.assert(fc.property(A.eofPacket, (e) => assert.deepEqual(P.parseEof(P.encodeEof(e)), e)), runs);
});

test('ColumnDefinition41 with and without extended metadata', () => {
  fc.assert(
    fc.property(A.columnDefinition, ({ col, ext }) => {
      const opts = { extendedMetadata: ext };
      assert.deepEqual(P.parseColumnDefinition41(P.encodeColumnDefinition41(col, opts), opts), col);
    }),
    runs,
  );
});

test('text rows', () => {
  fc.assert(fc.property(A.textRow, (row) => assert.deepEqual(P.parseTextRow(P.encodeTextRow(row), row.length), row)), runs);
});

test('binary rows over every column type', () => {
  fc.assert(
    fc.property(fc.array(A.binaryCell, { maxLength: 20 }), (cells) => {
      const cols = cells.map(({ type, flags }) => ({ type, flags }));
      const values = cells.map((c) => c.value);
      const enc = P.encodeBinaryRow(values, cols);
      assert.deepEqual(P.parseBinaryRow(enc, cols), values);
      assert.deepEqual(P.encodeBinaryRow(P.parseBinaryRow(enc, cols), cols), enc, 'canonical: re-encode is identical');
    }),
    runs,
  );
});

test('commands', () => {
  fc.assert(
    fc.property(A.text(200), (sql) => {
      assert.equal(P.parseComQuery(P.encodeComQuery(sql)).sql, sql);
      assert.equal(P.parseComStmtPrepare(P.encodeComStmtPrepare(sql)).sql, sql);
      assert.deepEqual(P.parseComInitDb(P.encodeComInitDb(sql)), { schema: sql });
      assert.deepEqual(P.parseLocalInfileRequest(P.encodeLocalInfileRequest({ filename: sql })), { filename: sql });
    }),
    runs,
  );
  fc.assert(
    fc.property(A.u32, A.u32, A.u8, A.u16, A.buf(), (id, n, flags, param, data) => {
      const ex = { statementId: id, flags, iterationCount: n, params: data };
      assert.deepEqual(P.parseComStmtExecute(P.encodeComStmtExecute(ex)), ex);
      assert.deepEqual(P.parseComStmtFetch(P.encodeComStmtFetch({ statementId: id, numRows: n })), { statementId: id, numRows: n });
      assert.deepEqual(P.parseComStmtClose(P.encodeComStmtClose({ statementId: id })), { statementId: id });
      assert.deepEqual(P.parseComStmtReset(P.encodeComStmtReset({ statementId: id })), { statementId: id });
      const ld = { statementId: id, paramId: param, data };
      assert.deepEqual(P.parseComStmtSendLongData(P.encodeComStmtSendLongData(ld)), ld);
      const pok = { statementId: id, numColumns: param, numParams: flags, warnings: param };
      assert.deepEqual(P.parseStmtPrepareOk(P.encodeStmtPrepareOk(pok)), pok);
    }),
    runs,
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.boolean(), fc.boolean(), (count, follows, cache) => {
      const cc = { count, metadataFollows: cache ? follows : true };
      assert.deepEqual(P.parseColumnCount(P.encodeColumnCount(cc, cache), cache), cc);
    }),
    runs,
  );
});

test('COM_CHANGE_USER', () => {
  const arb = fc
    .record({
      caps: A.u32,
      user: A.nulFree(16),
      auth: A.buf(255),
      database: A.nulFree(16),
      charset: A.u16,
      tail: fc.boolean(),
      plugin: A.nulFree(20),
      attrs: fc.array(fc.tuple(A.text(8), A.text(8)), { maxLength: 3 }),
    })
    .map((r) => {
      const secure = (r.caps & P.Capability.SECURE_CONNECTION) !== 0;
      return {
        caps: r.caps,
        c: {
          user: r.user,
          authResponse: secure ? r.auth : Buffer.from(r.auth.filter((b) => b !== 0)),
          database: r.database,
          charset: r.tail ? r.charset : null,
          authPluginName: r.tail && r.caps & P.Capability.PLUGIN_AUTH ? r.plugin : null,
          connectAttributes: r.tail && r.caps & P.Capability.CONNECT_ATTRS ? r.attrs : null,
        },
      };
    });
  fc.assert(fc.property(arb, ({ caps, c }) => assert.deepEqual(P.parseComChangeUser(P.encodeComChangeUser(c, caps), caps), c)), runs);
});
