// Masking policy: compiled rules, per-route rule sets, and result plans that rewrite rows.
// Contract: `planColumns` returns null when no column is masked and no detector applies, so the relay
// never decodes those rows (the cost promise); a plan's `maskTextRow`/`maskBinaryRow` return a NEW
// valid payload (lengths, NULL bitmap, untouched cells copied byte-exact) or the SAME Buffer when the
// row did not change. Rules match the ORIGINAL schema.table.column (orgTable/orgName), so aliases and
// `SELECT *` are covered. Config errors (bad regex, unknown rule) throw at compile time.

import { ColumnType, ProtocolError, binaryRowBitmapLength } from '../protocol/index.ts';
import type { ColumnDefinition41 } from '../protocol/index.ts';
import type { MaskingConfig, MaskingRuleConfig } from '../config/types.ts';
import { charsetOf, charStarts, textView, utf16ToUtf8Offsets } from './charset.ts';
import { compileDetector } from './detectors.ts';
import type { Detector, Range } from './detectors.ts';
import { compileMasker, isStringType, maskingKey } from './maskers.ts';
import type { Masker, StringCell, TypedConstant } from './maskers.ts';

/** One `schema.table.column` glob of a rule, compiled. */
export interface ColumnGlob {
  readonly rule: string;
  readonly pattern: string;
  /** `schema.table` part of the pattern (a 1- or 2-part pattern gets `*` for the missing parts). */
  readonly tablePattern: string;
  readonly schema: RegExp;
  readonly table: RegExp;
  readonly column: RegExp;
}

interface CompiledRule {
  readonly name: string;
  readonly columns: readonly ColumnGlob[] | null;
  readonly detectors: readonly Detector[] | null;
  readonly masker: Masker;
}

export interface PlanOptions {
  /** Rule names this user is exempt from; `*` exempts from every rule. */
  readonly exemptRules: ReadonlySet<string>;
  /** Output positions whose whole value is replaced by NULL (the guard's `mask_expression` outcome). */
  readonly maskOutputs?: readonly number[];
}

export interface ResultPlan {
  /** Names (as the client sees them) of columns masked whole or scanned by a column-bound detector rule. */
  readonly maskedColumns: string[];
  /** Rule names in effect for this result set. */
  readonly rules: string[];
  /** Config problems met while planning (e.g. a fixed value that does not fit a column type: NULL is sent). */
  readonly warnings: string[];
  maskTextRow(payload: Buffer): Buffer;
  maskBinaryRow(payload: Buffer): Buffer;
}

export interface RuleSet {
  /** Rule names of this set, in config order. */
  readonly ruleNames: readonly string[];
  planColumns(columns: readonly ColumnDefinition41[], opts: PlanOptions): ResultPlan | null;
  /** `schema.table` glob patterns of the column rules (for the guard's fast path). */
  maskedTables(): Set<string>;
  /** Column globs of rules not exempted. */
  columnGlobs(exemptRules: ReadonlySet<string>): readonly ColumnGlob[];
}

export interface MaskingPolicy {
  readonly onBypass: MaskingConfig['on_bypass'];
  readonly exemptUsers: readonly string[];
  readonly ruleNames: readonly string[];
  forRoute(routeMasking: readonly string[] | undefined): RuleSet;
}

export interface CompileOptions {
  /** HMAC key for `hash` masks; default `maskingKey()` (SLUICE_MASKING_KEY or a per-process random key). */
  readonly key?: Buffer;
}

// ---------------------------------------------------------------------------------------------------------
// globs

/** Glob (`*`, `?`) to an anchored case-insensitive RegExp (identifiers are ≤ 64 chars: backtracking is bounded). */
export function globToRegExp(glob: string): RegExp {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 'isu');
}

function compileColumnGlob(rule: string, pattern: string): ColumnGlob {
  const parts = pattern.split('.');
  if (parts.length > 3 || parts.some((p) => p === '')) {
    throw new Error(`masking rule "${rule}": column pattern "${pattern}" must be schema.table.column (globs allowed)`);
  }
  while (parts.length < 3) parts.unshift('*');
  const [s, t, c] = parts as [string, string, string];
  return { rule, pattern, tablePattern: `${s}.${t}`, schema: globToRegExp(s), table: globToRegExp(t), column: globToRegExp(c) };
}

function compileRule(r: MaskingRuleConfig, key: Buffer): CompiledRule {
  const columns = r.columns === undefined ? null : r.columns.map((p) => compileColumnGlob(r.name, p));
  const detectors = r.detect === undefined ? null : r.detect.map((d) => compileDetector(d, r.name));
  if (columns === null && detectors === null) throw new Error(`masking rule "${r.name}": needs columns, detect or both`);
  return { name: r.name, columns, detectors, masker: compileMasker(r.mask, key) };
}

export function compilePolicy(cfg: MaskingConfig, opts: CompileOptions = {}): MaskingPolicy {
  const key = opts.key ?? maskingKey();
  const rules = new Map<string, CompiledRule>();
  for (const r of cfg.rules) {
    if (rules.has(r.name)) throw new Error(`masking rule "${r.name}" is defined twice`);
    rules.set(r.name, compileRule(r, key));
  }
  const sets = new Map<string, RuleSet>();
  const forRoute = (routeMasking: readonly string[] | undefined): RuleSet => {
    const names = routeMasking ?? cfg.default;
    const k = names.join('\u0000');
    let set = sets.get(k);
    if (set === undefined) {
      const list = names.map((n) => {
        const r = rules.get(n);
        if (r === undefined) throw new Error(`unknown masking rule "${n}"`);
        return r;
      });
      set = new RuleSetImpl(list);
      sets.set(k, set);
    }
    return set;
  };
  forRoute(undefined); // validate masking.default now
  return { onBypass: cfg.on_bypass, exemptUsers: cfg.exempt_users, ruleNames: [...rules.keys()], forRoute };
}

// ---------------------------------------------------------------------------------------------------------
// plans

/**
 * The plan for rows that cannot be judged because their column definitions are unknown (fail closed): every
 * value NULL. It needs only the column count: a text row of NULLs is one 0xFB per column, a binary row is
 * its 0x00 header and a NULL bitmap with every column's bit set (bits start at offset 2). The count comes
 * from the server's column-count packet; a row too short to hold that many columns is refused before
 * anything of that size is allocated.
 */
export function withholdAll(columns: number): ResultPlan {
  let text: Buffer | null = null;
  let binary: Buffer | null = null;
  const tooShort = (payload: Buffer, least: number): ProtocolError =>
    new ProtocolError(`a row of ${payload.length} bytes cannot hold the ${columns} columns its result set announced`, { need: least });
  return {
    maskedColumns: ['*'],
    rules: [],
    warnings: [],
    maskTextRow(payload) {
      if (payload.length < columns) throw tooShort(payload, columns); // every text value takes a byte at least
      return (text ??= Buffer.alloc(columns, 0xfb));
    },
    maskBinaryRow(payload) {
      const bitmap = Math.floor((columns + 7 + 2) / 8); // binaryRowBitmapLength, for any count the server may send
      if (payload.length < 1 + bitmap) throw tooShort(payload, 1 + bitmap);
      if (binary === null) {
        binary = Buffer.alloc(1 + bitmap);
        for (let i = 0; i < columns; i++) binary[1 + ((i + 2) >> 3)]! |= 1 << ((i + 2) & 7);
      }
      return binary;
    },
  };
}

type Action =
  | { readonly k: 'whole'; readonly masker: Masker; readonly cell: StringCell }
  | { readonly k: 'const'; readonly value: TypedConstant }
  | { readonly k: 'detect'; readonly dets: ReadonlyArray<{ det: Detector; masker: Masker }>; readonly cell: StringCell };

function isExempt(ex: ReadonlySet<string>, rule: string): boolean {
  return ex.has('*') || ex.has(rule);
}

function globMatches(g: ColumnGlob, schema: string, table: string, column: string): boolean {
  return g.schema.test(schema) && g.table.test(table) && g.column.test(column);
}

class RuleSetImpl implements RuleSet {
  readonly ruleNames: readonly string[];
  readonly #rules: readonly CompiledRule[];

  constructor(rules: readonly CompiledRule[]) {
    this.#rules = rules;
    this.ruleNames = rules.map((r) => r.name);
  }

  maskedTables(): Set<string> {
    const out = new Set<string>();
    for (const r of this.#rules) for (const g of r.columns ?? []) out.add(g.tablePattern);
    return out;
  }

  columnGlobs(exemptRules: ReadonlySet<string>): readonly ColumnGlob[] {
    return this.#rules.filter((r) => !isExempt(exemptRules, r.name)).flatMap((r) => r.columns ?? []);
  }

  planColumns(columns: readonly ColumnDefinition41[], opts: PlanOptions): ResultPlan | null {
    const active = this.#rules.filter((r) => !isExempt(opts.exemptRules, r.name));
    const forced = new Set(opts.maskOutputs ?? []);
    if (active.length === 0 && forced.size === 0) return null;
    const actions: Array<Action | null> = [];
    const maskedColumns: string[] = [];
    const used = new Set<string>();
    const warnings: string[] = [];
    for (const [i, c] of columns.entries()) {
      if (forced.has(i)) {
        actions.push({ k: 'const', value: null });
        maskedColumns.push(c.name);
        continue;
      }
      const isString = isStringType(c.type);
      const cs = charsetOf(c.charset);
      const cell: StringCell = { cs, maxChars: Math.floor(c.columnLength / cs.maxBytes) };
      let action: Action | null = null;
      const dets: Array<{ det: Detector; masker: Masker }> = [];
      let bound = false;
      for (const r of active) {
        const hit = r.columns !== null && r.columns.some((g) => globMatches(g, c.schema, c.orgTable, c.orgName));
        if (hit && r.detectors === null) {
          // columns only: the whole cell (first such rule wins)
          used.add(r.name);
          if (isString) action = { k: 'whole', masker: r.masker, cell };
          else {
            let value: TypedConstant = null;
            try {
              value = r.masker.typedValue(c);
            } catch (e) {
              warnings.push(`masking rule "${r.name}" on ${c.schema}.${c.orgTable}.${c.orgName}: ${(e as Error).message}; sending NULL`);
            }
            action = { k: 'const', value };
          }
          break;
        }
        if (r.detectors !== null && isString && (hit || r.columns === null)) {
          used.add(r.name);
          if (hit) bound = true;
          for (const det of r.detectors) dets.push({ det, masker: r.masker });
        }
      }
      if (action === null && dets.length > 0) action = { k: 'detect', dets, cell };
      if (action !== null && (action.k !== 'detect' || bound)) maskedColumns.push(c.name);
      actions.push(action);
    }
    if (actions.every((a) => a === null)) return null;
    return new Plan(columns, actions, maskedColumns, [...used], warnings);
  }
}

// ---------------------------------------------------------------------------------------------------------
// cell masking

/** Masked bytes of a string cell under `a`: Buffer, null (SQL NULL) or undefined (unchanged). */
function maskCell(a: Action, value: Buffer): Buffer | null | undefined {
  switch (a.k) {
    case 'whole':
      return a.masker.maskString(value, a.cell, false);
    case 'const':
      return undefined; // typed: handled by the row walkers
    case 'detect':
      return maskDetected(value, a);
  }
}

function maskDetected(value: Buffer, a: Extract<Action, { k: 'detect' }>): Buffer | null | undefined {
  const view = textView(value, a.cell.cs);
  if (view === null || view.text.length === 0) return undefined;
  const found: Array<Range & { masker: Masker }> = [];
  const tmp: Range[] = [];
  for (const { det, masker } of a.dets) {
    tmp.length = 0;
    det.find(view.text, tmp);
    for (const r of tmp) found.push({ start: r.start, end: r.end, masker });
  }
  if (found.length === 0) return undefined;
  if (found.length > 1) found.sort((x, y) => x.start - y.start || y.end - x.end);
  // drop overlaps: the earlier (then longer) match wins
  const ranges: typeof found = [];
  let last = -1;
  for (const r of found) {
    if (r.start >= last) {
      ranges.push(r);
      last = r.end;
    }
  }
  if (ranges.some((r) => r.masker.type === 'null')) return null;
  // string indices → byte offsets
  let bytes: number[];
  if (view.utf8) {
    bytes = utf16ToUtf8Offsets(view.text, ranges.flatMap((r) => [r.start, r.end]));
  } else {
    bytes = ranges.flatMap((r) => [r.start, r.end]);
    if (a.cell.cs.kind === 'mb') bytes = snapToChars(value, a.cell, bytes);
  }
  const parts: Buffer[] = [];
  let pos = 0;
  for (let k = 0; k < ranges.length; k++) {
    const s = bytes[2 * k] as number;
    const e = bytes[2 * k + 1] as number;
    if (s < pos) continue;
    parts.push(value.subarray(pos, s));
    parts.push((ranges[k] as (typeof ranges)[number]).masker.maskString(value.subarray(s, e), a.cell, true) ?? Buffer.alloc(0));
    pos = e;
  }
  parts.push(value.subarray(pos));
  return Buffer.concat(parts);
}

/** In a multi-byte legacy charset a latin1-view match may start on a trail byte: widen to whole characters. */
function snapToChars(value: Buffer, cell: StringCell, offs: number[]): number[] {
  const starts = charStarts(value, cell.cs);
  let k = 0;
  return offs.map((o, i) => {
    while (k + 1 < starts.length && (starts[k + 1] as number) <= o) k++;
    const s = starts[k] as number;
    return i % 2 === 0 || s === o ? s : (starts[k + 1] ?? o);
  });
}

// ---------------------------------------------------------------------------------------------------------
// row walkers

function lenencHeaderLength(n: number): number {
  return n < 0xfb ? 1 : n <= 0xffff ? 3 : n <= 0xffffff ? 4 : 9;
}

function writeLenenc(out: Buffer, at: number, n: number): number {
  if (n < 0xfb) {
    out[at] = n;
    return at + 1;
  }
  if (n <= 0xffff) {
    out[at] = 0xfc;
    out.writeUInt16LE(n, at + 1);
    return at + 3;
  }
  if (n <= 0xffffff) {
    out[at] = 0xfd;
    out.writeUIntLE(n, at + 1, 3);
    return at + 4;
  }
  out[at] = 0xfe;
  out.writeBigUInt64LE(BigInt(n), at + 1);
  return at + 9;
}

/** Read a lenenc length at `p`: [value start, value length], length −1 for NULL (0xFB). */
function readLenenc(b: Buffer, p: number): [number, number] {
  const f = b[p];
  if (f === undefined) throw new ProtocolError('short row', { at: p });
  if (f < 0xfb) return [p + 1, f];
  if (f === 0xfb) return [p + 1, -1];
  if (f === 0xfc && p + 3 <= b.length) return [p + 3, b.readUInt16LE(p + 1)];
  if (f === 0xfd && p + 4 <= b.length) return [p + 4, b.readUIntLE(p + 1, 3)];
  if (f === 0xfe && p + 9 <= b.length) return [p + 9, Number(b.readBigUInt64LE(p + 1))];
  throw new ProtocolError('bad length-encoded integer in row', { at: p, first: f });
}

/** A replaced cell: bytes [start, end) of the payload become `value` (lenenc-framed), or NULL when null. */
interface Edit {
  readonly col: number;
  readonly start: number;
  readonly end: number;
  /** Raw replacement bytes, already framed for binary typed constants. */
  readonly value: Buffer | null;
  readonly framed: boolean;
}

const FIXED_WIDTH: Readonly<Record<number, number>> = {
  [ColumnType.TINY]: 1, [ColumnType.SHORT]: 2, [ColumnType.YEAR]: 2, [ColumnType.INT24]: 4, [ColumnType.LONG]: 4,
  [ColumnType.FLOAT]: 4, [ColumnType.LONGLONG]: 8, [ColumnType.DOUBLE]: 8, [ColumnType.NULL]: 0,
};
const DATE_TIME: ReadonlySet<number> = new Set([
  ColumnType.DATE, ColumnType.NEWDATE, ColumnType.DATETIME, ColumnType.TIMESTAMP, ColumnType.DATETIME2,
  ColumnType.TIMESTAMP2, ColumnType.TIME, ColumnType.TIME2,
]);

class Plan implements ResultPlan {
  readonly maskedColumns: string[];
  readonly rules: string[];
  readonly warnings: string[];
  readonly #cols: readonly ColumnDefinition41[];
  readonly #actions: ReadonlyArray<Action | null>;
  /** Index of the last column with an action: the text walker stops there. */
  readonly #lastActive: number;

  constructor(cols: readonly ColumnDefinition41[], actions: ReadonlyArray<Action | null>, masked: string[], rules: string[], warnings: string[]) {
    this.#cols = cols;
    this.#actions = actions;
    this.maskedColumns = masked;
    this.rules = rules;
    this.warnings = warnings;
    let last = -1;
    actions.forEach((a, i) => {
      if (a !== null) last = i;
    });
    this.#lastActive = last;
  }

  // hot path
  maskTextRow(payload: Buffer): Buffer {
    const n = this.#cols.length;
    let edits: Edit[] | null = null;
    let p = 0;
    for (let i = 0; i < n; i++) {
      const [vs, len] = readLenenc(payload, p);
      const end = len < 0 ? vs : vs + len;
      if (end > payload.length) throw new ProtocolError('text row cell past end of packet', { column: i });
      const a = this.#actions[i];
      if (a != null && len >= 0) {
        let repl: Buffer | null | undefined;
        if (a.k === 'const') repl = a.value === null ? null : a.value.text;
        else repl = maskCell(a, payload.subarray(vs, end));
        if (repl !== undefined && (repl === null || !repl.equals(payload.subarray(vs, end)))) {
          (edits ??= []).push({ col: i, start: p, end, value: repl, framed: false });
        }
      }
      p = end;
      if (i >= this.#lastActive && edits === null) return payload; // nothing left to mask: the rest is untouched
    }
    if (p !== payload.length) throw new ProtocolError('trailing bytes after text row', { extra: payload.length - p });
    if (edits === null) return payload;
    let size = payload.length;
    for (const e of edits) size += (e.value === null ? 1 : lenencHeaderLength(e.value.length) + e.value.length) - (e.end - e.start);
    const out = Buffer.allocUnsafe(size);
    let o = 0;
    let from = 0;
    for (const e of edits) {
      o += payload.copy(out, o, from, e.start);
      if (e.value === null) out[o++] = 0xfb;
      else {
        o = writeLenenc(out, o, e.value.length);
        o += e.value.copy(out, o);
      }
      from = e.end;
    }
    payload.copy(out, o, from);
    return out;
  }

  // hot path
  maskBinaryRow(payload: Buffer): Buffer {
    const n = this.#cols.length;
    if (payload[0] !== 0x00) throw new ProtocolError('not a binary row', { header: payload[0] });
    const bm = binaryRowBitmapLength(n);
    let p = 1 + bm;
    if (p > payload.length) throw new ProtocolError('short binary row', { need: p, have: payload.length });
    let edits: Edit[] | null = null;
    for (let i = 0; i < n; i++) {
      const bit = i + 2;
      if ((((payload[1 + (bit >> 3)] as number) >> (bit & 7)) & 1) === 1) continue; // NULL: stays NULL
      const col = this.#cols[i] as ColumnDefinition41;
      const start = p;
      let vs = p;
      let end: number;
      const w = FIXED_WIDTH[col.type];
      if (w !== undefined) end = p + w;
      else if (DATE_TIME.has(col.type)) end = p + 1 + (payload[p] ?? 0);
      else {
        const [s, len] = readLenenc(payload, p);
        if (len < 0) throw new ProtocolError('NULL marker inside binary row', { at: p });
        vs = s;
        end = s + len;
      }
      if (end > payload.length) throw new ProtocolError('binary row cell past end of packet', { column: i });
      p = end;
      const a = this.#actions[i];
      if (a == null) continue;
      if (a.k === 'const') {
        const v = a.value === null ? null : a.value.binary;
        if (v === null || !v.equals(payload.subarray(start, end))) (edits ??= []).push({ col: i, start, end, value: v, framed: true });
        continue;
      }
      const repl = isStringType(col.type) ? maskCell(a, payload.subarray(vs, end)) : undefined;
      if (repl !== undefined && (repl === null || !repl.equals(payload.subarray(vs, end)))) {
        (edits ??= []).push({ col: i, start, end, value: repl, framed: false });
      }
    }
    if (p !== payload.length) throw new ProtocolError('trailing bytes after binary row', { extra: payload.length - p });
    if (edits === null) return payload;
    let size = payload.length;
    for (const e of edits) {
      const add = e.value === null ? 0 : e.framed ? e.value.length : lenencHeaderLength(e.value.length) + e.value.length;
      size += add - (e.end - e.start);
    }
    const out = Buffer.allocUnsafe(size);
    payload.copy(out, 0, 0, 1 + bm);
    let o = 1 + bm;
    let from = 1 + bm;
    for (const e of edits) {
      o += payload.copy(out, o, from, e.start);
      if (e.value === null) {
        const bit = e.col + 2;
        out[1 + (bit >> 3)] = (out[1 + (bit >> 3)] as number) | (1 << (bit & 7));
      } else {
        if (!e.framed) o = writeLenenc(out, o, e.value.length);
        o += e.value.copy(out, o);
      }
      from = e.end;
    }
    payload.copy(out, o, from);
    return out;
  }
}
