// Turns zod issues into the one-line messages users see: `listeners[0].address: expected
// host:port, got "localhost" (line 3)`. Paths use bracket notation, each line names the YAML
// line of the offending node (of the key, for a key), every issue is reported, and each
// unrecognised key gets its own line. The YAML side is behind `SourceMap`, so issues about
// input that came from no file (built-in default, env) render without a line.
import { isMap, isSeq, isScalar, isAlias, isPair, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import { describeValue } from './units.ts';

export type IssuePath = readonly PropertyKey[];
type Issue = z.core.$ZodIssue;

export interface SourceMap {
  /** 1-based line of the node at `path` (of its key when it sits in a mapping), or of its deepest existing ancestor. */
  lineOf(path: IssuePath, key?: string): number | undefined;
}

/** `['listeners', 0, 'tls', 'mode']` → `listeners[0].tls.mode`; `[]` → `(root)`. */
export function formatPath(path: IssuePath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out === '' ? '(root)' : out;
}

function valueAt(root: unknown, path: IssuePath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

function optionList(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : String(v))).join(' | ');
}

/** The part after `path: `, for one issue; `raw` is the parsed (unvalidated) input. */
function describeIssue(iss: Issue, value: unknown): string {
  const got = `got ${describeValue(value)}`;
  switch (iss.code) {
    case 'invalid_type':
      if (value === undefined) return 'required';
      return `expected ${TYPE_NAMES[iss.expected] ?? iss.expected}, ${got}`;
    case 'invalid_value':
      if (value === undefined) return `required (one of ${optionList(iss.values)})`;
      return iss.values.length === 1
        ? `expected ${describeValue(iss.values[0])}, ${got}`
        : `expected one of ${optionList(iss.values)}, ${got}`;
    case 'too_small':
    case 'too_big': {
      if (!/^Too (small|big)/.test(iss.message)) return withGot(iss.message, value);
      const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      const word = iss.code === 'too_small' ? 'at least' : 'at most';
      if (iss.origin === 'array') return `needs ${word} ${bound} item(s)`;
      if (iss.origin === 'string') return `must be ${word} ${bound} character(s) long, ${got}`;
      return `must be ${word} ${bound}, ${got}`;
    }
    case 'invalid_format':
      return iss.message.startsWith('Invalid') ? `invalid ${iss.format}, ${got}` : withGot(iss.message, value);
    case 'invalid_union':
      if (iss.discriminator !== undefined) {
        // zod 4 reports the accepted discriminator values at runtime but does not type them
        const options = (iss as { options?: unknown }).options;
        const one = Array.isArray(options) ? `one of ${optionList(options)}` : 'a known type';
        return value === undefined ? `required (${one})` : `expected ${one}, ${got}`;
      }
      return withGot(iss.message, value);
    case 'custom':
      return iss.message;
    default:
      return withGot(iss.message, value);
  }
}

function withGot(message: string, value: unknown): string {
  return value === undefined || / got /.test(message) ? message : `${message}, got ${describeValue(value)}`;
}

/**
 * Non-discriminated unions (e.g. a masking detector: a name or `{regex}`): when exactly one
 * branch got past the top level, its nested issues are the useful ones; otherwise keep the
 * union's own message.
 */
function expandUnion(iss: Issue): Issue[] {
  if (iss.code !== 'invalid_union' || iss.discriminator !== undefined) return [iss];
  const deep = iss.errors.filter((branch) => branch.some((e) => e.path.length > 0 || e.code === 'unrecognized_keys'));
  const [only] = deep;
  if (deep.length !== 1 || only === undefined) return [iss];
  return only.flatMap((e) => expandUnion({ ...e, path: [...iss.path, ...e.path] } as Issue));
}

/**
 * One line per problem (one per unknown key), ordered by YAML line (stable; lines without a
 * position keep zod's order, after the positioned ones).
 */
export function formatIssues(issues: readonly Issue[], raw: unknown, source?: SourceMap): string[] {
  const out: { text: string; line: number }[] = [];
  const push = (text: string, line: number | undefined): void => {
    out.push({ text: line === undefined ? text : `${text} (line ${line})`, line: line ?? Infinity });
  };
  for (const iss of issues.flatMap(expandUnion)) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) push(`${formatPath(iss.path)}: unknown key ${JSON.stringify(key)}`, source?.lineOf(iss.path, key));
      continue;
    }
    push(`${formatPath(iss.path)}: ${describeIssue(iss, valueAt(raw, iss.path))}`, source?.lineOf(iss.path));
  }
  return out.sort((a, b) => a.line - b.line).map((o) => o.text);
}

function keyText(k: unknown): string {
  return String(isScalar(k) ? k.value : k);
}

/** A SourceMap over a parsed YAML document. */
export function yamlSourceMap(doc: Document, lines: LineCounter): SourceMap {
  const lineAt = (offset: number): number => lines.linePos(offset).line;
  const resolve = (n: unknown): unknown => (isAlias(n) ? n.resolve(doc) : n);
  const rangeLine = (n: unknown): number | undefined => {
    const r = (n as Node | null | undefined)?.range;
    return r ? lineAt(r[0]) : undefined;
  };
  return {
    lineOf(path, key) {
      let node = resolve(doc.contents);
      let line = rangeLine(node);
      const segs = key === undefined ? path : [...path, key];
      // A missing top-level key has no useful position: the document's first line would mislead.
      if (segs.length > 0 && isMap(node) && !node.items.some((p) => isPair(p) && keyText(p.key) === String(segs[0]))) {
        return undefined;
      }
      for (const seg of segs) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
          if (pair === undefined) break;
          line = rangeLine(pair.key) ?? line;
          node = resolve(pair.value);
        } else if (isSeq(node) && typeof seg === 'number') {
          const item = resolve(node.items[seg]);
          if (item === undefined) break;
          line = rangeLine(item) ?? line;
          node = item;
        } else break;
      }
      return line;
    },
  };
}
