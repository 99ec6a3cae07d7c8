// ResultTracker: knows, for every command a client sends, where its response ends (DESIGN §4), by looking
// only at packet headers and the first bytes of each payload handed over by two PacketWalkers (one per leg).
// It keeps the queue of commands in flight (clients pipeline), the transaction/cursor state from status
// flags, prepared-statement SQL per statement id, and reports one StatementResult per statement (each
// result of a multi-statement) and one CommandDone per command. Pure: no sockets, no timers; hot path.
import { Capability, Command, ServerStatus, commandName } from '../protocol/constants.ts';
import type { PacketSink } from '../protocol/packet-walker.ts';
import { LocalInfileRefused } from '../errors.ts';

export interface CommandStart {
  readonly seqNo: number;
  readonly code: number;
  readonly name: string;
  /** SQL of COM_QUERY / COM_STMT_PREPARE, or the prepared SQL of COM_STMT_EXECUTE/FETCH, when captured. */
  readonly sql: string | null;
  /** True when the SQL was cut because the packet was longer than the capture limit. */
  readonly sqlTruncated: boolean;
  /**
   * The statement of a COM_STMT_* command. MariaDB's -1 ("the statement prepared last") is resolved: at once,
   * or, for an EXECUTE pipelined behind its PREPARE, when that PREPARE's OK brings the real id (so observers
   * of the EXECUTE's response already see it). Stays -1 only when that PREPARE failed.
   */
  statementId: number | null;
  /** performance.now() (ms, a double: no BigInt allocated per command) */
  readonly startedAt: number;
}

export interface StatementError {
  readonly code: number;
  readonly sqlState: string | null;
  readonly message: string;
}

export interface StatementResult {
  readonly command: CommandStart;
  /** 0-based index of the statement within a multi-statement command. */
  readonly index: number;
  readonly rows: number;
  readonly affectedRows: number;
  readonly lastInsertId: number;
  readonly warnings: number;
  readonly error: StatementError | null;
  readonly bytesOut: number;
  /** ns, from performance.now() differences (µs precision or better) */
  readonly durationNs: number;
  /** Columns whose values masking changed or withheld (set by the session). */
  readonly masked?: readonly string[];
}

/**
 * Sees the column definitions of each result set (only set when a hook — masking — needs them) and decides,
 * when its rows start, whether the caller rewrites them: `true` makes the backend walker stop after the
 * packet that ends the definitions, so the relay can decode rows from there.
 */
export interface ResultSetObserver {
  onResultSetStart(cmd: CommandStart, columns: number): void;
  /** One ColumnDefinition41: `buf[off, off + head)`, `head < length` when cut at the walker's head limit. */
  onColumnDefinition(cmd: CommandStart, buf: Buffer, off: number, head: number, length: number): void;
  onRowsStart(cmd: CommandStart, binary: boolean): boolean;
  /** COM_STMT_EXECUTE opened a cursor: its rows come with COM_STMT_FETCH, under the same columns. */
  onCursorOpened(cmd: CommandStart): void;
  /**
   * A COM_STMT_FETCH's response comes next: every response before it has ended. True when its rows must be
   * rewritten; the tracker then stops the walker after the packet that ended the previous response. (When
   * nothing was in flight as the FETCH went out, the session asks, from its onCommand.)
   */
  onFetchStart(cmd: CommandStart): boolean;
  /**
   * MARIADB_CLIENT_CACHE_METADATA: a result set whose column definitions the server skipped, because the
   * client has them (from the PREPARE response or an earlier EXECUTE). onRowsStart follows as usual.
   */
  onCachedResultSet(cmd: CommandStart, columns: number): void;
  /** A COM_STMT_PREPARE response ended; its column definitions (if any) came just before, between
   * onResultSetStart and here, so an observer can keep them for the EXECUTEs that skip them. */
  onStatementPrepared(cmd: CommandStart, statementId: number, columns: number): void;
}

export interface TrackerEvents {
  onCommand(cmd: CommandStart): void;
  onStatement(result: StatementResult): void;
  /** The whole response of a command is through; `idle` = nothing else in flight. */
  onCommandDone(cmd: CommandStart, idle: boolean): void;
}

type Phase =
  | { kind: 'first' }
  | { kind: 'columnDefs'; left: number; binary: boolean }
  | { kind: 'columnsEof'; binary: boolean }
  | { kind: 'rows'; binary: boolean }
  | { kind: 'prepare'; id: number; params: number; columns: number; left: number; stage: 'params' | 'paramsEof' | 'columns' | 'columnsEof' }
  | { kind: 'fieldList' }
  | { kind: 'authExchange' }
  | { kind: 'localInfile' }
  | { kind: 'localInfileRefused' }
  | { kind: 'stream' }
  | { kind: 'single' };

interface InFlight {
  readonly cmd: CommandStart;
  phase: Phase;
  index: number;
  rows: number;
  bytesOut: number;
  stmtStartedAt: number;
  /** The client got an ERR of ours for this command: the rest of its response is not relayed. */
  refused: boolean;
  /** The sequence id that follows the last packet of this command's exchange, on either leg. */
  nextSeq: number;
}

/** A COM_STMT_* statement id meaning "the statement prepared last" (PROTOCOL-NOTES A3.7). */
const LAST_PREPARED = 0xffffffff;

const NO_RESPONSE = new Set<number>([Command.COM_STMT_CLOSE, Command.COM_STMT_SEND_LONG_DATA, Command.COM_QUIT]);

export interface TrackerOptions {
  /** Capabilities in force on the client leg after the handshake (decides EOF vs OK terminators). */
  capabilities: number;
  /**
   * MARIADB_CLIENT_CACHE_METADATA in force: a column count packet carries a "metadata follows" byte, and
   * when it is 0 neither the column definitions nor the EOF after them are sent (the client cached them).
   */
  cacheMetadata: boolean;
  /** Capture SQL text of commands (costs one utf8 decode per statement; only when a hook wants it). */
  captureSql: boolean;
  /**
   * COM_CHANGE_USER: stop after caching_sha2_password's request for full authentication (`01 04`), for the
   * session to refuse it (takeFullAuthRequest): the client would answer with its password in clear.
   */
  stopAtFullAuth?: boolean;
  /**
   * limits.allow_local_infile: false. The capability is cleared on both legs, so a server that still asks
   * for a file (0xFB) is misbehaving: the walker stops after the request, which the relay never forwards.
   */
  refuseLocalInfile: boolean;
}

/** The refused statement's error, as the client got it (see the session) and the audit records it. */
const LOCAL_INFILE_REFUSED: StatementError = (() => {
  const e = new LocalInfileRefused();
  return { code: e.errno, sqlState: e.sqlState, message: e.message };
})();

export class ResultTracker {
  readonly #events: TrackerEvents;
  readonly #deprecateEof: boolean;
  readonly #cacheMetadata: boolean;
  readonly #captureSql: boolean;
  readonly #refuseLocalInfile: boolean;
  readonly #queue: InFlight[] = [];
  #seqNo = 0;
  /** SQL per server statement id, for auditing COM_STMT_EXECUTE (DESIGN §4: ids per leg are tracked). */
  readonly statements = new Map<number, string>();
  #lastPreparedId: number | null = null;
  /** See takeRefusedInfileRequest / takeRefusedCommandEnd. */
  #refusedRequest = -1;
  #refusedEnded = false;
  readonly #stopAtFullAuth: boolean;
  /** The plugin of the COM_CHANGE_USER exchange under way (from the server's AuthSwitchRequest). */
  #authPlugin: string | null = null;
  #fullAuthRequested = false;
  /** The command whose packets the client is sending (a command over 16 MiB comes in several). */
  #sending: InFlight | null = null;
  /** Last status flags seen from the server (IN_TRANS etc.). */
  statusFlags = 0;

  /** Set by the session when result sets must be observed (masking). */
  observer: ResultSetObserver | null = null;

  /** Sinks for the two PacketWalkers. */
  readonly fromClient: PacketSink;
  readonly fromBackend: PacketSink;

  constructor(events: TrackerEvents, opts: TrackerOptions) {
    this.#events = events;
    this.#deprecateEof = (opts.capabilities & Capability.DEPRECATE_EOF) !== 0;
    this.#cacheMetadata = opts.cacheMetadata;
    this.#captureSql = opts.captureSql;
    this.#refuseLocalInfile = opts.refuseLocalInfile;
    this.#stopAtFullAuth = opts.stopAtFullAuth ?? false;
    this.fromClient = { onPacket: (seq, len, buf, off, head, cont) => this.#onClientPacket(seq, len, buf, off, head, cont) };
    this.fromBackend = { onPacket: (seq, len, buf, off, head, cont) => this.#onBackendPacket(seq, len, buf, off, head, cont) };
  }

  /** Number of commands whose response has not ended. */
  get inFlight(): number {
    return this.#queue.length;
  }

  /** The command whose response comes now (the first in flight), if any. */
  get answering(): CommandStart | null {
    return this.#queue[0]?.cmd ?? null;
  }

  get inTransaction(): boolean {
    return (this.statusFlags & ServerStatus.IN_TRANS) !== 0;
  }

  /**
   * Length of the LOCAL INFILE request the walker just stopped after, or -1. Read once by the relay,
   * which answers the server with an empty packet (no file) and the client with LOCAL_INFILE_REFUSED.
   */
  takeRefusedInfileRequest(): number {
    const n = this.#refusedRequest;
    this.#refusedRequest = -1;
    return n;
  }

  /** True once after the walker stopped at caching_sha2's request for full authentication (stopAtFullAuth). */
  takeFullAuthRequest(): boolean {
    const asked = this.#fullAuthRequested;
    this.#fullAuthRequested = false;
    return asked;
  }

  /** True once after the walker stopped at the end of a refused command's response. */
  takeRefusedCommandEnd(): boolean {
    const ended = this.#refusedEnded;
    this.#refusedEnded = false;
    return ended;
  }

  /** True while the client is sending data that is not a command (LOCAL INFILE contents, auth answers). */
  get clientStreaming(): boolean {
    const head = this.#queue[0];
    return head !== undefined && (head.phase.kind === 'localInfile' || head.phase.kind === 'authExchange');
  }

  // ---- client → backend ------------------------------------------------------------------------------

  #onClientPacket(seq: number, length: number, buf: Buffer, off: number, head: number, cont: boolean): void {
    if (cont) {
      // the next packet of a command longer than 16 MiB: its response is numbered after it
      if (this.#sending !== null) this.#sending.nextSeq = (seq + 1) & 0xff;
      return;
    }
    const current = this.#queue[0];
    if (current !== undefined && (current.phase.kind === 'localInfile' || current.phase.kind === 'authExchange')) {
      current.nextSeq = (seq + 1) & 0xff;
      // file contents; the empty packet ends them and the server then answers with OK/ERR
      if (current.phase.kind === 'localInfile' && length === 0) current.phase = { kind: 'single' };
      return;
    }
    this.#sending = null;
    if (length === 0) return; // not a command; the server will answer with an ERR we forward
    this.#startCommand(seq, length, buf, off, head);
  }

  /**
   * The sequence id the client expects on the next packet of the response it waits for (the first command
   * in flight): what an ERR of Sluice's own must carry when the backend leg fails. 1 if nothing is in flight.
   */
  get responseSeq(): number {
    return this.#queue[0]?.nextSeq ?? 1;
  }

  #startCommand(seq: number, length: number, buf: Buffer, off: number, head: number): void {
    const code = buf[off]!;
    let sql: string | null = null;
    let statementId: number | null = null;
    if (code === Command.COM_QUERY || code === Command.COM_STMT_PREPARE) {
      if (this.#captureSql) sql = buf.toString('utf8', off + 1, off + head);
    } else if (
      (code === Command.COM_STMT_EXECUTE || code === Command.COM_STMT_FETCH || code === Command.COM_STMT_CLOSE ||
        code === Command.COM_STMT_RESET || code === Command.COM_STMT_BULK_EXECUTE || code === Command.COM_STMT_SEND_LONG_DATA) &&
      head >= 5
    ) {
      statementId = buf.readUInt32LE(off + 1);
      // 0xFFFFFFFF is MariaDB's "the statement prepared last": a client that pipelines PREPARE + EXECUTE
      // (the mariadb connector) sends it before the PREPARE's OK with the real id is back
      const preparing = statementId === LAST_PREPARED ? this.#preparingCommand() : null;
      if (preparing !== null) sql = preparing.sql;
      else {
        if (statementId === LAST_PREPARED && this.#lastPreparedId !== null) statementId = this.#lastPreparedId;
        if (this.#captureSql) sql = this.statements.get(statementId) ?? null;
      }
      if (code === Command.COM_STMT_CLOSE) this.statements.delete(statementId);
    } else if (code === Command.COM_INIT_DB && this.#captureSql) {
      sql = `USE \`${buf.toString('utf8', off + 1, off + head)}\``;
    }
    const now = performance.now();
    const cmd: CommandStart = {
      seqNo: ++this.#seqNo,
      code,
      name: commandName(code),
      sql,
      sqlTruncated: sql !== null && (code === Command.COM_QUERY || code === Command.COM_STMT_PREPARE) && head < length,
      statementId,
      startedAt: now,
    };
    this.#events.onCommand(cmd);
    if (NO_RESPONSE.has(code)) {
      this.#events.onCommandDone(cmd, this.#queue.length === 0);
      return;
    }
    this.#sending = { cmd, phase: initialPhase(code), index: 0, rows: 0, bytesOut: 0, stmtStartedAt: now, refused: false, nextSeq: (seq + 1) & 0xff };
    this.#queue.push(this.#sending);
  }

  /** The latest COM_STMT_PREPARE whose response has not ended, if any. */
  #preparingCommand(): CommandStart | null {
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const cmd = this.#queue[i]!.cmd;
      if (cmd.code === Command.COM_STMT_PREPARE) return cmd;
    }
    return null;
  }

  // ---- backend → client ------------------------------------------------------------------------------

  /** For a packet the relay decodes: 'text'/'binary' when it is a row of the response being read, else null. */
  rowKind(first: number, length: number): 'text' | 'binary' | null {
    const phase = this.#queue[0]?.phase;
    if (phase === undefined || phase.kind !== 'rows') return null;
    if (first === 0xff || (first === 0xfe && (length < 9 || (this.#deprecateEof && length < 0xffffff)))) return null;
    return phase.binary ? 'binary' : 'text';
  }

  #onBackendPacket(seq: number, length: number, buf: Buffer, off: number, head: number, cont: boolean): boolean | void {
    const f = this.#queue[0];
    if (f === undefined) return; // unsolicited (e.g. the server's ERR before it closes an idle connection)
    f.bytesOut += length + 4;
    f.nextSeq = (seq + 1) & 0xff;
    if (cont) return;
    const first = head > 0 ? buf[off]! : -1;
    const phase = f.phase;
    switch (phase.kind) {
      case 'first':
        return this.#onFirst(f, length, buf, off, head, first);
      case 'localInfileRefused':
        // the server's answer to our empty packet (no file): the client already has our ERR instead
        if (first === 0x00) return this.#onOk(f, buf, off, head);
        if (first === 0xff) return this.#onErr(f, buf, off, head);
        return;
      case 'columnDefs':
        this.observer?.onColumnDefinition(f.cmd, buf, off, head, length);
        if (--phase.left > 0) return;
        if (!this.#deprecateEof) {
          f.phase = { kind: 'columnsEof', binary: phase.binary };
          return;
        }
        f.phase = { kind: 'rows', binary: phase.binary };
        return this.observer?.onRowsStart(f.cmd, phase.binary);
      case 'columnsEof': {
        // intermediate EOF; with a cursor open (COM_STMT_EXECUTE) no rows follow until COM_STMT_FETCH
        const status = head >= 5 ? buf.readUInt16LE(off + 3) : 0;
        if (phase.binary && (status & ServerStatus.CURSOR_EXISTS) !== 0) {
          this.observer?.onCursorOpened(f.cmd);
          return this.#endStatement(f, status, 0, 0, 0, null);
        }
        f.phase = { kind: 'rows', binary: phase.binary };
        return this.observer?.onRowsStart(f.cmd, phase.binary);
      }
      case 'rows':
        if (first === 0xfe && (length < 9 || (this.#deprecateEof && length < 0xffffff))) return this.#onTerminator(f, length, buf, off, head);
        if (first === 0xff) return this.#onErr(f, buf, off, head);
        f.rows++;
        return;
      case 'prepare':
        return this.#onPrepareDefs(f, phase, buf, off, head, length);
      case 'fieldList':
        if (first === 0xff) return this.#onErr(f, buf, off, head);
        // the terminator is an EOF, or under DEPRECATE_EOF an OK with header 0xFE (MariaDB net_send_eof),
        // which is 9 bytes or more when it carries info / session state: the same rule as for rows
        if (first === 0xfe && (length < 9 || (this.#deprecateEof && length < 0xffffff))) return this.#onTerminator(f, length, buf, off, head);
        f.rows++;
        return;
      case 'authExchange':
        if (first === 0x00) return this.#onOk(f, buf, off, head);
        if (first === 0xff) return this.#onErr(f, buf, off, head);
        if (first === 0xfe) {
          const nul = buf.indexOf(0, off + 1);
          this.#authPlugin = buf.toString('latin1', off + 1, nul < 0 || nul > off + head ? off + head : nul);
        } else if (this.#stopAtFullAuth && first === 0x01 && length === 2 && head === 2 && buf[off + 1] === 0x04 && this.#authPlugin === 'caching_sha2_password') {
          this.#fullAuthRequested = true;
          return true;
        }
        return; // AuthSwitchRequest / AuthMoreData: the client answers, or (caching_sha2 `01 03`) OK follows
      case 'localInfile':
        return; // nothing expected from the server while the client streams the file
      case 'stream':
        if (first === 0xff) return this.#onErr(f, buf, off, head);
        if (first === 0xfe && length < 9) return this.#endStatement(f, 0, 0, 0, 0, null);
        f.rows++;
        return;
      case 'single':
        if (first === 0x00) return this.#onOk(f, buf, off, head);
        if (first === 0xff) return this.#onErr(f, buf, off, head);
        if (first === 0xfe && length < 9) return this.#endStatement(f, head >= 5 ? buf.readUInt16LE(off + 3) : 0, 0, 0, 0, null);
        return this.#endStatement(f, this.statusFlags, 0, 0, 0, null); // e.g. COM_STATISTICS' string
      default:
        return assertNever(phase);
    }
  }

  #onFirst(f: InFlight, length: number, buf: Buffer, off: number, head: number, first: number): boolean | void {
    if (first === 0x00) {
      if (f.cmd.code === Command.COM_STMT_PREPARE) return this.#onPrepareOk(f, buf, off, head);
      return this.#onOk(f, buf, off, head);
    }
    if (first === 0xff) return this.#onErr(f, buf, off, head);
    if (first === 0xfb && f.cmd.code === Command.COM_QUERY) {
      if (!this.#refuseLocalInfile) {
        f.phase = { kind: 'localInfile' };
        return;
      }
      f.phase = { kind: 'localInfileRefused' };
      f.refused = true;
      this.#refusedRequest = length;
      return true;
    }
    if (first === 0xfe && head < 9) {
      // EOF as a whole response (COM_SET_OPTION on MariaDB) or a 0xFE-OK
      return this.#endStatement(f, head >= 5 ? buf.readUInt16LE(off + 3) : 0, 0, 0, 0, null);
    }
    // column count
    const r = { pos: off };
    const count = readLenenc(buf, r, off + head);
    const binary = f.cmd.code !== Command.COM_QUERY && f.cmd.code !== Command.COM_PROCESS_INFO;
    if (this.#cacheMetadata && r.pos < off + head && buf[r.pos] === 0) {
      // the client has these columns cached: no definitions follow, but without DEPRECATE_EOF the EOF that
      // ends them still does (PROTOCOL-NOTES A3.6; libmariadb's EXECUTEs look like this)
      this.observer?.onCachedResultSet(f.cmd, count);
      if (!this.#deprecateEof) {
        f.phase = { kind: 'columnsEof', binary };
        return;
      }
      f.phase = { kind: 'rows', binary };
      return this.observer?.onRowsStart(f.cmd, binary);
    }
    this.observer?.onResultSetStart(f.cmd, count);
    f.phase = count > 0 ? { kind: 'columnDefs', left: count, binary } : { kind: 'rows', binary };
  }

  #onPrepareOk(f: InFlight, buf: Buffer, off: number, head: number): boolean | void {
    if (head < 9) return this.#endStatement(f, this.statusFlags, 0, 0, 0, null);
    const id = buf.readUInt32LE(off + 1);
    const columns = buf.readUInt16LE(off + 5);
    const params = buf.readUInt16LE(off + 7);
    const warnings = head >= 12 ? buf.readUInt16LE(off + 10) : 0;
    this.#lastPreparedId = id;
    if (f.cmd.sql !== null) this.statements.set(id, f.cmd.sql);
    // commands sent with -1 behind this PREPARE (up to the next PREPARE) name this statement
    for (let i = 1; i < this.#queue.length; i++) {
      const later = this.#queue[i]!.cmd;
      if (later.code === Command.COM_STMT_PREPARE) break;
      if (later.statementId === LAST_PREPARED) later.statementId = id;
    }
    if (params === 0 && columns === 0) return this.#endPrepare(f, id, 0, warnings);
    f.phase = { kind: 'prepare', id, params, columns, left: columns, stage: params > 0 ? 'params' : 'columns' };
    if (params === 0) this.observer?.onResultSetStart(f.cmd, columns);
  }

  #onPrepareDefs(f: InFlight, p: Extract<Phase, { kind: 'prepare' }>, buf: Buffer, off: number, head: number, length: number): boolean | void {
    switch (p.stage) {
      case 'params':
        if (--p.params > 0) return;
        if (!this.#deprecateEof) p.stage = 'paramsEof';
        else if (p.columns > 0) this.#prepareColumnsStart(f, p);
        else return this.#endPrepare(f, p.id, 0, 0);
        return;
      case 'paramsEof':
        if (p.columns > 0) this.#prepareColumnsStart(f, p);
        else return this.#endPrepare(f, p.id, 0, 0);
        return;
      case 'columns':
        this.observer?.onColumnDefinition(f.cmd, buf, off, head, length);
        if (--p.left > 0) return;
        if (!this.#deprecateEof) p.stage = 'columnsEof';
        else return this.#endPrepare(f, p.id, p.columns, 0);
        return;
      case 'columnsEof':
        return this.#endPrepare(f, p.id, p.columns, 0);
      default:
        return assertNever(p.stage);
    }
  }

  #prepareColumnsStart(f: InFlight, p: Extract<Phase, { kind: 'prepare' }>): void {
    p.stage = 'columns';
    this.observer?.onResultSetStart(f.cmd, p.columns);
  }

  #endPrepare(f: InFlight, id: number, columns: number, warnings: number): boolean {
    this.observer?.onStatementPrepared(f.cmd, id, columns);
    return this.#endStatement(f, this.statusFlags, 0, 0, warnings, null);
  }

  #onTerminator(f: InFlight, length: number, buf: Buffer, off: number, head: number): boolean {
    if (length < 9 && !this.#deprecateEof) {
      // EOF: fe warnings(2) status(2)
      const warnings = head >= 3 ? buf.readUInt16LE(off + 1) : 0;
      const status = head >= 5 ? buf.readUInt16LE(off + 3) : 0;
      return this.#endStatement(f, status, 0, 0, warnings, null);
    }
    return this.#onOk(f, buf, off, head);
  }

  #onOk(f: InFlight, buf: Buffer, off: number, head: number): boolean {
    const r = { pos: off + 1 };
    const end = off + head;
    const affected = readLenenc(buf, r, end);
    const insertId = readLenenc(buf, r, end);
    const status = r.pos + 2 <= end ? buf.readUInt16LE(r.pos) : 0;
    const warnings = r.pos + 4 <= end ? buf.readUInt16LE(r.pos + 2) : 0;
    return this.#endStatement(f, status, affected, insertId, warnings, null);
  }


  #onErr(f: InFlight, buf: Buffer, off: number, head: number): boolean | void {
    if (head < 3) return this.#endStatement(f, 0, 0, 0, 0, { code: 0, sqlState: null, message: '' }, true);
    const code = buf.readUInt16LE(off + 1);
    if (code === 0xffff) return; // MariaDB progress report: not a terminator (PROTOCOL-NOTES A3.8)
    let sqlState: string | null = null;
    let msgAt = off + 3;
    if (head >= 9 && buf[off + 3] === 0x23 /* # */) {
      sqlState = buf.toString('latin1', off + 4, off + 9);
      msgAt = off + 9;
    }
    const message = buf.toString('utf8', msgAt, off + head);
    return this.#endStatement(f, this.statusFlags & ~ServerStatus.MORE_RESULTS_EXISTS, 0, 0, 0, { code, sqlState, message }, true);
  }

  /** Reports a statement; returns true when a refused command ended (the walker stops: see refuseLocalInfile). */
  #endStatement(f: InFlight, status: number, affected: number, insertId: number, warnings: number, error: StatementError | null, isErr = false): boolean {
    const now = performance.now();
    if (!isErr) this.statusFlags = status;
    // under DEPRECATE_EOF the packet that ends a cursor's column definitions is this OK (0xFE) with
    // CURSOR_EXISTS, not an intermediate EOF (see the 'columnsEof' case): its rows come with COM_STMT_FETCH
    if (
      !isErr && f.cmd.code === Command.COM_STMT_EXECUTE && f.phase.kind === 'rows' && f.rows === 0 &&
      (status & ServerStatus.CURSOR_EXISTS) !== 0
    ) {
      this.observer?.onCursorOpened(f.cmd);
    }
    // the refused statement: the server loaded nothing; the client saw our ERR, and so does the audit
    if (f.phase.kind === 'localInfileRefused') error = LOCAL_INFILE_REFUSED;
    this.#events.onStatement({
      command: f.cmd,
      index: f.index,
      rows: f.rows,
      affectedRows: affected,
      lastInsertId: insertId,
      warnings,
      error,
      bytesOut: f.bytesOut,
      durationNs: (now - f.stmtStartedAt) * 1e6,
    });
    if (!isErr && (status & ServerStatus.MORE_RESULTS_EXISTS) !== 0) {
      f.index++;
      f.rows = 0;
      f.bytesOut = 0;
      f.stmtStartedAt = now;
      f.phase = { kind: 'first' };
      return false;
    }
    this.#queue.shift();
    this.#events.onCommandDone(f.cmd, this.#queue.length === 0);
    this.#refusedEnded = f.refused;
    const next = this.#queue[0];
    const fetchRewrite = next !== undefined && next.cmd.code === Command.COM_STMT_FETCH && this.observer?.onFetchStart(next.cmd) === true;
    return f.refused || fetchRewrite;
  }
}

function initialPhase(code: number): Phase {
  switch (code) {
    case Command.COM_QUERY:
    case Command.COM_STMT_EXECUTE:
    case Command.COM_STMT_PREPARE:
    case Command.COM_STMT_BULK_EXECUTE:
    case Command.COM_PROCESS_INFO: // deprecated, but MariaDB still answers it with a text result set
      return { kind: 'first' };
    case Command.COM_STMT_FETCH:
      return { kind: 'rows', binary: true };
    case Command.COM_FIELD_LIST:
      return { kind: 'fieldList' };
    case Command.COM_CHANGE_USER:
      return { kind: 'authExchange' };
    case Command.COM_BINLOG_DUMP:
    case Command.COM_BINLOG_DUMP_GTID:
      return { kind: 'stream' };
    default:
      return { kind: 'single' };
  }
}

/** Reads a length-encoded integer at r.pos; returns 0 when the bytes are not there (head cut short). */
function readLenenc(buf: Buffer, r: { pos: number }, end: number): number {
  if (r.pos >= end) return 0;
  const b = buf[r.pos]!;
  if (b < 0xfb) {
    r.pos += 1;
    return b;
  }
  if (b === 0xfc && r.pos + 3 <= end) {
    const v = buf.readUInt16LE(r.pos + 1);
    r.pos += 3;
    return v;
  }
  if (b === 0xfd && r.pos + 4 <= end) {
    const v = buf.readUIntLE(r.pos + 1, 3);
    r.pos += 4;
    return v;
  }
  if (b === 0xfe && r.pos + 9 <= end) {
    const v = Number(buf.readBigUInt64LE(r.pos + 1));
    r.pos += 9;
    return v;
  }
  r.pos = end;
  return 0;
}

function assertNever(x: never): never {
  throw new Error(`unexpected tracker state ${JSON.stringify(x)}`);
}
