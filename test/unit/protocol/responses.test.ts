import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Capability,
  ServerStatus,
  ProtocolError,
  parseOk,
  encodeOk,
  isOkPacket,
  parseErr,
  encodeErr,
  isErrPacket,
  isProgressReport,
  parseProgressReport,
  encodeProgressReport,
  parseEof,
  encodeEof,
  isEofPacket,
  type OkPacket,
} from '../../../src/protocol/index.ts';
import { a, bytes, payloadOf } from './helpers.ts';

const CLI_CAPS = 0x00bfa28c; // libmariadb: PROTOCOL_41, SESSION_TRACK, no DEPRECATE_EOF
const PY_CAPS = 0x003aa20d; // PyMySQL: no SESSION_TRACK

test('A3.4 login OK with session-track schema', () => {
  const p = payloadOf(bytes('12 00 00 04 00 00 00 02 40 00 00 00 09 01 07 06', a('testdb')));
  assert.ok(isOkPacket(p));
  const ok = parseOk(p, CLI_CAPS);
  assert.deepEqual(ok, {
    header: 0,
    affectedRows: 0,
    lastInsertId: 0,
    statusFlags: ServerStatus.AUTOCOMMIT | ServerStatus.SESSION_STATE_CHANGED,
    warnings: 0,
    info: '',
    sessionStateChanges: [{ type: 'schema', schema: 'testdb' }],
  });
  assert.deepEqual(encodeOk(ok, CLI_CAPS), p);
});

test('A3.4 SET time_zone: system variable + state change', () => {
  const p = bytes('00 00 00 02 40 00 00 | 00 | 16 | 00 11 09', a('time_zone'), '06', a('+01:00'), '| 02 01 31');
  const ok = parseOk(p, CLI_CAPS);
  assert.deepEqual(ok.sessionStateChanges, [
    { type: 'system_variable', name: 'time_zone', value: '+01:00' },
    { type: 'state_change', changed: true },
  ]);
  assert.deepEqual(encodeOk(ok, CLI_CAPS), p);
});

test('A3.4 START TRANSACTION READ ONLY: transaction state + characteristics', () => {
  const block = bytes('05 09 08', a('T_______'), '04 1d 1c', a('START TRANSACTION READ ONLY;'));
  const p = bytes('00 00 00 03 60 00 00 00', Buffer.from([block.length]), block);
  const ok = parseOk(p, CLI_CAPS);
  assert.equal(ok.statusFlags, 0x6003);
  assert.deepEqual(ok.sessionStateChanges, [
    { type: 'transaction_state', value: 'T_______' },
    { type: 'transaction_characteristics', value: 'START TRANSACTION READ ONLY;' },
  ]);
  assert.deepEqual(encodeOk(ok, CLI_CAPS), p);
});

test('session-state items that do not parse exactly stay byte-exact as unknown', () => {
  const p = bytes('00 00 00 00 40 00 00 00 0b | 02 02 31 31 | 01 01 ff | 09 02 aa bb');
  const ok = parseOk(p, CLI_CAPS);
  assert.deepEqual(ok.sessionStateChanges, [
    { type: 'unknown', code: 2, data: bytes('31 31') },
    { type: 'unknown', code: 1, data: bytes('ff') },
    { type: 'unknown', code: 9, data: bytes('aa bb') },
  ]);
  assert.deepEqual(encodeOk(ok, CLI_CAPS), p);
  // a block whose declared length overruns the packet is a ProtocolError
  assert.throws(() => parseOk(bytes('00 00 00 00 40 00 00 00 0c 01 07 06 61'), CLI_CAPS), ProtocolError);
});

test('bare OK with and without SESSION_TRACK; info handling per caps', () => {
  const bare = payloadOf(bytes('07 00 00 01 00 00 00 02 00 00 00'));
  const ok = parseOk(bare, CLI_CAPS);
  assert.deepEqual(ok, { header: 0, affectedRows: 0, lastInsertId: 0, statusFlags: 2, warnings: 0, info: '', sessionStateChanges: null });
  assert.deepEqual(encodeOk(ok, CLI_CAPS), bare);
  assert.deepEqual(encodeOk(parseOk(bare, PY_CAPS), PY_CAPS), bare);
  // with SESSION_TRACK the info is lenenc; without it, the rest of the packet
  const info = 'Records: 3  Duplicates: 0  Warnings: 0';
  const withTrack: OkPacket = { ...ok, affectedRows: 3, info };
  const enc = encodeOk(withTrack, CLI_CAPS);
  assert.equal(enc[7], info.length);
  assert.deepEqual(parseOk(enc, CLI_CAPS), withTrack);
  const noTrack = encodeOk(withTrack, PY_CAPS);
  assert.equal(noTrack[7], info.length, 'lenenc even without SESSION_TRACK, as servers send it');
  assert.deepEqual(parseOk(noTrack, PY_CAPS), withTrack);
  // the docs' string<EOF> form (not lenenc-shaped) still parses, as the raw rest
  assert.equal(parseOk(bytes('00 00 00 02 00 00 00', a('ok then')), PY_CAPS).info, 'ok then');
});

test('measured: MariaDB 10.11 INSERT OK without SESSION_TRACK carries a lenenc info', () => {
  // client caps PROTOCOL_41|SECURE_CONNECTION|PLUGIN_AUTH|CONNECT_WITH_DB|TRANSACTIONS|LONG_PASSWORD,
  // `INSERT INTO tt VALUES (1),(2),(3)` against mariadbd 10.11 (test/harness)
  const p = bytes('00 03 00 02 00 00 00 26', a('Records: 3  Duplicates: 0  Warnings: 0'));
  const ok = parseOk(p, PY_CAPS);
  assert.equal(ok.affectedRows, 3);
  assert.equal(ok.info, 'Records: 3  Duplicates: 0  Warnings: 0');
  assert.deepEqual(encodeOk(ok, PY_CAPS), p);
});

test('OK: large affected rows / insert ids as lenenc, bigint beyond 2^53', () => {
  const ok: OkPacket = { header: 0, affectedRows: 0x10000, lastInsertId: 2n ** 63n, statusFlags: 2, warnings: 1, info: '', sessionStateChanges: null };
  const enc = encodeOk(ok, CLI_CAPS);
  assert.deepEqual(enc.subarray(0, 5), bytes('00 fd 00 00 01'));
  assert.deepEqual(parseOk(enc, CLI_CAPS), ok);
});

test('A3.2 EOF vs OK-with-0xFE under DEPRECATE_EOF', () => {
  const eof = payloadOf(bytes('05 00 00 04 fe 00 00 02 00'));
  assert.ok(isEofPacket(eof));
  assert.deepEqual(parseEof(eof), { warnings: 0, statusFlags: 2 });
  assert.deepEqual(encodeEof({ warnings: 0, statusFlags: 2 }), eof);
  const okfe = payloadOf(bytes('07 00 00 05 fe 00 00 02 00 00 00'));
  assert.ok(isOkPacket(okfe));
  const caps = CLI_CAPS | Capability.DEPRECATE_EOF;
  const ok = parseOk(okfe, caps);
  assert.equal(ok.header, 0xfe);
  assert.equal(ok.statusFlags, 2);
  assert.deepEqual(encodeOk(ok, caps), okfe);
  // A3.8: a 17 MiB row starts with fe (8-byte lenenc) and is neither EOF nor OK
  const bigRow = bytes('fe 00 00 10 01 00 00 00 00 62 62');
  assert.equal(isEofPacket(bigRow), false);
  assert.equal(isOkPacket(Buffer.alloc(0xffffff, 0xfe)), false);
  assert.throws(() => parseEof(bytes('fe 00')), ProtocolError);
});

test('A2.2 ERR 1043 #08S01 Bad handshake, and ERR without SQLSTATE', () => {
  const p = payloadOf(bytes('16 00 00 02 ff 13 04 23 30 38 53 30 31 42 61 64 20 68 61 6e 64 73 68 61 6b 65'));
  assert.ok(isErrPacket(p));
  assert.equal(isProgressReport(p), false);
  const e = parseErr(p);
  assert.deepEqual(e, { code: 1043, sqlState: '08S01', message: 'Bad handshake' });
  assert.deepEqual(encodeErr(e), p);
  const noState = { code: 1040, sqlState: null, message: 'Too many connections' };
  const enc = encodeErr(noState);
  assert.deepEqual(enc.subarray(0, 3), bytes('ff 10 04'));
  assert.deepEqual(parseErr(enc), noState);
  assert.throws(() => encodeErr({ code: 1, sqlState: 'HY0', message: '' }), ProtocolError);
  assert.throws(() => parseErr(bytes('ff 46 10 23 48 59')), ProtocolError);
});

test('A3.8 progress reports are 0xFF/0xFFFF and not terminal ERRs', () => {
  const p1 = payloadOf(bytes('1b 00 00 01 ff ff ff 01 01 02 9a 02 00 11', a('copy to tmp table')));
  assert.ok(isProgressReport(p1));
  const pr = parseProgressReport(p1);
  assert.deepEqual(pr, { stage: 1, maxStage: 2, progress: 666, info: 'copy to tmp table' });
  assert.deepEqual(encodeProgressReport(pr), p1);
  const p2 = bytes('ff ff ff 01 02 02 00 00 00 0d', a('Enabling keys'));
  assert.deepEqual(parseProgressReport(p2), { stage: 2, maxStage: 2, progress: 0, info: 'Enabling keys' });
  assert.deepEqual(encodeProgressReport(parseProgressReport(p2)), p2);
  assert.throws(() => parseProgressReport(bytes('ff 13 04 23 30 38 53 30 31')), ProtocolError);
});
