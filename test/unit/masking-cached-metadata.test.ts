// Masking under MARIADB_CLIENT_CACHE_METADATA: the server skips a prepared statement's column definitions
// on the EXECUTEs after the PREPARE (PROTOCOL-NOTES A3.6), so the controller keeps each statement's from its
// PREPARE response (or the last EXECUTE that sent them) and plans the rows from those; rows whose
// definitions it does not have are withheld whole (fail closed). A real ResultTracker feeds a real
// MaskingController packet by packet, as the session does in packet mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PREPARED_DEFS_MAX_BYTES } from '../../src/session/masking-controller.ts';
import { withholdAll } from '../../src/masking/policy.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { Capability, ColumnType, Command } from '../../src/protocol/constants.ts';
import { encodeColumnDefinition41, type ColumnDefinition41 } from '../../src/protocol/column-definition.ts';
import { encodeBinaryRow, parseBinaryRow, type BinaryValue } from '../../src/protocol/binary-row.ts';
import { encodeColumnCount, encodeComStmtClose, encodeComStmtExecute, encodeComStmtPrepare, encodeSimpleCommand, encodeStmtPrepareOk } from '../../src/protocol/commands.ts';
import { ResultTracker } from '../../src/session/result-tracker.ts';
import { CAPS_DEPRECATE_EOF, CAPS_EOF, eof, ok } from './result-tracker-scripts.ts';
import { col, phoneController } from './masking-helpers.ts';

const PHONE = col('shop', 'users', 'phone');
const NAME = col('shop', 'users', 'name');
const ID = col('shop', 'users', 'id', ColumnType.LONG);

/** A tracker observed by a masking controller; `server()` hands it one response packet at a time. */
function session(caps: number, cacheMetadata = true) {
  const warnings: string[] = [];
  const statements: Array<{ cmd: string; rows: number }> = [];
  const m = phoneController({ cacheMetadata, warn: (w) => void warnings.push(w) });
  const tracker = new ResultTracker(
    {
      onCommand: (c) => m.onCommand(c),
      onStatement: (r) => void statements.push({ cmd: r.command.name, rows: r.rows }),
      onCommandDone: (c) => m.onCommandDone(c),
    },
    { capabilities: caps, cacheMetadata: true, captureSql: true, refuseLocalInfile: false },
  );
  tracker.observer = m;
  const dep = (caps & Capability.DEPRECATE_EOF) !== 0;
  let seq = 0;
  const client = (payload: Buffer): void => {
    seq = 1;
    tracker.fromClient.onPacket(0, payload.length, payload, 0, payload.length, false);
  };
  /** Returns what the client gets for this packet: a binary row goes through the controller's plan. */
  const server = (payload: Buffer): Buffer => {
    const kind = tracker.rowKind(payload[0] ?? -1, payload.length);
    const plan = m.rowPlan;
    tracker.fromBackend.onPacket(seq++, payload.length, payload, 0, payload.length, false);
    return kind === 'binary' && plan !== null ? plan.maskBinaryRow(payload) : payload;
  };
  const prepare = (id: number, columns: ColumnDefinition41[], sql = 'SELECT phone, name, id FROM users WHERE id > ?'): void => {
    client(encodeComStmtPrepare(sql));
    server(encodeStmtPrepareOk({ statementId: id, numColumns: columns.length, numParams: 1, warnings: 0 }));
    server(encodeColumnDefinition41(col('', '', '?', ColumnType.LONGLONG)));
    if (!dep) server(eof());
    for (const c of columns) server(encodeColumnDefinition41(c));
    if (!dep) server(eof());
  };
  /** One EXECUTE's response, rows as the client gets them, decoded with `columns`. */
  const execute = (id: number, columns: ColumnDefinition41[], rows: BinaryValue[][], opts: { metadata?: ColumnDefinition41[]; send?: boolean } = {}) => {
    if (opts.send !== false) client(encodeComStmtExecute({ statementId: id, flags: 0, iterationCount: 1 }));
    server(encodeColumnCount({ count: columns.length, metadataFollows: opts.metadata !== undefined }, true));
    for (const c of opts.metadata ?? []) server(encodeColumnDefinition41(c));
    if (!dep) server(eof());
    const got = rows.map((r) => server(encodeBinaryRow(r, columns)));
    server(dep ? ok(caps, { header: 0xfe }) : eof());
    return got.map((p) => parseBinaryRow(p, columns).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)));
  };
  return { m, client, server, prepare, execute, warnings, statements };
}

for (const [mode, caps] of [['EOF', CAPS_EOF], ['DEPRECATE_EOF', CAPS_DEPRECATE_EOF]] as const) {
  test(`${mode}: EXECUTEs without definitions are masked from the PREPARE response's`, () => {
    const s = session(caps);
    s.prepare(5, [PHONE, NAME, ID]);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(s.execute(5, [PHONE, NAME, ID], [['5551234', 'ann', 1], ['5559876', 'bob', 2]]), [['*******', 'ann', 1], ['*******', 'bob', 2]]);
      assert.deepEqual(s.m.takeMasked(), ['phone']);
    }
    assert.deepEqual(s.statements.slice(1), [1, 2, 3].map(() => ({ cmd: 'COM_STMT_EXECUTE', rows: 2 })), 'each EXECUTE ends at its terminator');
    assert.deepEqual(s.warnings, []);
  });

  test(`${mode}: EXECUTE -1 pipelined behind its PREPARE uses that PREPARE's definitions`, () => {
    const s = session(caps);
    s.prepare(3, [NAME, ID], 'SELECT name, id FROM users');
    s.client(encodeComStmtPrepare('SELECT id, phone FROM users WHERE id > ?'));
    s.client(encodeComStmtExecute({ statementId: 0xffffffff, flags: 0, iterationCount: 1 }));
    // the PREPARE's response, then the EXECUTE's: statement 3 (no phone) must not be the one used
    const dep = (caps & Capability.DEPRECATE_EOF) !== 0;
    s.server(encodeStmtPrepareOk({ statementId: 4, numColumns: 2, numParams: 1, warnings: 0 }));
    s.server(encodeColumnDefinition41(col('', '', '?', ColumnType.LONGLONG)));
    if (!dep) s.server(eof());
    s.server(encodeColumnDefinition41(ID));
    s.server(encodeColumnDefinition41(PHONE));
    if (!dep) s.server(eof());
    assert.deepEqual(s.execute(0xffffffff, [ID, PHONE], [[7, '5550000']], { send: false }), [[7, '*******']]);
  });

  test(`${mode}: an EXECUTE that sends new definitions replaces the kept ones`, () => {
    const s = session(caps);
    s.prepare(8, [NAME, ID]);
    // the table changed under the statement: the server sends the new definitions once, then skips them
    assert.deepEqual(s.execute(8, [PHONE, NAME], [['5551234', 'ann']], { metadata: [PHONE, NAME] }), [['*******', 'ann']]);
    assert.deepEqual(s.execute(8, [PHONE, NAME], [['5559999', 'bob']]), [['*******', 'bob']]);
  });

  test(`${mode}: rows whose definitions are not known are withheld whole (fail closed)`, () => {
    const s = session(caps);
    assert.deepEqual(s.execute(9, [PHONE, NAME, ID], [['5551234', 'ann', 1]]), [[null, null, null]]);
    assert.deepEqual(s.m.takeMasked(), ['*']);
    assert.match(s.warnings[0] ?? '', /prepared statement 9 are not known/);
    // the server drops its statements on COM_RESET_CONNECTION: so does the controller
    s.prepare(10, [NAME]);
    s.client(encodeSimpleCommand(Command.COM_RESET_CONNECTION));
    s.server(ok(caps));
    assert.deepEqual(s.execute(10, [NAME], [['ann']]), [[null]]);
    // and on COM_STMT_CLOSE
    s.prepare(11, [NAME]);
    s.client(encodeComStmtClose({ statementId: 11 }));
    assert.deepEqual(s.execute(11, [NAME], [['ann']]), [[null]]);
  });
}

test('definitions kept are bounded per session: the least recently used statement goes first, and is then withheld', () => {
  const s = session(CAPS_DEPRECATE_EOF);
  const wide = Array.from({ length: 100 }, (_, i) => col('shop', 'users', `c${i}`));
  const perStatement = wide.reduce((n, c) => n + encodeColumnDefinition41(c).length, 0);
  const fit = Math.floor(PREPARED_DEFS_MAX_BYTES / perStatement);
  const row = wide.map((_, i) => `v${i}`);
  for (let id = 1; id <= fit; id++) s.prepare(id, wide);
  // statement 1, prepared first, is executed all along (a connection's hot statement): it stays
  assert.deepEqual(s.execute(1, wide, [row]), [row]);
  s.prepare(fit + 1, wide);
  s.prepare(fit + 2, wide);
  assert.deepEqual(s.execute(fit + 2, wide, [row]), [row], 'the newest is kept');
  assert.deepEqual(s.execute(1, wide, [row]), [row], 'the one used recently is kept');
  assert.deepEqual(s.execute(2, wide, [row]), [wide.map(() => null)], 'the least recently used was evicted: withheld');
  assert.deepEqual(s.execute(3, wide, [row]), [wide.map(() => null)], 'and the next least recently used');
  assert.deepEqual(s.execute(4, wide, [row]), [row]);
});

test('without CACHE_METADATA nothing is kept (every EXECUTE carries its definitions)', () => {
  const s = session(CAPS_DEPRECATE_EOF, false);
  s.prepare(5, [PHONE]);
  assert.deepEqual(s.execute(5, [PHONE], [['5551234']], { metadata: [PHONE] }), [['*******']]);
  // a server that skipped them anyway: nothing to plan from, so nothing goes out
  assert.deepEqual(s.execute(5, [PHONE], [['5551234']]), [[null]]);
});

test('withholdAll: NULL rows of the announced width, and a row too short for the count is refused, not allocated for', () => {
  const plan = withholdAll(3);
  assert.deepEqual(plan.maskTextRow(Buffer.from([0x01, 0x31, 0x01, 0x32, 0xfb])), Buffer.from([0xfb, 0xfb, 0xfb]));
  assert.deepEqual(parseBinaryRow(plan.maskBinaryRow(encodeBinaryRow([1, 'x', 'y'], [ID, NAME, PHONE])), [ID, NAME, PHONE]), [null, null, null]);
  // a server announcing 2^32 - 1 columns (no definitions: cached) then sending a small row
  const hostile = withholdAll(0xffffffff);
  assert.throws(() => hostile.maskTextRow(Buffer.from([0xfb])), ProtocolError);
  assert.throws(() => hostile.maskBinaryRow(Buffer.from([0x00, 0xff])), ProtocolError);
});
