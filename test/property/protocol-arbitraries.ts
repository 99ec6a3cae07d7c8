// fast-check arbitraries for every protocol message, shared by the round-trip and fuzz properties.
// Each generator yields objects that are *consistent* with their capability bits (e.g. a database
// only when CONNECT_WITH_DB is set), because that is the domain on which parse∘encode = id holds.

import fc from 'fast-check';
import {
  Capability,
  ColumnFlag,
  ColumnType,
  ServerStatus,
  type BinaryValue,
  type ColumnDefinition41,
  type HandshakeResponse41,
  type HandshakeV10,
  type OkPacket,
  type SessionStateChange,
} from '../../src/protocol/index.ts';

export const buf = (max = 64): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));
export const text = (max = 24): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength: max });
export const nulFree = (max = 24): fc.Arbitrary<string> => text(max).filter((s) => !s.includes('\0'));
export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u24 = fc.integer({ min: 0, max: 0xffffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** lenenc-able integer as the Reader returns it: number up to 2^53-1, bigint beyond. */
export const lenencValue: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.constantFrom(0, 250, 251, 0xffff, 0x10000, 0xffffff, 0x1000000, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: 0x7fffffff }),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
);
const attrs = fc.array(fc.tuple(text(12), text(12)), { maxLength: 4 });
/** fc.record with ordinary prototypes, so deepStrictEqual compares like with like. */
export function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}
const bit = (caps: number, flag: number): boolean => (caps & flag) !== 0;

export const handshakeV10: fc.Arbitrary<HandshakeV10> = fc
  .record({
    serverVersion: nulFree(40),
    connectionId: u32,
    scramble: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u)),
    capabilities: u32.map((c) => (c | Capability.SECURE_CONNECTION) >>> 0),
    charset: u8,
    statusFlags: u16,
    mariadbCapabilities: u32,
    authPluginName: nulFree(24),
  })
  .map((h) => ({ protocolVersion: 10, ...h, authPluginName: bit(h.capabilities, Capability.PLUGIN_AUTH) ? h.authPluginName : '' }));

export const handshakeResponse41: fc.Arbitrary<HandshakeResponse41> = fc
  .record({
    capabilities: u32,
    maxPacketSize: u32,
    charset: u8,
    mariadbCapabilities: u32,
    user: nulFree(16),
    auth: buf(300),
    database: nulFree(16),
    authPluginName: nulFree(24),
    connectAttributes: attrs,
  })
  .map((r) => {
    const c = r.capabilities;
    let authResponse = r.auth;
    if (!bit(c, Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA)) {
      authResponse = bit(c, Capability.SECURE_CONNECTION) ? authResponse.subarray(0, 255) : Buffer.from(authResponse.filter((b) => b !== 0));
    }
    return {
      capabilities: c,
      maxPacketSize: r.maxPacketSize,
      charset: r.charset,
      mariadbCapabilities: r.mariadbCapabilities,
      user: r.user,
      authResponse,
      database: bit(c, Capability.CONNECT_WITH_DB) ? r.database : null,
      authPluginName: bit(c, Capability.PLUGIN_AUTH) ? r.authPluginName : null,
      connectAttributes: bit(c, Capability.CONNECT_ATTRS) ? r.connectAttributes : null,
    };
  });

export const sslRequest = rec({ capabilities: u32, maxPacketSize: u32, charset: u8, mariadbCapabilities: u32 });
export const authSwitch = rec({ pluginName: nulFree(24), pluginData: buf(40) });
export const authMoreData = rec({ data: buf(40) });

export const sessionStateChange: fc.Arbitrary<SessionStateChange> = fc.oneof(
  rec({ type: fc.constant('system_variable' as const), name: text(), value: text() }),
  rec({ type: fc.constant('schema' as const), schema: text() }),
  rec({ type: fc.constant('state_change' as const), changed: fc.boolean() }),
  rec({ type: fc.constant('gtids' as const), data: buf(20) }),
  rec({ type: fc.constant('transaction_characteristics' as const), value: text() }),
  rec({ type: fc.constant('transaction_state' as const), value: text(8) }),
  rec({ type: fc.constant('unknown' as const), code: fc.integer({ min: 6, max: 255 }), data: buf(20) }),
);

export const capsForOk = fc.constantFrom(
  Capability.PROTOCOL_41 | Capability.SESSION_TRACK,
  Capability.PROTOCOL_41 | Capability.SESSION_TRACK | Capability.DEPRECATE_EOF,
  Capability.PROTOCOL_41,
  0x00bfa28c,
  0x003aa20d,
);

export const okWithCaps: fc.Arbitrary<{ ok: OkPacket; caps: number }> = fc
  .record({
    caps: capsForOk,
    header: fc.constantFrom(0x00 as const, 0xfe as const),
    affectedRows: lenencValue,
    lastInsertId: lenencValue,
    statusFlags: u16,
    warnings: u16,
    info: text(40),
    changes: fc.option(fc.array(sessionStateChange, { maxLength: 5 }), { nil: null }),
  })
  .map(({ caps, changes, ...o }) => {
    const track = bit(caps, Capability.SESSION_TRACK);
    const changed = bit(o.statusFlags, ServerStatus.SESSION_STATE_CHANGED);
    return { caps, ok: { ...o, sessionStateChanges: track && changed ? changes : null } };
  });

export const errPacket = rec({
  code: fc.integer({ min: 0, max: 0xfffe }),
  sqlState: fc.option(fc.stringMatching(/^[0-9A-Z]{5}$/), { nil: null }),
  message: text(60),
}).map((e) => (e.sqlState === null && e.message.startsWith('#') ? { ...e, message: e.message.slice(1) } : e));

export const progressReport = rec({ stage: u8, maxStage: u8, progress: u24, info: text(30) });
export const eofPacket = rec({ warnings: u16, statusFlags: u16 });

export const columnDefinition: fc.Arbitrary<{ col: ColumnDefinition41; ext: boolean }> = fc
  .record({
    ext: fc.boolean(),
    catalog: text(4),
    schema: text(),
    table: text(),
    orgTable: text(),
    name: text(),
    orgName: text(),
    meta: fc.array(rec({ type: u8, value: text(8) }), { maxLength: 3 }),
    charset: u16,
    columnLength: u32,
    type: u8,
    flags: u16,
    decimals: u8,
  })
  .map(({ ext, meta, ...c }) => ({ ext, col: { ...c, extendedMetadata: ext ? meta : null } }));

export const textRow = fc.array(fc.option(buf(300), { nil: null }), { maxLength: 12 });

const I = { signed: (bits: number) => fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 }), unsigned: (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 }) };
const safeOr = (v: bigint): number | bigint => (v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : v);
const date: fc.Arbitrary<BinaryValue> = fc
  .record({ year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8, microsecond: u32 })
  .chain((d) => fc.constantFrom(
    { kind: 'date' as const, ...d },
    { kind: 'date' as const, ...d, microsecond: 0 },
    { kind: 'date' as const, ...d, hour: 0, minute: 0, second: 0, microsecond: 0 },
    { kind: 'date' as const, year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, microsecond: 0 },
  ));
const time: fc.Arbitrary<BinaryValue> = fc
  .record({ negative: fc.boolean(), days: u32, hours: u8, minutes: u8, seconds: u8, microseconds: u32 })
  .chain((t) => fc.constantFrom(
    { kind: 'time' as const, ...t },
    { kind: 'time' as const, ...t, microseconds: 0 },
    { kind: 'time' as const, negative: false, days: 0, hours: 0, minutes: 0, seconds: 0, microseconds: 0 },
  ));

/** A column and a value that fits it (as parseBinaryRow returns it). */
export const binaryCell: fc.Arbitrary<{ type: number; flags: number; value: BinaryValue }> = fc.oneof(
  rec({ type: fc.constant(ColumnType.TINY), flags: fc.constant(0), value: I.signed(8) }),
  rec({ type: fc.constant(ColumnType.TINY), flags: fc.constant(ColumnFlag.UNSIGNED), value: I.unsigned(8) }),
  rec({ type: fc.constant(ColumnType.SHORT), flags: fc.constant(0), value: I.signed(16) }),
  rec({ type: fc.constant(ColumnType.SHORT), flags: fc.constant(ColumnFlag.UNSIGNED), value: I.unsigned(16) }),
  rec({ type: fc.constant(ColumnType.YEAR), flags: fc.constant(ColumnFlag.UNSIGNED), value: I.unsigned(16) }),
  rec({ type: fc.constantFrom(ColumnType.INT24, ColumnType.LONG), flags: fc.constant(0), value: I.signed(32) }),
  rec({ type: fc.constantFrom(ColumnType.INT24, ColumnType.LONG), flags: fc.constant(ColumnFlag.UNSIGNED), value: I.unsigned(32) }),
  rec({ type: fc.constant(ColumnType.LONGLONG), flags: fc.constant(0), value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(safeOr) }),
  rec({ type: fc.constant(ColumnType.LONGLONG), flags: fc.constant(ColumnFlag.UNSIGNED), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(safeOr) }),
  rec({ type: fc.constant(ColumnType.FLOAT), flags: fc.constant(0), value: fc.float() }),
  rec({ type: fc.constant(ColumnType.DOUBLE), flags: fc.constant(0), value: fc.double() }),
  rec({ type: fc.constantFrom(ColumnType.DECIMAL, ColumnType.NEWDECIMAL), flags: fc.constant(0), value: fc.stringMatching(/^-?[0-9]{1,20}(\.[0-9]{1,10})?$/) }),
  rec({
    type: fc.constantFrom(ColumnType.VARCHAR, ColumnType.VAR_STRING, ColumnType.STRING, ColumnType.BLOB, ColumnType.TINY_BLOB, ColumnType.MEDIUM_BLOB, ColumnType.LONG_BLOB, ColumnType.ENUM, ColumnType.SET, ColumnType.JSON, ColumnType.GEOMETRY, ColumnType.BIT),
    flags: u16,
    value: buf(300),
  }),
  rec({ type: fc.constantFrom(ColumnType.DATE, ColumnType.DATETIME, ColumnType.TIMESTAMP, ColumnType.NEWDATE), flags: fc.constant(0), value: date }),
  rec({ type: fc.constant(ColumnType.TIME), flags: fc.constant(0), value: time }),
  rec({ type: u8, flags: u16, value: fc.constant(null) }),
);
