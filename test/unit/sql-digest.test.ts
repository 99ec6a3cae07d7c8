// Unit tests of src/sql/digest.ts: digest normalisation (literal variants share a digest, IN-lists and
// multi-row VALUES collapse, comments vanish), statement splitting and statement kinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digest, hash64, splitStatements, statementKind } from '../../src/sql/digest.ts';

const d = (sql: string): string => digest(sql).digest;

test('literals become ?, keywords upper-case, identifiers as written, single spaces', () => {
  assert.equal(
    d("select  Name,`Phone` from Users\n where id = 42 and email='a@b.c' and x > -1.5e3 and h = X'0a' and n = N'x'"),
    'SELECT Name, `Phone` FROM Users WHERE id = ? AND email = ? AND x > ? AND h = ? AND n = ?',
  );
  assert.equal(d("SELECT _utf8mb4'x', _latin1 'y', b'01', 0xFF, ?"), 'SELECT ?, ?, ?, ?, ?');
});

test('literal variants group to one digest and hash', () => {
  const a = digest("SELECT * FROM t WHERE a = 1 AND b = 'x' LIMIT 10");
  const b = digest("select *\tfrom t where a=-99 and b=\"yy\" limit 5 -- trailing");
  assert.equal(a.digest, b.digest);
  assert.equal(a.hash, b.hash);
  assert.match(a.hash, /^[0-9a-f]{16}$/);
  assert.notEqual(digest('SELECT * FROM t2 WHERE a = 1').hash, a.hash);
});

test('negative numbers fold, binary minus stays', () => {
  assert.equal(d('SELECT a - 1, a-1, -1, - - 2, (-3), b*-4 FROM t'), 'SELECT a - ?, a - ?, ?, ?, (?), b * ? FROM t');
  assert.equal(d('SELECT -a'), 'SELECT - a');
});

test('IN lists of any length collapse; lists with expressions do not', () => {
  const one = d('SELECT * FROM t WHERE id IN (1)');
  assert.equal(one, 'SELECT * FROM t WHERE id IN (...)');
  assert.equal(d("select * from t where id in (1, 2, 3, -4, 'x', NULL)"), one);
  assert.equal(d('SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))'), 'SELECT * FROM t WHERE (a, b) IN (...)');
  assert.equal(d('SELECT * FROM t WHERE id NOT IN (1, 2)'), 'SELECT * FROM t WHERE id NOT IN (...)');
  assert.equal(d('SELECT * FROM t WHERE id IN (SELECT id FROM u)'), 'SELECT * FROM t WHERE id IN (SELECT id FROM u)');
  assert.equal(d('SELECT * FROM t WHERE id IN (a, 1)'), 'SELECT * FROM t WHERE id IN (a, ?)');
});

test('multi-row VALUES collapse; VALUES() in ON DUPLICATE KEY UPDATE stays a function', () => {
  const single = d("INSERT INTO t (a, b) VALUES (1, 'x')");
  assert.equal(single, 'INSERT INTO t(a, b) VALUES (...)');
  assert.equal(d("insert into t (a,b) values (1,'x'),(2,'y'),(3,DEFAULT)"), single);
  assert.equal(
    d('INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a) + 1'),
    'INSERT INTO t(a) VALUES (...) ON DUPLICATE KEY UPDATE a = VALUES (a) + ?',
  );
  // a row with an expression keeps the list: a subquery there reads another table, so it must not share a digest
  assert.equal(d('INSERT INTO t VALUES (1), ((SELECT x FROM u))'), 'INSERT INTO t VALUES (?), ((SELECT x FROM u))');
});

test('comments removed, executable comments kept as their content', () => {
  assert.equal(d('SELECT /* hint */ 1 # c\n FROM t -- x'), 'SELECT ? FROM t');
  assert.equal(d('/*!40101 SET NAMES utf8mb4 */'), 'SET NAMES utf8mb4');
  assert.equal(d('SELECT /*!STRAIGHT_JOIN */ a FROM t'), 'SELECT STRAIGHT_JOIN a FROM t');
});

test('IS NULL / NOT NULL stay keywords, other NULLs are literals', () => {
  assert.equal(d('SELECT * FROM t WHERE a IS NULL AND b IS NOT NULL AND c = NULL'),
    'SELECT * FROM t WHERE a IS NULL AND b IS NOT NULL AND c = ?');
});

test('digest is idempotent on examples', () => {
  for (const sql of [
    "INSERT INTO t VALUES (1,'a'),(2,'b')", 'SELECT * FROM t WHERE a IN (1,2) AND b = -3', "SELECT 'x'; SELECT 2",
    'SELECT COUNT(*), IF(a, b, c), t.* FROM db.t', 'UPDATE t SET a = a - 1 WHERE id = @id',
  ]) {
    const once = d(sql);
    assert.equal(d(once), once);
  }
});

test('hash64 is stable', () => {
  assert.equal(hash64(''), hash64(''));
  assert.equal(hash64('SELECT ?').length, 16);
  assert.notEqual(hash64('SELECT ?'), hash64('SELECT ? '));
});

test('splitStatements: top-level semicolons only', () => {
  assert.deepEqual(splitStatements("SELECT 1; SELECT ';' ; /* ; */ SELECT 3;;"), ['SELECT 1', "SELECT ';'", 'SELECT 3']);
  assert.deepEqual(splitStatements('SELECT "a;b" -- ;\n; SELECT `c;d`'), ['SELECT "a;b"', 'SELECT `c;d`']);
  assert.deepEqual(splitStatements(''), []);
  assert.deepEqual(splitStatements('  ;  ; '), []);
});

test('splitStatements: BEGIN … END routine bodies stay whole (no DELIMITER on the server)', () => {
  const proc =
    'CREATE PROCEDURE p(IN x INT) BEGIN DECLARE i INT DEFAULT 0; WHILE i < x DO SET i = i + 1; END WHILE; ' +
    'IF x > 1 THEN SELECT 1; ELSE SELECT 2; END IF; SELECT CASE WHEN x THEN 1 END; END';
  assert.deepEqual(splitStatements(`${proc}; SELECT 4`), [proc, 'SELECT 4']);
  const trig = 'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END';
  assert.deepEqual(splitStatements(`${trig};SELECT 5`), [trig, 'SELECT 5']);
  assert.deepEqual(splitStatements('BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; COMMIT'), [
    'BEGIN NOT ATOMIC SELECT 1; SELECT 2; END', 'COMMIT',
  ]);
  // a transaction BEGIN is an ordinary statement
  assert.deepEqual(splitStatements('BEGIN; UPDATE t SET a = 1; COMMIT'), ['BEGIN', 'UPDATE t SET a = 1', 'COMMIT']);
});

test('statementKind', () => {
  const cases: Array<[string, string]> = [
    ['select 1', 'select'], ['(SELECT 1) UNION (SELECT 2)', 'select'], ['  insert into t values (1)', 'insert'],
    ['UPDATE t SET a=1', 'update'], ['delete from t', 'delete'], ['replace into t values (1)', 'replace'],
    ['CREATE TABLE t (a int)', 'create'], ['alter table t add b int', 'alter'], ['DROP TABLE t', 'drop'],
    ['TRUNCATE t', 'truncate'], ['SET @a = 1', 'set'], ['SHOW TABLES', 'show'], ['use db', 'use'],
    ['BEGIN', 'begin'], ['START TRANSACTION', 'begin'], ['COMMIT', 'commit'], ['ROLLBACK TO SAVEPOINT s', 'rollback'],
    ['CALL p()', 'call'], ['LOAD DATA INFILE "x" INTO TABLE t', 'load'], ['GRANT ALL ON *.* TO u', 'grant'],
    ['EXPLAIN SELECT 1', 'explain'], ['DESCRIBE t', 'explain'], ['/* c */ SELECT 1', 'select'],
    ['/*!40101 SET NAMES utf8 */', 'set'], ['WITH a AS (SELECT 1) SELECT * FROM a', 'select'],
    ['WITH RECURSIVE a (n) AS (SELECT 1 UNION ALL SELECT n+1 FROM a), b AS (SELECT 2) DELETE FROM t', 'delete'],
    ['WITH a AS (SELECT 1) UPDATE t SET x = 1', 'update'], ['RENAME TABLE a TO b', 'rename'],
    ['LOCK TABLES t READ', 'lock'], ['UNLOCK TABLES', 'unlock'], ['SAVEPOINT s', 'other'], ['', 'other'], ['))', 'other'],
  ];
  for (const [sql, kind] of cases) assert.equal(statementKind(sql), kind, sql);
});
