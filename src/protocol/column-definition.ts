// ColumnDefinition41 (one per result-set column / prepared-statement param). With MariaDB's
// EXTENDED_METADATA ext cap negotiated, a lenenc block of (u8 type, lenenc string) items sits
// between org_name and the 0x0c fixed-length block (PROTOCOL-NOTES A3.5): the caller must say so
// via opts.extendedMetadata, since the bytes alone cannot tell. Strings are decoded as UTF-8.

import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface ColumnDefinition41 {
  catalog: string;
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  /** MariaDB EXTENDED_METADATA items: type 0 = data type name, 1 = format name. null when not negotiated. */
  extendedMetadata: Array<{ type: number; value: string }> | null;
  charset: number;
  columnLength: number;
  type: number;
  flags: number;
  decimals: number;
}

export interface ColumnDefinitionOptions {
  extendedMetadata?: boolean;
}

function str(r: Reader, field: string): string {
  const s = r.lenencStr();
  if (s === null) throw new ProtocolError('NULL in column definition', { field, at: r.pos });
  return s;
}

export function parseColumnDefinition41(payload: Buffer, opts?: ColumnDefinitionOptions): ColumnDefinition41 {
  const r = new Reader(payload);
  const catalog = str(r, 'catalog');
  const schema = str(r, 'schema');
  const table = str(r, 'table');
  const orgTable = str(r, 'orgTable');
  const name = str(r, 'name');
  const orgName = str(r, 'orgName');
  let extendedMetadata: Array<{ type: number; value: string }> | null = null;
  if (opts?.extendedMetadata === true) {
    const block = r.lenencBytes();
    if (block === null) throw new ProtocolError('NULL extended metadata', { at: r.pos });
    const br = new Reader(block);
    extendedMetadata = [];
    while (br.remaining() > 0) {
      const type = br.u8();
      extendedMetadata.push({ type, value: str(br, 'extendedMetadata') });
    }
  }
  const fixed = r.lenencNumber();
  if (fixed < 10) throw new ProtocolError('column definition fixed block too short', { length: fixed });
  const end = r.pos + fixed;
  const charset = r.u16();
  const columnLength = r.u32();
  const type = r.u8();
  const flags = r.u16();
  const decimals = r.u8();
  r.skip(end - r.pos); // filler (2 zero bytes for 0x0c)
  // COM_FIELD_LIST appends default values here; we accept and ignore them.
  return { catalog, schema, table, orgTable, name, orgName, extendedMetadata, charset, columnLength, type, flags, decimals };
}

export function encodeColumnDefinition41(c: ColumnDefinition41, opts?: ColumnDefinitionOptions): Buffer {
  const w = new Writer(64 + c.name.length + c.orgName.length + c.table.length + c.orgTable.length + c.schema.length);
  w.lenencStr(c.catalog).lenencStr(c.schema).lenencStr(c.table).lenencStr(c.orgTable);
  w.lenencStr(c.name).lenencStr(c.orgName);
  if (opts?.extendedMetadata === true) {
    const inner = new Writer(32);
    for (const m of c.extendedMetadata ?? []) inner.u8(m.type).lenencStr(m.value);
    w.lenencBytes(inner.payload());
  }
  w.u8(0x0c).u16(c.charset).u32(c.columnLength).u8(c.type).u16(c.flags).u8(c.decimals).zeros(2);
  return w.payload();
}
