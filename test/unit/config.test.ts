import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DEFAULTS,
  defaultConfig,
  formatConfig,
  formatDuration,
  formatPath,
  formatSize,
  loadConfig,
  parseAddress,
  parseCidr,
  parseConfigText,
  parseDuration,
  parseSize,
  splitAddress,
} from '../../src/config/index.ts';

const NO_ENV = {};
const parse = (yaml: string) => parseConfigText(yaml, 'test.yaml', NO_ENV);

/** The issue lines of a config that must fail. */
function issuesOf(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfigText(yaml, 'test.yaml', env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.source, 'test.yaml');
    return e.issues;
  }
  assert.fail('config was accepted');
}

const BACKEND = 'backends:\n  - name: db\n    address: 10.0.0.5:3306\n';

describe('defaults', () => {
  test('built-in default matches DESIGN §5.2', () => {
    const c = loadConfig(undefined, NO_ENV);
    assert.equal(c.listeners.length, 1);
    assert.equal(c.listeners[0]?.address, '127.0.0.1:6033');
    assert.equal(c.listeners[0]?.tls.mode, 'preferred');
    assert.equal(c.listeners[0]?.tls.cert, undefined);
    assert.equal(c.backends.length, 1);
    assert.deepEqual(c.backends[0], {
      name: 'default',
      address: '127.0.0.1:3306',
      proxy_protocol: 'none',
      tls: { mode: 'preferred', verify: 'none' },
    });
    assert.deepEqual(c.routes, [{ name: 'default', backends: ['default'] }]);
    assert.deepEqual(c.audit.sinks, [{ type: 'stdout' }]);
    assert.equal(c.admin.address, '127.0.0.1:9033');
    assert.equal(c.admin.enabled, true);
  });

  test('limits, timeouts and log level defaults in ms and bytes', () => {
    const c = defaultConfig(NO_ENV);
    assert.equal(c.limits.max_connections, 10_000);
    assert.equal(c.limits.handshake_timeout, 10_000);
    assert.equal(c.limits.max_packet, 1024 ** 3);
    assert.equal(c.limits.allow_local_infile, true);
    assert.equal(c.limits.idle_timeout, undefined);
    assert.equal(c.shutdown_timeout, 30_000);
    assert.equal(c.health_check.interval, DEFAULTS.healthCheckIntervalMs);
    assert.equal(c.health_check.timeout, 1_000);
    assert.equal(c.log.level, 'info');
    assert.equal(c.user_tag_separator, '.');
    assert.equal(c.masking.on_bypass, 'reject');
  });

  test('an empty file, a comment-only file and no file give the same config', () => {
    const none = defaultConfig(NO_ENV);
    assert.deepEqual(parse(''), none);
    assert.deepEqual(parse('# nothing here\n'), none);
    assert.deepEqual(parse('{}'), none);
  });

  test('a file with only backends and no routes gets one default route to its single backend', () => {
    const c = parse(BACKEND);
    assert.deepEqual(c.routes, [{ name: 'default', backends: ['db'] }]);
    assert.equal(c.listeners[0]?.address, '127.0.0.1:6033');
  });

  test('nested defaults fill in inside given sections', () => {
    const c = parse(`${BACKEND}listeners:\n  - name: l\n    address: 0.0.0.0:3307\naudit:\n  sinks:\n    - { type: file, path: a.jsonl }\n`);
    assert.deepEqual(c.listeners[0]?.tls, { mode: 'preferred', sni: [], min_version: 'TLSv1.2' });
    assert.equal(c.listeners[0]?.proxy_protocol, false);
    assert.deepEqual(c.audit.sinks[0], { type: 'file', path: 'a.jsonl', rotate: { size: 100 * 1024 ** 2, keep: 10 }, fsync: 1000 });
  });

  test('backend tls.verify defaults to identity when a CA is given, else none', () => {
    const c = parse('backends:\n  - { name: a, address: "h:1", tls: { mode: required, ca: ca.pem } }\n  - { name: b, address: "h:2", tls: { mode: required } }\nroutes: [{ name: r, backends: [a, b] }]\n');
    assert.equal(c.backends[0]?.tls.verify, 'identity');
    assert.equal(c.backends[1]?.tls.verify, 'none');
  });

  test('the result is deep-frozen', () => {
    const c = parse(BACKEND);
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.listeners));
    assert.ok(Object.isFrozen(c.listeners[0]?.tls));
    assert.ok(Object.isFrozen(c.limits));
    assert.throws(() => {
      (c.limits as { max_connections: number }).max_connections = 1;
    }, TypeError);
  });

  test('the full example of DESIGN §5.3 is accepted', () => {
    const c = parse(DESIGN_EXAMPLE);
    assert.equal(c.listeners[0]?.tls.sni[0]?.names[1], '*.orders.example.com');
    assert.equal(c.backends[0]?.tls.verify, 'identity');
    assert.equal(c.routes[0]?.match?.user_tag, 'orders');
    assert.deepEqual(c.routes[0]?.match?.client_cidr, ['10.0.0.0/8']);
    assert.deepEqual(c.masking.rules[0]?.mask, { type: 'partial', keep_first: 3, keep_last: 4, char: '*' });
    assert.equal(c.audit.sinks.length, 4);
    assert.deepEqual(c.audit.sinks[0], { type: 'file', path: 'audit/sluice.jsonl', rotate: { size: 100 * 1024 ** 2, keep: 10 }, fsync: 1000 });
    assert.deepEqual(c.audit.sinks[2], { type: 'syslog', address: '127.0.0.1:514', protocol: 'udp' });
    assert.equal(c.health_check.interval, 2000);
    assert.equal(c.health_check.password_env, 'SLUICE_MONITOR_PASSWORD');
  });
});

describe('env and precedence', () => {
  test('SLUICE_LOG_LEVEL overrides log.level from the file', () => {
    const c = parseConfigText('log: { level: warn }\n', 'x', { SLUICE_LOG_LEVEL: 'debug' });
    assert.equal(c.log.level, 'debug');
    assert.equal(parseConfigText('log: { level: warn }\n', 'x', {}).log.level, 'warn');
    assert.equal(parseConfigText('log: { level: warn }\n', 'x', { SLUICE_LOG_LEVEL: '' }).log.level, 'warn');
  });

  test('an invalid SLUICE_LOG_LEVEL is reported with the other issues', () => {
    const issues = issuesOf('shutdown_timeout: soon\n', { SLUICE_LOG_LEVEL: 'loud' });
    assert.equal(issues.length, 2);
    assert.match(issues[0] ?? '', /^shutdown_timeout: expected a duration/);
    assert.match(issues[1] ?? '', /^SLUICE_LOG_LEVEL \(environment\): expected one of .*, got "loud"$/);
  });

  test('loadConfig reads a file, and reports an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    const file = join(dir, 'sluice.yaml');
    writeFileSync(file, `${BACKEND}limits: { max_connections: 5 }\n`);
    assert.equal(loadConfig(file, NO_ENV).limits.max_connections, 5);
    assert.throws(() => loadConfig(join(dir, 'missing.yaml'), NO_ENV), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.issues[0] ?? '', /^cannot read the file: ENOENT/);
      return true;
    });
  });
});

describe('durations and sizes', () => {
  const durations: Array<[string, number]> = [
    ['500ms', 500], ['2s', 2000], ['1m', 60_000], ['2h', 7_200_000], ['1d', 86_400_000],
    ['1.5s', 1500], ['1h30m', 5_400_000], ['0', 0], ['0s', 0], ['10s', 10_000],
  ];
  for (const [text, ms] of durations) {
    test(`duration ${text} → ${ms} ms`, () => {
      assert.deepEqual(parseDuration(text), { ok: true, value: ms });
      assert.equal(parse(`shutdown_timeout: ${text}\n`).shutdown_timeout, ms);
    });
  }
  for (const bad of ['10', '2 s', 's', '1.s', '2sec', '-1s', '', '1h 30m']) {
    test(`duration ${JSON.stringify(bad)} is rejected`, () => {
      assert.equal(parseDuration(bad === '10' ? 10 : bad).ok, false);
    });
  }

  const sizes: Array<[string | number, number]> = [
    ['64MiB', 64 * 1024 ** 2], ['1GiB', 1024 ** 3], ['512KiB', 512 * 1024], ['100B', 100],
    [4096, 4096], ['4096', 4096], ['1TiB', 1024 ** 4], ['1.5KiB', 1536],
  ];
  for (const [text, bytes] of sizes) {
    test(`size ${String(text)} → ${bytes} bytes`, () => {
      assert.deepEqual(parseSize(text), { ok: true, value: bytes });
    });
  }
  for (const bad of ['64MB', '1 gb', 'big', '0.5B', '-1', -1, 1.5]) {
    test(`size ${JSON.stringify(bad)} is rejected`, () => {
      assert.equal(parseSize(bad).ok, false);
    });
  }

  test('sizes in the file become bytes', () => {
    const c = parse('limits: { max_packet: 64MiB }\naudit: { sinks: [{ type: file, path: a, rotate: { size: 512KiB, keep: 3 } }] }\n');
    assert.equal(c.limits.max_packet, 64 * 1024 ** 2);
    const sink = c.audit.sinks[0];
    assert.ok(sink?.type === 'file');
    assert.deepEqual(sink.rotate, { size: 512 * 1024, keep: 3 });
  });

  test('a decimal unit gets a hint towards binary units', () => {
    assert.deepEqual(issuesOf('limits: { max_packet: 64MB }\n'), [
      'limits.max_packet: expected a size like 512KiB, 64MiB, 1GiB or a number of bytes (units are KiB, MiB, GiB, TiB), got "64MB" (line 1)',
    ]);
  });

  test('max_packet is bounded to 1KiB … 1GiB', () => {
    assert.match(issuesOf('limits: { max_packet: 2GiB }\n')[0] ?? '', /^limits\.max_packet: must be at most 1GiB, got "2GiB" \(line 1\)$/);
    assert.match(issuesOf('limits: { max_packet: 100 }\n')[0] ?? '', /^limits\.max_packet: must be at least 1KiB/);
  });

  test('formatDuration / formatSize print the shortest exact form', () => {
    assert.equal(formatDuration(30_000), '30s');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(1500), '1500ms');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatSize(1024 ** 3), '1GiB');
    assert.equal(formatSize(100 * 1024 ** 2), '100MiB');
    assert.equal(formatSize(1000), '1000');
  });
});

describe('addresses', () => {
  const good: Array<[string, string, number]> = [
    ['127.0.0.1:6033', '127.0.0.1', 6033], ['db.example.com:3306', 'db.example.com', 3306],
    ['[::1]:6033', '::1', 6033], ['[fe80::1]:1', 'fe80::1', 1], ['localhost:0', 'localhost', 0],
  ];
  for (const [text, host, port] of good) {
    test(`address ${text}`, () => {
      assert.deepEqual(parseAddress(text), { ok: true, value: { host, port } });
      assert.deepEqual(splitAddress(text), { host, port });
    });
  }
  for (const bad of ['localhost', '::1:6033', '[::1]6033', '[nothost]:1', 'h:65536', 'h:-1', 'h:', ':3306', 'a b:1', 'h:1x']) {
    test(`address ${bad} is rejected`, () => {
      assert.equal(parseAddress(bad).ok, false);
    });
  }
  test('unbracketed IPv6 gets a hint', () => {
    const r = parseAddress('::1:6033');
    assert.ok(!r.ok);
    assert.match(r.reason, /write IPv6 addresses as \[::1\]:port/);
  });
  test('port 0 is fine to listen on but not to dial', () => {
    assert.equal(parse('listeners: [{ name: l, address: "127.0.0.1:0" }]\n').listeners[0]?.address, '127.0.0.1:0');
    assert.deepEqual(issuesOf('backends: [{ name: b, address: "10.0.0.1:0" }]\n'), [
      'backends[0].address: expected host:port (port must be 1–65535), got "10.0.0.1:0" (line 1)',
    ]);
  });
  test('CIDR blocks', () => {
    assert.ok(parseCidr('10.0.0.0/8').ok);
    assert.ok(parseCidr('::1/128').ok);
    assert.ok(parseCidr('192.168.1.7').ok);
    assert.ok(!parseCidr('10.0.0.0/33').ok);
    assert.ok(!parseCidr('10.0.0/8').ok);
    assert.ok(!parseCidr('10.0.0.0/8/1').ok);
  });
});

describe('error reports', () => {
  test('the example of the brief, with its line', () => {
    assert.deepEqual(issuesOf('listeners:\n  - name: main\n    address: localhost\n'), [
      'listeners[0].address: expected host:port, got "localhost" (line 3)',
    ]);
  });

  test('unknown keys at several depths, each with the line of the key', () => {
    const yaml = [
      'listeners:',
      '  - name: main',
      '    address: 127.0.0.1:6033',
      '    adress: 127.0.0.1:6034',
      '    tls:',
      '      mode: required',
      '      certificate: x.pem',
      'limitz: {}',
      'audit:',
      '  sinks:',
      '    - { type: stdout, path: x }',
      'masking:',
      '  rules:',
      '    - name: r',
      '      columns: ["*.*.x"]',
      '      mask: { type: full, keep_first: 1 }',
      '',
    ].join('\n');
    assert.deepEqual(issuesOf(yaml), [
      'listeners[0]: unknown key "adress" (line 4)',
      'listeners[0].tls: unknown key "certificate" (line 7)',
      '(root): unknown key "limitz" (line 8)',
      'audit.sinks[0]: unknown key "path" (line 11)',
      'masking.rules[0].mask: unknown key "keep_first" (line 16)',
    ]);
  });

  test('several unknown keys in one mapping are listed one per line', () => {
    assert.deepEqual(issuesOf('limits:\n  foo: 1\n  bar: 2\n'), [
      'limits: unknown key "foo" (line 2)',
      'limits: unknown key "bar" (line 3)',
    ]);
  });

  test('every kind of error names its path and line', () => {
    const yaml = [
      'listeners:',                                         // 1
      '  - name: main',                                     // 2
      '    address: 127.0.0.1:6033',                        // 3
      '    proxy_protocol: "yes"',                          // 4  wrong type
      '    tls: { mode: sometimes }',                       // 5  bad enum
      'backends:',                                          // 6
      '  - name: "bad name"',                               // 7  regex
      '    address: 10.0.0.5:3306',                         // 8
      '  - address: 10.0.0.6:3306',                         // 9  missing name
      'routes: []',                                         // 10 empty list
      'audit:',                                             // 11
      '  sinks:',                                           // 12
      '    - { type: kafka }',                              // 13 bad discriminator
      '    - { path: x }',                                  // 14 missing discriminator
      '  max_sql_length: 1.5',                              // 15 not an integer
      'masking:',                                           // 16
      '  rules:',                                           // 17
      '    - name: phone',                                  // 18
      '      detect: [cn_mobile, ssn, { regex: "(" }]',     // 19 union: bad name, bad regex
      '      mask: { type: partial, char: "**" }',          // 20 string length
      'limits: { max_connections: 0, handshake_timeout: 10 }', // 21 too small, unit-less duration
      'log: { level: loud }',                               // 22
      'listeners_extra: 1',                                 // 23
      '',
    ].join('\n');
    assert.deepEqual(issuesOf(yaml), [
      'listeners[0].proxy_protocol: expected true or false, got "yes" (line 4)',
      'listeners[0].tls.mode: expected one of disabled | preferred | required | passthrough, got "sometimes" (line 5)',
      'backends[0].name: expected a name of letters, digits, "_", "-", "." (at most 64 characters), got "bad name" (line 7)',
      'backends[1].name: required (line 9)',
      'routes: needs at least one route, got a list (line 10)',
      'audit.sinks[0].type: expected one of file | stdout | syslog | nats, got "kafka" (line 13)',
      'audit.sinks[1].type: required (one of file | stdout | syslog | nats) (line 14)',
      'audit.max_sql_length: expected an integer, got 1.5 (line 15)',
      'masking.rules[0].detect[1]: expected one of cn_mobile | e164 | email | cn_id_card | credit_card | iban | ipv4 or {regex: "..."}, got "ssn" (line 19)',
      'masking.rules[0].detect[2].regex: invalid regular expression: /(/u: Unterminated group (line 19)',
      'masking.rules[0].mask.char: expected exactly one character, got "**" (line 20)',
      'limits.max_connections: must be at least 1, got 0 (line 21)',
      'limits.handshake_timeout: expected a duration like 500ms, 2s, 1m, 2h, got 10 (line 21)',
      'log.level: expected one of fatal | error | warn | info | debug | trace | silent, got "loud" (line 22)',
      '(root): unknown key "listeners_extra" (line 23)',
    ]);
  });

  test('a wrong type for a whole section', () => {
    assert.deepEqual(issuesOf('listeners:\n  name: main\n'), ['listeners: expected a list, got a mapping (line 1)']);
    assert.deepEqual(issuesOf('- a\n- b\n'), ['(root): expected a mapping, got a list (line 1)']);
    assert.deepEqual(issuesOf('limits: 5\n'), ['limits: expected a mapping, got 5 (line 1)']);
  });

  test('YAML syntax errors and duplicate keys carry their line', () => {
    const dup = issuesOf('limits: {}\nlimits: {}\n');
    assert.equal(dup.length, 1);
    assert.match(dup[0] ?? '', /^yaml: Map keys must be unique.* \(line 2\)$/);
    const syntax = issuesOf('listeners:\n  - name: [unclosed\n');
    assert.ok(syntax.length >= 1);
    assert.match(syntax[0] ?? '', /^yaml: .* \(line \d+\)$/);
  });

  test('the error message names the source and lists every issue', () => {
    assert.throws(() => parse('limits: { max_connections: 0 }\nshutdown_timeout: x\n'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.issues.length, 2);
      assert.match(e.message, /^invalid configuration in test\.yaml:\n {2}limits\.max_connections: .*\n {2}shutdown_timeout: /);
      return true;
    });
  });

  test('formatPath uses bracket notation', () => {
    assert.equal(formatPath(['backends', 2, 'tls', 'ca']), 'backends[2].tls.ca');
    assert.equal(formatPath([]), '(root)');
    assert.equal(formatPath(['a', 'weird key']), 'a["weird key"]');
  });

  test('anchors and aliases are resolved for values and lines', () => {
    const yaml = 'backends:\n  - { name: a, address: "h:1", tls: &t { mode: required, verfy: none } }\n  - { name: b, address: "h:2", tls: *t }\nroutes: [{ name: r, backends: [a, b] }]\n';
    assert.deepEqual(issuesOf(yaml), [
      'backends[0].tls: unknown key "verfy" (line 2)',
      'backends[1].tls: unknown key "verfy" (line 2)',
    ]);
    const ok = parse('backends:\n  - { name: a, address: "h:1", tls: &t { mode: required } }\n  - { name: b, address: "h:2", tls: *t }\nroutes: [{ name: r, backends: [a, b] }]\n');
    assert.equal(ok.backends[1]?.tls.mode, 'required');
  });
});

describe('cross-field checks', () => {
  test('route backends must exist and not repeat', () => {
    const issues = issuesOf(`${BACKEND}routes:\n  - name: r\n    backends: [db, nope, db]\n`);
    assert.deepEqual(issues, [
      'routes[0].backends[1]: unknown backend "nope" (defined: db) (line 6)',
      'routes[0].backends[2]: backend "db" is listed twice (line 6)',
    ]);
  });

  test('names are unique per section', () => {
    const issues = issuesOf('backends:\n  - { name: a, address: "h:1" }\n  - { name: a, address: "h:2" }\nroutes: [{ name: r, backends: [a] }, { name: r, backends: [a] }]\n');
    assert.deepEqual(issues, [
      'backends[1].name: duplicate backend name "a" (first used by backends[0]) (line 3)',
      'routes[1].name: duplicate route name "r" (first used by routes[0]) (line 4)',
      'routes[1]: unreachable: routes[0] "r" matches every connection (line 4)',
    ]);
  });

  test('masking rule references resolve, in routes and in masking.default', () => {
    const issues = issuesOf(`${BACKEND}routes: [{ name: r, backends: [db], masking: [phone, ssn] }]\nmasking:\n  default: [email]\n  rules:\n    - { name: phone, columns: ["*.*.phone"] }\n`);
    assert.deepEqual(issues, [
      'routes[0].masking[1]: unknown masking rule "ssn" (defined: phone) (line 4)',
      'masking.default[0]: unknown masking rule "email" (defined: phone) (line 6)',
    ]);
  });

  test('route listener must exist; user_tag must not contain the separator', () => {
    const issues = issuesOf(`${BACKEND}routes:\n  - name: r\n    match: { listener: nope, user_tag: a.b }\n    backends: [db]\n`);
    assert.deepEqual(issues, [
      'routes[0].match.listener: unknown listener "nope" (defined: default) (line 6)',
      'routes[0].match.user_tag: must not contain the user_tag_separator "." (line 6)',
    ]);
  });

  test('routes are required with several backends', () => {
    assert.deepEqual(issuesOf('backends:\n  - { name: a, address: "h:1" }\n  - { name: b, address: "h:2" }\n'), [
      'routes: required when there is more than one backend (2 are defined)',
    ]);
  });

  test('a route after a catch-all route is unreachable', () => {
    const issues = issuesOf(`${BACKEND}routes:\n  - { name: all, backends: [db] }\n  - { name: tagged, match: { user_tag: x }, backends: [db] }\n`);
    assert.deepEqual(issues, ['routes[1]: unreachable: routes[0] "all" matches every connection (line 6)']);
    assert.equal(parse(`${BACKEND}routes:\n  - { name: tagged, match: { user_tag: x }, backends: [db] }\n  - { name: all, backends: [db] }\n`).routes.length, 2);
  });

  test('cert and key come in pairs; client_ca needs TLS', () => {
    const issues = issuesOf('listeners:\n  - name: l\n    address: "h:1"\n    tls: { mode: disabled, cert: a.pem, client_ca: ca.pem }\n');
    assert.deepEqual(issues, [
      'listeners[0].tls.key: required when cert is set (line 4)',
      'listeners[0].tls.client_ca: client certificates need tls.mode preferred or required (line 4)',
    ]);
  });

  test('two sockets on one address collide, the admin address included', () => {
    const issues = issuesOf('listeners:\n  - { name: a, address: "127.0.0.1:6033" }\n  - { name: b, address: "127.0.0.1:6033" }\nadmin: { address: "127.0.0.1:6033" }\n');
    assert.deepEqual(issues, [
      'listeners[1].address: address 127.0.0.1:6033 is already used by listeners[0] (line 3)',
      'admin.address: address 127.0.0.1:6033 is already used by listeners[0] (line 4)',
    ]);
  });

  test('masking rules need columns or detect; health timeout within interval', () => {
    assert.deepEqual(issuesOf('masking: { rules: [{ name: r }] }\nhealth_check: { interval: 1s, timeout: 2s }\n'), [
      'masking.rules[0]: needs columns, detect or both (line 1)',
      'health_check.timeout: must not be longer than health_check.interval (line 2)',
    ]);
  });
});

describe('check-config output', () => {
  test('formatConfig writes units back and reloads to the same config', () => {
    const c = parse(DESIGN_EXAMPLE);
    const text = formatConfig(c);
    assert.match(text, /handshake_timeout: 10s/);
    assert.match(text, /max_packet: 1GiB/);
    assert.match(text, /size: 100MiB/);
    assert.deepEqual(parse(text), c);
    assert.deepEqual(parse(formatConfig(defaultConfig(NO_ENV))), defaultConfig(NO_ENV));
  });
});

const DESIGN_EXAMPLE = `
listeners:
  - name: main
    address: 127.0.0.1:6033
    proxy_protocol: false
    tls:
      mode: preferred
      cert: certs/server.pem
      key: certs/server.key
      sni:
        - names: ["orders.db.example.com", "*.orders.example.com"]
          cert: certs/orders.pem
          key: certs/orders.key
      client_ca: certs/clients-ca.pem
      min_version: TLSv1.2
backends:
  - name: orders-primary
    address: 10.0.0.5:3306
    proxy_protocol: none
    tls:
      mode: as_client
      verify: identity
      ca: certs/ca.pem
      crl: certs/crl.pem
      cert: certs/sluice-client.pem
      key: certs/sluice-client.key
      server_name: orders.internal
  - name: orders-replica
    address: 10.0.0.6:3306
routes:
  - name: orders
    match:
      host: "orders.*"
      sni: "orders.*"
      user_tag: orders
      schema: "orders_*"
      listener: main
      client_cidr: ["10.0.0.0/8"]
    backends: [orders-primary, orders-replica]
    masking: [phone]
  - name: fallback
    backends: [orders-replica]
user_tag_separator: "."
health_check: { interval: 2s, timeout: 1s, user: sluice_monitor, password_env: SLUICE_MONITOR_PASSWORD }
masking:
  default: [phone]
  rules:
    - name: phone
      columns: ["*.users.phone", "crm.*.mobile"]
      detect: [cn_mobile, { regex: "\\\\d{11}" }]
      mask: { type: partial, keep_first: 3, keep_last: 4, char: "*" }
  exempt_users: [dba]
  on_bypass: reject
audit:
  sinks:
    - { type: file, path: audit/sluice.jsonl, rotate: { size: 100MiB, keep: 10 }, fsync: 1s }
    - { type: stdout }
    - { type: syslog, address: 127.0.0.1:514, protocol: udp }
    - { type: nats, url: nats://127.0.0.1:4222, subject: sluice.audit, stream: SLUICE_AUDIT }
  events: [connect, auth, query, disconnect]
  max_sql_length: 4096
  when_full: block
admin:
  address: 127.0.0.1:9033
  token_env: SLUICE_ADMIN_TOKEN
limits: { max_connections: 10000, handshake_timeout: 10s, max_packet: 1GiB, idle_timeout: 8h }
shutdown_timeout: 30s
`;
