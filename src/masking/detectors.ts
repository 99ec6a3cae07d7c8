// Value detectors: find sensitive values inside strings and return their [start, end) ranges
// (UTF-16 indices). Built-ins are hand-written single-pass scanners with check-digit validation
// (GB 11643, Luhn, ISO 13616 mod-97); custom `{regex}` rules run on RE2, so every detector is
// linear in the input and no rule can hang the gateway. `compileDetector` throws a plain Error
// naming the rule for an invalid pattern (a config error, raised at policy compile time).

import RE2 from 're2';
import type { DetectorConfig } from '../config/types.ts';

export interface Range {
  start: number;
  end: number;
}

export interface Detector {
  /** `cn_mobile`, …, or `regex:<pattern>`. */
  readonly name: string;
  /** Appends matches in `text`, ascending and non-overlapping. */
  find(text: string, out: Range[]): void;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isAlnum = (c: number): boolean => isDigit(c) || isUpper(c) || isLower(c);
const code = (s: string, i: number): number => (i >= 0 && i < s.length ? s.charCodeAt(i) : -1);

/** Maximal runs of ASCII digits: calls `fn(start, end)` for each. */
function digitRuns(s: string, fn: (a: number, b: number) => void): void {
  let i = 0;
  const n = s.length;
  while (i < n) {
    if (!isDigit(s.charCodeAt(i))) {
      i++;
      continue;
    }
    const a = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    fn(a, i);
  }
}

// ---------------------------------------------------------------------------------------------------------
// check digits

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const ID_CHECK = '10X98765432';

/** GB 11643-1999 check of an 18-character resident identity number (17 digits + 0-9/X). */
export function validCnIdCard(s: string): boolean {
  if (s.length !== 18) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return false;
    sum += (c - 48) * (ID_WEIGHTS[i] as number);
  }
  return ID_CHECK[sum % 11] === s[17]?.toUpperCase();
}

/** Luhn check over a string of digits. */
export function luhn(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616 IBAN check (mod 97 = 1) of a compact upper-case IBAN. */
export function validIban(iban: string): boolean {
  if (iban.length < 15 || iban.length > 34) return false;
  if (!isUpper(code(iban, 0)) || !isUpper(code(iban, 1)) || !isDigit(code(iban, 2)) || !isDigit(code(iban, 3))) return false;
  const r = iban.slice(4) + iban.slice(0, 4);
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    if (isDigit(c)) m = (m * 10 + (c - 48)) % 97;
    else if (isUpper(c)) m = (m * 100 + (c - 55)) % 97;
    else return false;
  }
  return m === 1;
}

// ---------------------------------------------------------------------------------------------------------
// built-in scanners

function cnMobile(s: string, out: Range[]): void {
  digitRuns(s, (a, b) => {
    const c1 = s.charCodeAt(a + 1);
    if (b - a === 11 && s.charCodeAt(a) === 49 && c1 >= 51 && c1 <= 57) out.push({ start: a, end: b });
  });
}

function e164(s: string, out: Range[]): void {
  for (let i = s.indexOf('+'); i !== -1; i = s.indexOf('+', i + 1)) {
    if (isAlnum(code(s, i - 1))) continue;
    let j = i + 1;
    while (j < s.length && isDigit(s.charCodeAt(j))) j++;
    const n = j - i - 1;
    if (n >= 8 && n <= 15 && s.charCodeAt(i + 1) !== 48) out.push({ start: i, end: j });
  }
}

const isLocal = (c: number): boolean => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45; // . _ % + -
const isDomain = (c: number): boolean => isAlnum(c) || c === 46 || c === 45;

function email(s: string, out: Range[]): void {
  let floor = 0; // never reach back over a previous match
  for (let at = s.indexOf('@'); at !== -1; at = s.indexOf('@', at + 1)) {
    let a = at;
    while (a > floor && isLocal(s.charCodeAt(a - 1))) a--;
    while (a < at && s.charCodeAt(a) === 46) a++; // no leading dot
    if (a === at) continue;
    let b = at + 1;
    while (b < s.length && isDomain(s.charCodeAt(b))) b++;
    while (b > at + 1 && (s.charCodeAt(b - 1) === 46 || s.charCodeAt(b - 1) === 45)) b--;
    const domain = s.slice(at + 1, b);
    const labels = domain.split('.');
    const tld = labels[labels.length - 1] ?? '';
    if (labels.length < 2 || labels.some((l) => l.length === 0 || l.length > 63) || tld.length < 2 || !/^[A-Za-z]+$/.test(tld)) continue;
    out.push({ start: a, end: b });
    floor = b;
    at = b - 1;
  }
}

function cnIdCard(s: string, out: Range[]): void {
  digitRuns(s, (a, b) => {
    const len = b - a;
    let end = -1;
    if (len === 18 && !isAlnum(code(s, b))) end = b;
    else if (len === 17 && (code(s, b) === 88 || code(s, b) === 120) && !isAlnum(code(s, b + 1))) end = b + 1;
    if (end !== -1 && !isAlnum(code(s, a - 1)) && validCnIdCard(s.slice(a, end))) out.push({ start: a, end });
  });
}

function creditCard(s: string, out: Range[]): void {
  let i = 0;
  const n = s.length;
  while (i < n) {
    if (!isDigit(s.charCodeAt(i)) || isAlnum(code(s, i - 1))) {
      i++;
      continue;
    }
    const a = i;
    let digits = '';
    let end = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (isDigit(c)) {
        digits += s[i];
        i++;
        end = i;
        if (digits.length > 19) break;
      } else if ((c === 32 || c === 45) && isDigit(code(s, i + 1))) {
        i++;
      } else break;
    }
    while (i < n && isDigit(s.charCodeAt(i))) i++; // skip the rest of an over-long run
    if (digits.length >= 13 && digits.length <= 19 && !isAlnum(code(s, end)) && luhn(digits)) out.push({ start: a, end });
  }
}

function iban(s: string, out: Range[]): void {
  const n = s.length;
  let i = 0;
  while (i + 4 <= n) {
    if (!(isUpper(s.charCodeAt(i)) && isUpper(s.charCodeAt(i + 1)) && isDigit(s.charCodeAt(i + 2)) && isDigit(s.charCodeAt(i + 3))) || isAlnum(code(s, i - 1))) {
      i++;
      continue;
    }
    // groups: compact (one alnum run) or printed (groups of 4 separated by single spaces)
    const ends: number[] = [];
    let compact = '';
    let j = i;
    for (;;) {
      const g = j;
      while (j < n && (isUpper(s.charCodeAt(j)) || isDigit(s.charCodeAt(j)))) j++;
      if (j === g) break;
      compact += s.slice(g, j);
      ends.push(j);
      if (compact.length > 34 || j - g !== 4 || s.charCodeAt(j) !== 32) break;
      j++;
    }
    let found = -1;
    // try the longest candidate first, dropping trailing groups (at most 9, so constant work)
    for (let k = ends.length - 1; k >= 0 && found === -1; k--) {
      const e = ends[k] as number;
      if (isAlnum(code(s, e))) continue;
      const cand = s.slice(i, e).replaceAll(' ', '');
      if (validIban(cand)) found = e;
    }
    if (found !== -1) {
      out.push({ start: i, end: found });
      i = found;
    } else i++;
  }
}

function ipv4(s: string, out: Range[]): void {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (!isDigit(s.charCodeAt(i))) continue;
    const p = code(s, i - 1);
    if (isAlnum(p) || p === 46) continue;
    let j = i;
    let ok = true;
    for (let part = 0; part < 4 && ok; part++) {
      const a = j;
      let v = 0;
      while (j < n && j - a < 3 && isDigit(s.charCodeAt(j))) v = v * 10 + (s.charCodeAt(j++) - 48);
      if (j === a || v > 255 || isDigit(code(s, j))) ok = false;
      else if (part < 3) {
        if (s.charCodeAt(j) === 46) j++;
        else ok = false;
      }
    }
    if (ok && !isAlnum(code(s, j)) && !(code(s, j) === 46 && isDigit(code(s, j + 1)))) {
      out.push({ start: i, end: j });
      i = j;
    } else {
      while (i + 1 < n && (isDigit(s.charCodeAt(i + 1)) || s.charCodeAt(i + 1) === 46)) i++; // skip this dotted run
    }
  }
}

const BUILTINS = {
  cn_mobile: cnMobile,
  e164,
  email,
  cn_id_card: cnIdCard,
  credit_card: creditCard,
  iban,
  ipv4,
} as const satisfies Record<string, (s: string, out: Range[]) => void>;

export const DETECTOR_NAMES = Object.keys(BUILTINS) as ReadonlyArray<keyof typeof BUILTINS>;

function regexDetector(pattern: string, ruleName: string): Detector {
  let re: InstanceType<typeof RE2>;
  try {
    re = new RE2(pattern, 'gu');
  } catch (e) {
    throw new Error(`masking rule "${ruleName}": invalid regex ${JSON.stringify(pattern)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return {
    name: `regex:${pattern}`,
    find(text: string, out: Range[]): void {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const end = m.index + m[0].length;
        if (end === m.index) {
          re.lastIndex = end + 1; // empty match: step over one char
          if (end >= text.length) break;
          continue;
        }
        out.push({ start: m.index, end });
      }
    },
  };
}

/** Compile one configured detector. Throws an Error naming `ruleName` for an unknown detector or a bad regex. */
export function compileDetector(cfg: DetectorConfig, ruleName: string): Detector {
  if (typeof cfg === 'string') {
    const fn: ((s: string, out: Range[]) => void) | undefined = (BUILTINS as Record<string, (s: string, out: Range[]) => void>)[cfg];
    if (fn === undefined) throw new Error(`masking rule "${ruleName}": unknown detector "${cfg}" (one of ${DETECTOR_NAMES.join(', ')} or {regex})`);
    return { name: cfg, find: fn };
  }
  return regexDetector(cfg.regex, ruleName);
}

/** Run one detector and return its ranges. */
export function detect(det: Detector, text: string): Range[] {
  const out: Range[] = [];
  det.find(text, out);
  return out;
}
