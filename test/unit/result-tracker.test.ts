// ResultTracker, fed through two PacketWalkers like the session does, with byte conversations built from
// the protocol encoders and the captures of PROTOCOL-NOTES A1.3/A3: where every response ends, what is
// reported per statement, and that cutting the bytes at any boundary changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketWalker } from '../../src/protocol/packet-walker.ts';
import { encodePacket } from '../../src/protocol/packet.ts';
import { ResultTracker } from '../../src/session/result-tracker.ts';
import { encodeComChangeUser, encodeComStmtExecute, encodeComStmtPrepare, encodeLocalInfileRequest, encodeStmtPrepareOk } from '../../src/protocol/commands.ts';
import { encodeAuthMoreData, encodeAuthSwitchRequest } from '../../src/protocol/auth.ts';
import { ServerStatus } from '../../src/protocol/constants.ts';
import { CAPS_DEPRECATE_EOF, CAPS_EOF, bigRowScripts, colDef, resultSet, byteByByte, err, ok, packets, query, run, s, smallScripts, type Chunker, type Script, type Seen } from './result-tracker-scripts.ts';

type Row = [cmd: string, index: number, rows: number, affected: number, err: number | null];

/** Expected statements per conversation (name without the EOF / DEPRECATE_EOF tag). */
const EXPECTED: Record<string, Row[]> = {
  OK: [['COM_QUERY', 0, 0, 3, null]],
  ERR: [['COM_QUERY', 0, 0, 0, 1146]],
  'text result set': [['COM_QUERY', 0, 3, 0, null]],
  'empty result set': [['COM_QUERY', 0, 0, 0, null]],
  'multi-results SELECT 1; SELECT 2; DO 1': [
    ['COM_QUERY', 0, 1, 0, null],
    ['COM_QUERY', 1, 1, 0, null],
    ['COM_QUERY', 2, 0, 0, null],
  ],
  'multi-statement with an error in the middle': [
    ['COM_QUERY', 0, 0, 2, null],
    ['COM_QUERY', 1, 2, 0, null],
    ['COM_QUERY', 2, 0, 0, 1146],
    ['COM_QUERY', 0, 1, 0, null],
  ],
  'CALL with a result set and the trailing OK': [
    ['COM_QUERY', 0, 3, 0, null],
    ['COM_QUERY', 1, 0, 0, null],
  ],
  'COM_STMT_PREPARE with params and columns, then EXECUTE with binary rows, then CLOSE': [
    ['COM_STMT_PREPARE', 0, 0, 0, null],
    ['COM_STMT_EXECUTE', 0, 3, 0, null],
    ['COM_QUERY', 0, 1, 0, null],
  ],
  'MARIADB_CLIENT_CACHE_METADATA: EXECUTE with metadata, EXECUTE without, a text result set': [
    ['COM_STMT_PREPARE', 0, 0, 0, null],
    ['COM_STMT_EXECUTE', 0, 2, 0, null],
    ['COM_STMT_EXECUTE', 0, 3, 0, null],
    ['COM_QUERY', 0, 1, 0, null],
  ],
  'COM_STMT_PREPARE params only / columns only / neither': [
    ['COM_STMT_PREPARE', 0, 0, 0, null],
    ['COM_STMT_PREPARE', 0, 0, 0, null],
    ['COM_STMT_PREPARE', 0, 0, 0, null],
    ['COM_STMT_PREPARE', 0, 0, 0, 1054],
    ['COM_STMT_EXECUTE', 0, 0, 0, null],
  ],
  'cursor EXECUTE + COM_STMT_FETCH': [
    ['COM_STMT_PREPARE', 0, 0, 0, null],
    ['COM_STMT_EXECUTE', 0, 0, 0, null],
    ['COM_STMT_FETCH', 0, 2, 0, null],
    ['COM_STMT_FETCH', 0, 1, 0, null],
    ['COM_STMT_FETCH', 0, 0, 0, 1243],
  ],
  'LOAD DATA LOCAL INFILE': [
    ['COM_QUERY', 0, 0, 3, null],
    ['COM_QUERY', 0, 1, 0, null],
  ],
  'LOAD DATA LOCAL refused by the client (empty packet at once) and by the server (4166)': [
    ['COM_QUERY', 0, 0, 0, 2],
    ['COM_QUERY', 0, 0, 0, 4166],
  ],
  'COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE have no response': [
    ['COM_STMT_PREPARE', 0, 0, 0, null],
    ['COM_STMT_EXECUTE', 0, 0, 1, null],
    ['COM_PING', 0, 0, 0, null],
  ],
  'progress reports': [['COM_QUERY', 0, 0, 5, null]],
  'pipelined commands answered in one write': [
    ['COM_QUERY', 0, 1, 0, null],
    ['COM_QUERY', 0, 0, 4, null],
    ['COM_QUERY', 0, 0, 0, 1054],
    ['COM_PING', 0, 0, 0, null],
  ],
  'COM_CHANGE_USER native, ed25519, wrong password': [
    ['COM_CHANGE_USER', 0, 0, 0, null],
    ['COM_CHANGE_USER', 0, 0, 0, null],
    ['COM_CHANGE_USER', 0, 0, 0, 1045],
  ],
  'COM_CHANGE_USER with AuthMoreData fast-auth-success': [
    ['COM_CHANGE_USER', 0, 0, 0, null],
    ['COM_QUERY', 0, 1, 0, null],
  ],
  'simple commands (INIT_DB, STATISTICS, SET_OPTION, FIELD_LIST, PROCESS_INFO, RESET_CONNECTION, QUIT)': [
    ['COM_INIT_DB', 0, 0, 0, null],
    ['COM_STATISTICS', 0, 0, 0, null],
    ['COM_SET_OPTION', 0, 0, 0, null],
    ['COM_FIELD_LIST', 0, 2, 0, null],
    ['COM_PROCESS_INFO', 0, 2, 0, null],
    ['COM_RESET_CONNECTION', 0, 0, 0, null],
  ],
  'rows of 16 MiB and more': [
    ['COM_QUERY', 0, 3, 0, null],
    ['COM_QUERY', 0, 1, 0, null],
  ],
  'client packet of 17 MiB': [
    ['COM_QUERY', 0, 0, 1, null],
    ['COM_QUERY', 0, 1, 0, null],
  ],
};

function expectedOf(script: Script): Row[] {
  const key = script.name.replace(/^(EOF|DEPRECATE_EOF): /, '');
  const rows = EXPECTED[key];
  assert.ok(rows !== undefined, `no expectation for ${script.name}`);
  return rows;
}

function rowsOf(seen: Seen): Row[] {
  return seen.statements.map((x) => [x.cmd, x.index, x.rows, x.affected, x.err]);
}

function serverBytes(script: Script): number {
  return script.steps.filter((x) => x.from === 's').reduce((n, x) => n + x.bytes.length, 0);
}

function check(script: Script, chunker?: Chunker): Seen {
  const seen = run(script, chunker);
  assert.deepEqual(rowsOf(seen), expectedOf(script), script.name);
  assert.equal(seen.inFlight.at(-1), 0, `${script.name}: a response did not end`);
  // every server byte is accounted to exactly one statement
  assert.equal(
    seen.statements.reduce((n, x) => n + x.bytesOut, 0),
    serverBytes(script),
    `${script.name}: bytesOut`,
  );
  // every command got exactly one onCommandDone, in order
  assert.deepEqual(
    seen.done.map((d) => d.cmd),
    seen.commands,
    `${script.name}: commands done`,
  );
  return seen;
}

for (const script of smallScripts()) {
  test(`${script.name}: whole writes`, () => {
    check(script);
  });
  test(`${script.name}: one byte at a time`, () => {
    check(script, byteByByte);
  });
  test(`${script.name}: every single cut of every step`, () => {
    const base = rowsOf(run(script));
    script.steps.forEach((step, i) => {
      for (let k = 1; k < step.bytes.length; k++) {
        const seen = run(script, (b, j) => (j === i ? [b.subarray(0, k), b.subarray(k)] : [b]));
        assert.deepEqual(rowsOf(seen), base, `${script.name}: step ${i} cut at ${k}`);
      }
    });
  });
}

for (const script of bigRowScripts()) {
  test(`${script.name}`, () => {
    check(script);
    // cut around the packet headers of the continuation and at the 0xFE lenenc byte
    for (const k of [1, 3, 4, 5, 0xffff, 0xffffff + 3, 0xffffff + 4, 0xffffff + 5, 0xffffff + 9]) {
      check(script, (b) => (b.length > k ? [b.subarray(0, k), b.subarray(k)] : [b]));
    }
    check(script, (b) => {
      const out: Buffer[] = [];
      for (let i = 0; i < b.length; i += 65_521) out.push(b.subarray(i, i + 65_521));
      return out;
    });
  });
}

test('details: SQL, statement ids, sqlState, warnings and the idle flag are reported', () => {
  const scripts = smallScripts();
  const byName = (n: string) => scripts.find((x) => x.name === n)!;

  const ps = run(byName('EOF: COM_STMT_PREPARE with params and columns, then EXECUTE with binary rows, then CLOSE'));
  assert.equal(ps.statements[0]!.sql, 'SELECT id, name, d FROM t WHERE id > ?');
  assert.equal(ps.statements[1]!.stmtId, 7);
  assert.equal(ps.statements[1]!.sql, 'SELECT id, name, d FROM t WHERE id > ?', 'EXECUTE carries the prepared SQL');
  assert.deepEqual(ps.commands, ['COM_STMT_PREPARE', 'COM_STMT_EXECUTE', 'COM_STMT_CLOSE', 'COM_QUERY']);

  const ld = run(byName('EOF: COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE have no response'));
  assert.equal(ld.statements[1]!.stmtId, 4, 'stmt id 0xFFFFFFFF = the last prepared one (A3.7)');

  const ok = run(byName('DEPRECATE_EOF: OK'));
  assert.equal(ok.statements[0]!.warnings, 1);
  const e = run(byName('EOF: ERR'));
  assert.equal(e.statements[0]!.sqlState, '42S02');

  const pipe = run(byName('EOF: pipelined commands answered in one write'));
  assert.deepEqual(pipe.inFlight, [4, 0]);
  assert.deepEqual(
    pipe.done.map((d) => d.idle),
    [false, false, false, true],
  );

  const infile = run(byName('EOF: LOAD DATA LOCAL INFILE'));
  assert.deepEqual(infile.streaming.slice(0, 4), [false, true, true, false], 'the client streams between 0xFB and the empty packet');
  assert.deepEqual(infile.commands, ['COM_QUERY', 'COM_QUERY'], 'file packets that look like commands are not commands');

  const cu = run(byName('EOF: COM_CHANGE_USER native, ed25519, wrong password'));
  assert.deepEqual(cu.commands, ['COM_CHANGE_USER', 'COM_CHANGE_USER', 'COM_CHANGE_USER'], 'auth answers are not commands');
});

test('an unsolicited ERR while idle (server closing the connection) is ignored', () => {
  const seen = run({
    name: 'unsolicited',
    caps: 0,
    steps: [s(0, err(4031, 'HY000', 'The client was disconnected by the server because of inactivity.'))],
  });
  assert.deepEqual(seen.statements, []);
  assert.deepEqual(seen.inFlight, [0]);
});

test('PacketWalker.atBoundary is false between a 0xFFFFFF packet and its continuation', () => {
  const heads: Array<[number, boolean]> = [];
  const w = new PacketWalker({ onPacket: (_seq, len, _buf, _off, _head, cont) => { heads.push([len, cont]); } }, { headLimit: 16, maxPacket: 1 << 30 });
  const logical = encodePacket(Buffer.alloc(0xffffff + 3, 0x11), 0); // 0xFFFFFF packet + 3-byte continuation
  const split = 4 + 0xffffff;
  w.walk(logical.subarray(0, split));
  assert.equal(w.atBoundary(), false, 'the continuation is still to come: its first byte (0x11) is data');
  w.walk(logical.subarray(split));
  assert.equal(w.atBoundary(), true);
  assert.deepEqual(heads, [
    [0xffffff, false],
    [3, true],
  ]);
  // exact multiple: the empty continuation packet ends the logical packet
  w.walk(encodePacket(Buffer.alloc(0xffffff, 0x03), 0).subarray(0, split));
  assert.equal(w.atBoundary(), false);
  w.walk(Buffer.from([0, 0, 0, 1]));
  assert.equal(w.atBoundary(), true);
});

test('refuseLocalInfile: the walker stops after the 0xFB request and after the refused command ends', () => {
  const statements: Array<{ index: number; err: number | null }> = [];
  const tracker = new ResultTracker(
    { onCommand: () => undefined, onStatement: (r) => void statements.push({ index: r.index, err: r.error?.code ?? null }), onCommandDone: () => undefined },
    { capabilities: CAPS_DEPRECATE_EOF, cacheMetadata: false, captureSql: true, refuseLocalInfile: true },
  );
  const client = new PacketWalker(tracker.fromClient, { headLimit: 64 * 1024, maxPacket: 1024 ** 3 });
  const backend = new PacketWalker(tracker.fromBackend, { headLimit: 1024, maxPacket: 2 ** 31 });
  client.walk(packets([query("LOAD DATA LOCAL INFILE 'x' INTO TABLE t; SELECT 1")], 0));
  const request = encodeLocalInfileRequest({ filename: '/etc/passwd' });
  // the request, then (as if the server answered fast) bytes that must not be walked yet
  const first = Buffer.concat([packets([request], 1), Buffer.from([9, 9])]);
  assert.equal(backend.walk(first), 4 + request.length, 'stops right after the request');
  assert.equal(tracker.takeRefusedInfileRequest(), request.length);
  assert.equal(tracker.takeRefusedInfileRequest(), -1, 'read once');
  assert.equal(tracker.takeRefusedCommandEnd(), false);
  // the server's OK to the relay's empty packet (more results follow), the second statement's OK, and a
  // byte of whatever comes next: the walker stops where the refused command's response ends
  const rest = Buffer.concat([
    packets([ok(CAPS_DEPRECATE_EOF, { status: ServerStatus.AUTOCOMMIT | ServerStatus.MORE_RESULTS_EXISTS })], 3),
    packets([ok(CAPS_DEPRECATE_EOF)], 1),
  ]);
  assert.equal(backend.walk(Buffer.concat([rest, Buffer.from([7])])), rest.length);
  assert.equal(tracker.takeRefusedCommandEnd(), true);
  assert.equal(tracker.inFlight, 0);
  assert.deepEqual(statements, [
    { index: 0, err: 4166 },
    { index: 1, err: null },
  ]);
});

test('an EXECUTE with the id -1 pipelined behind its PREPARE carries that PREPARE\'s SQL, and its id once the PREPARE is answered', () => {
  const sqls: Array<string | null> = [];
  const ids: Array<number | null> = [];
  const tracker = new ResultTracker(
    {
      onCommand: (c) => void (c.name === 'COM_STMT_EXECUTE' && sqls.push(c.sql)),
      onStatement: (r) => void (r.command.name === 'COM_STMT_EXECUTE' && ids.push(r.command.statementId)),
      onCommandDone: () => undefined,
    },
    { capabilities: CAPS_DEPRECATE_EOF, cacheMetadata: false, captureSql: true, refuseLocalInfile: false },
  );
  const client = new PacketWalker(tracker.fromClient, { headLimit: 64 * 1024, maxPacket: 1024 ** 3 });
  const backend = new PacketWalker(tracker.fromBackend, { headLimit: 1024, maxPacket: 2 ** 31 });
  const execute = (id: number): Buffer => encodeComStmtExecute({ statementId: id, flags: 0, iterationCount: 1, params: Buffer.alloc(0) });
  client.walk(packets([encodeComStmtPrepare('SELECT 1')], 0));
  backend.walk(packets([encodeStmtPrepareOk({ statementId: 1, numColumns: 0, numParams: 0, warnings: 0 })], 1));
  client.walk(packets([execute(0xffffffff)], 0)); // not pipelined: the statement prepared last
  backend.walk(packets([ok(CAPS_DEPRECATE_EOF)], 1));
  client.walk(Buffer.concat([packets([encodeComStmtPrepare('SELECT 2')], 0), packets([execute(0xffffffff)], 0)])); // pipelined
  assert.deepEqual(sqls, ['SELECT 1', 'SELECT 2']);
  backend.walk(packets([encodeStmtPrepareOk({ statementId: 2, numColumns: 0, numParams: 0, warnings: 0 })], 1));
  backend.walk(packets([ok(CAPS_DEPRECATE_EOF)], 1));
  assert.deepEqual(ids, [1, 2], 'the real ids, not -1');
});

test('responseSeq: the sequence id the client expects next on the response it waits for', () => {
  const tracker = new ResultTracker(
    { onCommand: () => undefined, onStatement: () => undefined, onCommandDone: () => undefined },
    { capabilities: CAPS_EOF, cacheMetadata: false, captureSql: false, refuseLocalInfile: false },
  );
  const client = new PacketWalker(tracker.fromClient, { headLimit: 16, maxPacket: 1024 ** 3 });
  const backend = new PacketWalker(tracker.fromBackend, { headLimit: 1024, maxPacket: 2 ** 31 });
  assert.equal(tracker.responseSeq, 1, 'nothing in flight');
  client.walk(packets([query('SELECT a, b FROM t')], 0));
  assert.equal(tracker.responseSeq, 1, 'the command went out, nothing came back yet');
  // column count, 2 definitions, EOF, 2 rows, EOF: packets 1..7
  const rs = resultSet(CAPS_EOF, [colDef('a'), colDef('b')], [Buffer.from([1, 0x31, 1, 0x32]), Buffer.from([1, 0x33, 1, 0x34])]);
  backend.walk(packets(rs.slice(0, 5), 1));
  assert.equal(tracker.responseSeq, 6, 'mid-result: after the first row');
  backend.walk(packets(rs.slice(5), 6));
  assert.equal(tracker.inFlight, 0);

  // a pipeline: the second command's response starts at 1, not after the first one's
  client.walk(Buffer.concat([packets([query('SELECT a, b FROM t')], 0), packets([query('DO 1')], 0)]));
  backend.walk(packets(rs, 1));
  assert.equal(tracker.inFlight, 1);
  assert.equal(tracker.responseSeq, 1, 'the second command of the pipeline');
  backend.walk(packets([ok(CAPS_EOF)], 1));

  // LOCAL INFILE: the request is 1, the client's file 2 and 3, its empty packet 4: the server answers with 5
  client.walk(packets([query("LOAD DATA LOCAL INFILE 'f' INTO TABLE t")], 0));
  backend.walk(packets([encodeLocalInfileRequest({ filename: 'f' })], 1));
  assert.equal(tracker.responseSeq, 2);
  client.walk(packets([Buffer.from('1\n'), Buffer.from('2\n'), Buffer.alloc(0)], 2));
  assert.equal(tracker.responseSeq, 5);
  backend.walk(packets([ok(CAPS_EOF, { affected: 2 })], 5));

  // a command longer than 16 MiB goes out as packets 0 and 1: the response starts at 2
  client.walk(packets([Buffer.concat([Buffer.from([0x03]), Buffer.alloc(0xffffff, 0x20)])], 0));
  assert.equal(tracker.responseSeq, 2);
});

for (const [plugin, stopAtFullAuth, stops] of [
  ['caching_sha2_password', true, true],
  ['caching_sha2_password', false, false],
  ['sha256_password', true, false],
] as const) {
  test(`stopAtFullAuth ${String(stopAtFullAuth)}: COM_CHANGE_USER switched to ${plugin}, then \`01 04\`: the walker ${stops ? 'stops there' : 'goes on'}`, () => {
    const tracker = new ResultTracker(
      { onCommand: () => undefined, onStatement: () => undefined, onCommandDone: () => undefined },
      { capabilities: CAPS_EOF, cacheMetadata: false, captureSql: false, refuseLocalInfile: false, stopAtFullAuth },
    );
    const client = new PacketWalker(tracker.fromClient, { headLimit: 16, maxPacket: 1024 ** 3 });
    const backend = new PacketWalker(tracker.fromBackend, { headLimit: 1024, maxPacket: 2 ** 31 });
    const cu = { user: 'u', authResponse: Buffer.alloc(0), database: '', charset: 45, authPluginName: 'proxy_force_switch', connectAttributes: null };
    client.walk(packets([encodeComChangeUser(cu, CAPS_EOF)], 0));
    assert.equal(backend.walk(packets([encodeAuthSwitchRequest({ pluginName: plugin, pluginData: Buffer.alloc(21, 1) })], 1)), -1);
    client.walk(packets([Buffer.alloc(32, 2)], 2));
    const fullAuth = packets([encodeAuthMoreData({ data: Buffer.from([0x04]) })], 3);
    const after = Buffer.concat([fullAuth, Buffer.from([9])]);
    assert.equal(backend.walk(after), stops ? fullAuth.length : -1);
    assert.equal(tracker.takeFullAuthRequest(), stops);
    assert.equal(tracker.takeFullAuthRequest(), false, 'read once');
  });
}
