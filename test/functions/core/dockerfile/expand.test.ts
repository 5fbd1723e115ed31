import { describe, expect, it } from 'vitest';
import { ExpansionError } from '../../../../functions/core/dockerfile/errors';
import { expandWord, expandWords, lookupFrom, processWord } from '../../../../functions/core/dockerfile/expand';
import { parseDockerfile } from '../../../../functions/core/dockerfile/parse';
import { computeStageScopes } from '../../../../functions/core/dockerfile/scope';

const env = lookupFrom({ PWD: '/home', SHELL: 'bash', NULL: '' });

// Cases in the form of BuildKit's shell lexer table (frontend/dockerfile/shell/envVarTest):
// input as written in a Dockerfile → the word after expansion and quote removal.
const cases: [string, string][] = [
  ['hello', 'hello'],
  ["he'll'o", 'hello'],
  ["he\\'llo", "he'llo"],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['"abc\\\\tdef"', 'abc\\tdef'],
  ["'abc\\tdef'", 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['hello\\\\', 'hello\\'],
  ['"hel\'lo"', "hel'lo"],
  ["'hello\\'", 'hello\\'],
  ["'hello\\there'", 'hello\\there'],
  ['"\'\'"', "''"],
  ['$.', '$.'],
  ['he$1x', 'hex'],
  ['he$.x', 'he$.x'],
  ['he$pwd.', 'he.'],
  ['he$PWD', 'he/home'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\\\$PWD"', 'he\\/home'],
  ['\\${}', '${}'],
  ['he\\${}xx', 'he${}xx'],
  ['he${hi}xx', 'hexx'],
  ['he${PWD}', 'he/home'],
  ['he${XXX:-000}xx', 'he000xx'],
  ['he${PWD:-000}xx', 'he/homexx'],
  ['he${XXX:-$PWD}xx', 'he/homexx'],
  ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
  ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
  ['he${PWD?}', 'he/home'],
  ['he${PWD:?}', 'he/home'],
  ['he${NULL?}', 'he'],
  ['he${XXX:+${PWD}}xx', 'hexx'],
  ['he${PWD:+${XXX}}xx', 'hexx'],
  ['he${PWD:+${SHELL}}xx', 'hebashxx'],
  ['he${XXX:+000}xx', 'hexx'],
  ['he${PWD:+000}xx', 'he000xx'],
  ["'he${XX}'", 'he${XX}'],
  ['"he${PWD}"', 'he/home'],
  ['"he\'$PWD\'"', "he'/home'"],
  ["'$PWD'", '$PWD'],
  ["'\\$PWD'", '\\$PWD'],
  ['\'"hello"\'', '"hello"'],
  ['he${PWD+000}xx', 'he000xx'],
  ['he${PWD-000}xx', 'he/homexx'],
  ['he${XXX+000}xx', 'hexx'],
  ['he${XXX-000}xx', 'he000xx'],
  // Set but empty: only the colon forms treat it as unset.
  ['he${NULL+000}xx', 'he000xx'],
  ['he${NULL-000}xx', 'hexx'],
  ['he${NULL:-000}xx', 'he000xx'],
  ['he${NULL:+000}xx', 'hexx'],
  ['${XXX:-"a b"}', 'a b'],
];

describe('expandWord', () => {
  it.each(cases)('%s → %s', (input, expected) => {
    expect(expandWord(input, env)).toBe(expected);
  });

  it.each([
    ["he'llo", /matching single-quote/],
    ['"hello', /matching double-quote/],
    ['"hello\\"', /matching double-quote/],
    ["'hello", /matching single-quote/],
    ['${}', /bad substitution/],
    ['he${}xx', /bad substitution/],
    ['he${.}', /unsupported modifier/],
    ['he${PWD', /missing '}'/],
    ['he${XXX:YYY}', /unsupported modifier \(:Y\)/],
    ['he${PWD=000}xx', /unsupported modifier \(=\)/],
    ['he${XXX?}', /XXX: is not allowed to be unset/],
    ['he${XXX:?}', /XXX: is not allowed to be unset/],
    ['he${NULL:?}', /NULL: is not allowed to be empty/],
    ['${XXX:?set it with --build-arg}', /XXX: set it with --build-arg/],
  ])('refuses %s', (input, message) => {
    expect(() => expandWord(input, env)).toThrow(ExpansionError);
    expect(() => expandWord(input, env)).toThrow(message);
  });

  it('names the word that failed', () => {
    expect(() => expandWord('a${B', env)).toThrow('failed to process "a${B": syntax error: missing \'}\'');
  });

  it('uses the escape character the Dockerfile chose', () => {
    expect(expandWord('C:\\path\\`$PWD', env, '`')).toBe('C:\\path\\$PWD');
    expect(expandWord('"a`"b"', env, '`')).toBe('a"b');
    expect(expandWord('C:\\$PWD', env, '`')).toBe('C:\\/home');
  });

  // Dockerfile reference, "Environment replacement": ${variable#pattern} and friends (1.7+).
  it.each([
    ['${str#f*b}', 'arbaz'],
    ['${str##f*b}', 'az'],
    ['${str%b*}', 'foobar'],
    ['${str%%b*}', 'foo'],
    ['${str/a/X}', 'foobXrbaz'],
    ['${str//a/X}', 'foobXrbXz'],
    ['${str#nomatch}', 'foobarbaz'],
    ['${str/b?r/-}', 'foo-baz'],
    ['${ver#v}', '1.2.3'],
    ['${ver%.*}', 'v1.2'],
    ['${ver%%.*}', 'v1'],
    ['${path##*/}', 'file.tar.gz'],
    ['${path%/*}', '/usr/local/src'],
    ['${lit#a\\*}', 'b'],
    ['${unset#x}', ''],
  ])('pattern %s', (input, expected) => {
    const vars = lookupFrom({ str: 'foobarbaz', ver: 'v1.2.3', path: '/usr/local/src/file.tar.gz', lit: 'a*b' });
    expect(expandWord(input, vars)).toBe(expected);
  });
});

describe('expandWords', () => {
  it('splits on whitespace, including whitespace a variable brings', () => {
    const vars = lookupFrom({ PORTS: '80 443/tcp', Q: 'a b' });
    expect(expandWords('$PORTS 53/udp', vars)).toEqual(['80', '443/tcp', '53/udp']);
    expect(expandWords('"$Q" c', vars)).toEqual(['a b', 'c']);
    expect(expandWords("'x y'z w", vars)).toEqual(['x yz', 'w']);
    expect(expandWords('  ', vars)).toEqual([]);
    expect(expandWords('a\\ b', vars)).toEqual(['a b']);
  });
});

describe('processWord', () => {
  it('reports the variables it found and did not find', () => {
    const r = processWord('$PWD ${NOPE:-x}', env);
    expect([...r.matched]).toEqual(['PWD']);
    expect([...r.unmatched]).toEqual(['NOPE']);
  });

  it('can keep unset references and quotes as written', () => {
    expect(processWord('${A}-$B-${C:-d}', () => undefined, { skipUnset: true }).result).toBe('${A}-$B-${C:-d}');
    expect(processWord('"a" \'b\'', () => undefined, { rawQuotes: true }).result).toBe('"a" \'b\'');
    expect(processWord('say "$PWD"', env, { skipQuotes: true }).result).toBe('say "/home"');
  });
});

describe('pattern expansion on hostile input', () => {
  it('stays linear where a backtracking regex would not', () => {
    const vars = lookupFrom({ V: 'a'.repeat(20_000) });
    const t = performance.now();
    expect(expandWord('${V#*a*a*a*a*a*a*b}', vars)).toBe('a'.repeat(20_000));
    expect(expandWord('${V%%a*a*a*a*a*a*b}', vars)).toBe('a'.repeat(20_000));
    expect(expandWord('${V/*a*a*a*a*b/x}', vars)).toBe('a'.repeat(20_000));
    expect(performance.now() - t).toBeLessThan(3000);
  });

  it('refuses substitutions nested past 100 deep instead of exhausting the stack, quoting the word short', () => {
    const deep = (n: number) => `${'${a:-'.repeat(n)}y${'}'.repeat(n)}`;
    expect(expandWord(deep(99), lookupFrom({}))).toBe('y');
    expect(() => expandWord(deep(20_000), lookupFrom({}))).toThrow(ExpansionError);
    expect(() => expandWord(deep(20_000), lookupFrom({}))).toThrow(/^failed to process "\$\{a:-.{190,200}…": variable substitutions nested more than 100 deep$/);
    const df = parseDockerfile(`FROM a\nENV x=${deep(20_000)}\n`);
    expect(() => computeStageScopes(df.stages[0]!, { globalArgs: new Map() })).toThrow(/^Dockerfile:2: failed to process/);
  });

  it('replaces like Go: leftmost match, empty matches after a match skipped', () => {
    const vars = lookupFrom({ V: 'abc', P: 'a-b-c', E: '' });
    expect(expandWord('${V//*/x}', vars)).toBe('x');
    expect(expandWord('${P//-/+}', vars)).toBe('a+b+c');
    expect(expandWord('${P/-*/}', vars)).toBe('a');
    expect(expandWord('${V//?/<&>}', vars)).toBe('<&><&><&>');
    expect(expandWord('${E//*/x}', vars)).toBe('x');
    expect(expandWord('${V/\\*/x}', vars)).toBe('abc');
    expect(() => expandWord('${V/\\q/x}', vars)).toThrow("invalid escape '\\q'");
  });
});
