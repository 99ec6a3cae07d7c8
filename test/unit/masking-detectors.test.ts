import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDetector, detect, luhn, validCnIdCard, validIban } from '../../src/masking/detectors.ts';
import type { DetectorConfig } from '../../src/config/types.ts';

function found(cfg: DetectorConfig, s: string): string[] {
  return detect(compileDetector(cfg, 't'), s).map((r) => s.slice(r.start, r.end));
}

test('cn_mobile: 11 digits 1[3-9], not inside a longer run', () => {
  assert.deepEqual(found('cn_mobile', '电话13812345678，备用 15900001111.'), ['13812345678', '15900001111']);
  assert.deepEqual(found('cn_mobile', '12812345678 138123456789 013812345678'), []);
});

test('e164: + and 8–15 digits', () => {
  assert.deepEqual(found('e164', 'call +8613812345678 or +14155550123'), ['+8613812345678', '+14155550123']);
  assert.deepEqual(found('e164', '+1234567 +1234567890123456 a+12345678'), []);
});

test('email', () => {
  assert.deepEqual(found('email', 'mail a.b+c@example.co.uk, x@y.io.'), ['a.b+c@example.co.uk', 'x@y.io']);
  assert.deepEqual(found('email', 'a@b @example.com user@host user@host.c1'), []);
});

test('cn_id_card: GB 11643 check digit', () => {
  assert.ok(validCnIdCard('11010519491231002X'));
  assert.ok(!validCnIdCard('110105194912310021'));
  assert.deepEqual(found('cn_id_card', 'id 11010519491231002X and 110101199003074478'), ['11010519491231002X']);
  assert.deepEqual(found('cn_id_card', '110101199003074477'), ['110101199003074477']);
  // valid 18-digit id
  const ok = found('cn_id_card', 'x 440524188001010014 y');
  assert.deepEqual(ok, validCnIdCard('440524188001010014') ? ['440524188001010014'] : []);
  assert.deepEqual(found('cn_id_card', '1101051949123100211'), []);
});

test('credit_card: Luhn, optional separators', () => {
  assert.ok(luhn('4111111111111111'));
  assert.ok(!luhn('4111111111111112'));
  assert.deepEqual(found('credit_card', 'card 4111 1111 1111 1111, 5500-0000-0000-0004; 378282246310005'), [
    '4111 1111 1111 1111',
    '5500-0000-0000-0004',
    '378282246310005',
  ]);
  assert.deepEqual(found('credit_card', '4111 1111 1111 1112 and 41111111111111110000 and 13812345678'), []);
});

test('iban: mod-97', () => {
  assert.ok(validIban('DE89370400440532013000'));
  assert.ok(!validIban('DE89370400440532013001'));
  assert.deepEqual(found('iban', 'pay DE89 3704 0044 0532 0130 00 now, GB82WEST12345698765432.'), [
    'DE89 3704 0044 0532 0130 00',
    'GB82WEST12345698765432',
  ]);
  assert.deepEqual(found('iban', 'DE89 3704 0044 0532 0130 01 XX00ABCDEFGHIJKLMNOP'), []);
});

test('ipv4: octets ≤ 255', () => {
  assert.deepEqual(found('ipv4', 'from 10.0.0.1 and 192.168.255.254:3306'), ['10.0.0.1', '192.168.255.254']);
  assert.deepEqual(found('ipv4', '256.1.1.1 1.2.3 1.2.3.4.5 v1.2.3.4'), []);
});

test('custom regex on RE2; invalid pattern names the rule', () => {
  assert.deepEqual(found({ regex: 'EMP-\\d{4}' }, 'EMP-0001 and EMP-12'), ['EMP-0001']);
  assert.deepEqual(found({ regex: '张.' }, '张三 李四'), ['张三']);
  assert.throws(() => compileDetector({ regex: '(unclosed' }, 'badrule'), /masking rule "badrule": invalid regex/);
  assert.throws(() => compileDetector({ regex: '(?<=x)y' }, 'lookbehind'), /lookbehind/);
});

test('pathological regex (a+)+$ finishes on RE2 (JS RegExp would backtrack exponentially)', () => {
  const s = 'a'.repeat(100_000) + '!';
  const t0 = process.hrtime.bigint();
  assert.deepEqual(detect(compileDetector({ regex: '(a+)+$' }, 'evil'), s), []);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 5_000, `RE2 took ${ms} ms`);
  // JS RegExp on just 30 chars already needs ~2^30 steps; we only demonstrate the growth on tiny inputs
  const js = /(a+)+$/;
  const time = (n: number): number => {
    const a = process.hrtime.bigint();
    js.test('a'.repeat(n) + '!');
    return Number(process.hrtime.bigint() - a);
  };
  time(12); // warm-up (compile)
  const t16 = time(16);
  const t23 = time(23);
  assert.ok(t23 > t16 * 8, `JS RegExp time should explode: ${t16} ns → ${t23} ns`);
});
