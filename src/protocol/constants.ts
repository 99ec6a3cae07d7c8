// Wire-protocol constants: capability flags (MySQL + MariaDB extended), server status bits,
// command bytes, column types and column flags, as `as const` objects plus union types.
// Capability bit 31 is written with `>>> 0` so every flag is a non-negative number and
// `(caps & flag) !== 0` / `caps >>> 0` comparisons behave.

export const MAX_PAYLOAD = 0xffffff;

export const Capability = {
  LONG_PASSWORD: 1, // a.k.a. CLIENT_MYSQL; MariaDB clears it to say "ext caps in reserved bytes"
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 0x800,
  IGNORE_SIGPIPE: 0x1000,
  TRANSACTIONS: 0x2000,
  RESERVED: 0x4000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION_ALGORITHM: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
  MULTI_FACTOR_AUTHENTICATION: 1 << 28,
  CAPABILITY_EXTENSION: 1 << 29,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
  REMEMBER_OPTIONS: (1 << 31) >>> 0,
} as const;
export type CapabilityName = keyof typeof Capability;

/** MariaDB extended capabilities (greeting reserved bytes 6..9 / response filler bytes 19..22). */
export const MariaDbCapability = {
  PROGRESS: 1,
  COM_MULTI: 2,
  STMT_BULK_OPERATIONS: 4,
  EXTENDED_METADATA: 8,
  CACHE_METADATA: 16,
  BULK_UNIT_RESULTS: 32,
} as const;
export type MariaDbCapabilityName = keyof typeof MariaDbCapability;

export const ServerStatus = {
  IN_TRANS: 1,
  AUTOCOMMIT: 2,
  MORE_RESULTS_EXISTS: 8,
  NO_GOOD_INDEX_USED: 0x10,
  NO_INDEX_USED: 0x20,
  CURSOR_EXISTS: 0x40,
  LAST_ROW_SENT: 0x80,
  DB_DROPPED: 0x100,
  NO_BACKSLASH_ESCAPES: 0x200,
  METADATA_CHANGED: 0x400,
  QUERY_WAS_SLOW: 0x800,
  PS_OUT_PARAMS: 0x1000,
  IN_TRANS_READONLY: 0x2000,
  SESSION_STATE_CHANGED: 0x4000,
} as const;
export type ServerStatusName = keyof typeof ServerStatus;

export const Command = {
  COM_SLEEP: 0x00,
  COM_QUIT: 0x01,
  COM_INIT_DB: 0x02,
  COM_QUERY: 0x03,
  COM_FIELD_LIST: 0x04,
  COM_CREATE_DB: 0x05,
  COM_DROP_DB: 0x06,
  COM_REFRESH: 0x07,
  COM_SHUTDOWN: 0x08,
  COM_STATISTICS: 0x09,
  COM_PROCESS_INFO: 0x0a,
  COM_CONNECT: 0x0b,
  COM_PROCESS_KILL: 0x0c,
  COM_DEBUG: 0x0d,
  COM_PING: 0x0e,
  COM_TIME: 0x0f,
  COM_DELAYED_INSERT: 0x10,
  COM_CHANGE_USER: 0x11,
  COM_BINLOG_DUMP: 0x12,
  COM_TABLE_DUMP: 0x13,
  COM_CONNECT_OUT: 0x14,
  COM_REGISTER_SLAVE: 0x15,
  COM_STMT_PREPARE: 0x16,
  COM_STMT_EXECUTE: 0x17,
  COM_STMT_SEND_LONG_DATA: 0x18,
  COM_STMT_CLOSE: 0x19,
  COM_STMT_RESET: 0x1a,
  COM_SET_OPTION: 0x1b,
  COM_STMT_FETCH: 0x1c,
  COM_DAEMON: 0x1d,
  COM_BINLOG_DUMP_GTID: 0x1e,
  COM_RESET_CONNECTION: 0x1f,
  COM_CLONE: 0x20, // MySQL 8
  COM_STMT_BULK_EXECUTE: 0xfa, // MariaDB
  COM_MULTI: 0xfe, // MariaDB (deprecated)
} as const;
export type CommandName = keyof typeof Command;
export type CommandCode = (typeof Command)[CommandName];

const commandNames = new Map<number, string>(Object.entries(Command).map(([k, v]) => [v, k]));

/** 'COM_QUERY' for 3; unknown codes render as 'COM_0xNN' (two hex digits, lower case). */
export function commandName(code: number): string {
  return commandNames.get(code) ?? `COM_0x${(code & 0xff).toString(16).padStart(2, '0')}`;
}

export const ColumnType = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  TIMESTAMP2: 0x11,
  DATETIME2: 0x12,
  TIME2: 0x13,
  TYPED_ARRAY: 0x14, // MySQL replication only
  VECTOR: 0xf2, // MySQL 9
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;
export type ColumnTypeName = keyof typeof ColumnType;

const columnTypeNames = new Map<number, string>(Object.entries(ColumnType).map(([k, v]) => [v, k]));
export function columnTypeName(type: number): string {
  return columnTypeNames.get(type) ?? `TYPE_0x${(type & 0xff).toString(16).padStart(2, '0')}`;
}

export const ColumnFlag = {
  NOT_NULL: 1,
  PRI_KEY: 2,
  UNIQUE_KEY: 4,
  MULTIPLE_KEY: 8,
  BLOB: 0x10,
  UNSIGNED: 0x20,
  ZEROFILL: 0x40,
  BINARY: 0x80,
  ENUM: 0x100,
  AUTO_INCREMENT: 0x200,
  TIMESTAMP: 0x400,
  SET: 0x800,
  NO_DEFAULT_VALUE: 0x1000,
  ON_UPDATE_NOW: 0x2000,
  PART_KEY: 0x4000,
  NUM: 0x8000,
} as const;
export type ColumnFlagName = keyof typeof ColumnFlag;

/** MySQL session-state-change item types (OK packet, CLIENT_SESSION_TRACK). */
export const SessionTrackType = {
  SYSTEM_VARIABLES: 0,
  SCHEMA: 1,
  STATE_CHANGE: 2,
  GTIDS: 3,
  TRANSACTION_CHARACTERISTICS: 4,
  TRANSACTION_STATE: 5,
} as const;

/** COM_STMT_EXECUTE cursor flags. */
export const CursorType = {
  NO_CURSOR: 0,
  READ_ONLY: 1,
  FOR_UPDATE: 2,
  SCROLLABLE: 4,
  PARAMETER_COUNT_AVAILABLE: 8,
} as const;
