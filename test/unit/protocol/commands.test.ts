import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Capability,
  Command,
  commandName,
  ProtocolError,
  parseComQuery,
  encodeComQuery,
  parseComInitDb,
  encodeComInitDb,
  parseComStmtPrepare,
  encodeComStmtPrepare,
  parseComStmtExecute,
  encodeComStmtExecute,
  parseComStmtFetch,
  encodeComStmtFetch,
  parseComStmtClose,
  encodeComStmtClose,
  parseComStmtReset,
  encodeComStmtReset,
  parseComStmtSendLongData,
  encodeComStmtSendLongData,
  parseComChangeUser,
  encodeComChangeUser,
  parseStmtPrepareOk,
  encodeStmtPrepareOk,
  parseLocalInfileRequest,
  encodeLocalInfileRequest,
  isLocalInfileRequest,
  parseColumnCount,
  encodeColumnCount,
  encodeSimpleCommand,
} from '../../../src/protocol/index.ts';
import { a, bytes, payloadOf } from './helpers.ts';

test('commandName names known codes and hex-formats unknown ones', () => {
  assert.equal(commandName(Command.COM_QUERY), 'COM_QUERY');
  assert.equal(commandName(0x1f), 'COM_RESET_CONNECTION');
  assert.equal(commandName(0xfa), 'COM_STMT_BULK_EXECUTE');
  assert.equal(commandName(0x42), 'COM_0x42');
  assert.equal(commandName(0x05), 'COM_CREATE_DB');
  assert.deepEqual(encodeSimpleCommand(Command.COM_RESET_CONNECTION), payloadOf(bytes('01 00 00 00 1f')));
});

test('COM_QUERY / COM_STMT_PREPARE / COM_INIT_DB', () => {
  const q = encodeComQuery('SELECT phone FROM users WHERE id = 7');
  assert.equal(q[0], 3);
  const pq = parseComQuery(q);
  assert.equal(pq.sql, 'SELECT phone FROM users WHERE id = 7');
  assert.deepEqual(pq.sqlBytes, q.subarray(1));
  assert.deepEqual(encodeComQuery(pq.sqlBytes), q);
  assert.equal(parseComStmtPrepare(encodeComStmtPrepare('SELECT ?')).sql, 'SELECT ?');
  assert.deepEqual(parseComInitDb(encodeComInitDb('orders_eu')), { schema: 'orders_eu' });
  assert.throws(() => parseComQuery(encodeComInitDb('x')), (e: unknown) => e instanceof ProtocolError && e.detail?.['got'] === 2);
  assert.throws(() => parseComQuery(Buffer.alloc(0)), ProtocolError);
});

test('statement commands round-trip', () => {
  const ex = { statementId: 0xffffffff, flags: 0, iterationCount: 1, params: bytes('00 01 08 00 2a 00 00 00 00 00 00 00') };
  const exEnc = encodeComStmtExecute(ex);
  assert.deepEqual(exEnc.subarray(0, 10), bytes('17 ff ff ff ff 00 01 00 00 00'));
  assert.deepEqual(parseComStmtExecute(exEnc), ex);
  assert.deepEqual(parseComStmtFetch(encodeComStmtFetch({ statementId: 4, numRows: 100 })), { statementId: 4, numRows: 100 });
  assert.deepEqual(encodeComStmtClose({ statementId: 4 }), bytes('19 04 00 00 00'));
  assert.deepEqual(parseComStmtClose(bytes('19 04 00 00 00')), { statementId: 4 });
  assert.deepEqual(parseComStmtReset(encodeComStmtReset({ statementId: 7 })), { statementId: 7 });
  const ld = { statementId: 1, paramId: 2, data: a('chunk') };
  assert.deepEqual(parseComStmtSendLongData(encodeComStmtSendLongData(ld)), ld);
  assert.throws(() => parseComStmtClose(bytes('19 04 00 00 00 00')), /trailing/);
});

test('A1.3 COM_CHANGE_USER capture round-trips', () => {
  const caps = 0x00bfa28c; // SECURE_CONNECTION | PLUGIN_AUTH | CONNECT_ATTRS …
  const p = payloadOf(bytes('39 00 00 00 | 11 6e 61 74 00 14', '00'.repeat(20), a('testdb'), '00 2d 00', a('mysql_native_password'), '00'));
  const c = parseComChangeUser(p, caps);
  assert.deepEqual(c, {
    user: 'nat',
    authResponse: Buffer.alloc(20),
    database: 'testdb',
    charset: 45,
    authPluginName: 'mysql_native_password',
    connectAttributes: null,
  });
  assert.deepEqual(encodeComChangeUser(c, caps), p);
  const withAttrs = { ...c, connectAttributes: [['_client_name', 'libmariadb']] as Array<[string, string]> };
  assert.deepEqual(parseComChangeUser(encodeComChangeUser(withAttrs, caps), caps), withAttrs);
  // no SECURE_CONNECTION: NUL-terminated auth data
  const old = { ...c, authResponse: a('xx'), charset: null, authPluginName: null };
  assert.deepEqual(parseComChangeUser(encodeComChangeUser(old, Capability.PROTOCOL_41), Capability.PROTOCOL_41), old);
});

test('COM_STMT_PREPARE OK, LOCAL INFILE request, column count', () => {
  const ok = { statementId: 4, numColumns: 3, numParams: 1, warnings: 0 };
  const enc = encodeStmtPrepareOk(ok);
  assert.deepEqual(enc, bytes('00 04 00 00 00 03 00 01 00 00 00 00'));
  assert.deepEqual(parseStmtPrepareOk(enc), ok);
  const li = payloadOf(bytes('18 00 00 01 fb', a('/any/path/on/client.csv')));
  assert.ok(isLocalInfileRequest(li));
  assert.deepEqual(parseLocalInfileRequest(li), { filename: '/any/path/on/client.csv' });
  assert.deepEqual(encodeLocalInfileRequest({ filename: '/any/path/on/client.csv' }), li);
  // A3.2 / A3.6 column counts
  assert.deepEqual(parseColumnCount(payloadOf(bytes('01 00 00 01 02'))), { count: 2, metadataFollows: true });
  assert.deepEqual(parseColumnCount(bytes('03 01'), true), { count: 3, metadataFollows: true });
  assert.deepEqual(parseColumnCount(bytes('03 00'), true), { count: 3, metadataFollows: false });
  assert.deepEqual(encodeColumnCount({ count: 3, metadataFollows: false }, true), bytes('03 00'));
  assert.deepEqual(encodeColumnCount({ count: 300, metadataFollows: true }), bytes('fc 2c 01'));
  assert.throws(() => parseColumnCount(bytes('03 00')), /trailing/);
  assert.throws(() => parseColumnCount(bytes('fb')), ProtocolError);
});
