// Shared builders for the masking tests: column definitions, policies and a session's masking controller.
import { ColumnFlag, ColumnType } from '../../src/protocol/index.ts';
import type { ColumnDefinition41 } from '../../src/protocol/index.ts';
import type { MaskingConfig, MaskingRuleConfig } from '../../src/config/types.ts';
import { compilePolicy } from '../../src/masking/policy.ts';
import { GrantStore } from '../../src/masking/grants.ts';
import { AnalysisCache } from '../../src/sql/cache.ts';
import { MaskingController } from '../../src/session/masking-controller.ts';

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

/** A masking controller as a session of user `app` in schema `shop` builds one, for a single rule that masks
 * every column named `phone` with `*`. */
export function phoneController(opts: { cacheMetadata?: boolean; warn?: (message: string) => void } = {}): MaskingController {
  const policy = compilePolicy(cfg([{ name: 'phone', columns: ['phone'], mask: { type: 'full', char: '*' } }]));
  return new MaskingController({
    rules: policy.forRoute(undefined),
    onBypass: 'reject',
    grants: new GrantStore({ file: null, ruleNames: policy.ruleNames }),
    cache: new AnalysisCache(),
    extendedMetadata: false,
    cacheMetadata: () => opts.cacheMetadata ?? true,
    user: () => 'app',
    schema: () => 'shop',
    warn: opts.warn ?? (() => undefined),
  });
}
