// Shared builders for the masking tests: column definitions and policies.
import { ColumnFlag, ColumnType } from '../../src/protocol/index.ts';
import type { ColumnDefinition41 } from '../../src/protocol/index.ts';
import type { MaskingConfig, MaskingRuleConfig } from '../../src/config/types.ts';

export const UTF8MB4 = 45;

export function col(schema: string, table: string, name: string, type: number = ColumnType.VAR_STRING, extra: Partial<ColumnDefinition41> = {}): ColumnDefinition41 {
  return {
    catalog: 'def', schema, table, orgTable: table, name, orgName: name, extendedMetadata: null,
    charset: UTF8MB4, columnLength: 1020, type, flags: 0, decimals: 0, ...extra,
  };
}

export function cfg(rules: MaskingRuleConfig[], extra: Partial<MaskingConfig> = {}): MaskingConfig {
  return { default: rules.map((r) => r.name), rules, exempt_users: [], on_bypass: 'reject', grants_file: 'unused.json', ...extra };
}

export { ColumnFlag, ColumnType };
