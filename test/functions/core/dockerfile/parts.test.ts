import { describe, expect, it } from 'vitest';
import { parseGoDuration } from '../../../../functions/core/dockerfile/duration';
import { parseFlags } from '../../../../functions/core/dockerfile/flags';
import { parseMount } from '../../../../functions/core/dockerfile/mounts';
import { parsePortSpec } from '../../../../functions/core/dockerfile/ports';
import { extractFlags, splitWords, tryParseJsonArray } from '../../../../functions/core/dockerfile/shell-words';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['500ms', 500e6],
    ['2us', 2000],
    ['3µs', 3000],
    ['10ns', 10],
    ['.5s', 500e6],
    ['-1s', -1e9],
  ])('%s', (input, ns) => expect(parseGoDuration(input)).toBe(ns));

  it.each(['', '5', 's', '1x', '1.s.', '--1s', '1 s'])('refuses %j', (input) => {
    expect(() => parseGoDuration(input)).toThrow(/Invalid duration/);
  });
});

describe('parsePortSpec', () => {
  it.each([
    ['80', ['80/tcp']],
    ['53/udp', ['53/udp']],
    ['443/TCP', ['443/tcp']],
    ['8080:80', ['80/tcp']],
    ['127.0.0.1:8080:80/udp', ['80/udp']],
    ['[::1]:8080:80', ['80/tcp']],
    ['7000-7002', ['7000/tcp', '7001/tcp', '7002/tcp']],
    ['80/', ['80/tcp']],
  ])('%s', (spec, keys) => expect(parsePortSpec(spec)).toEqual(keys));

  it.each([
    ['http', /not a port number/],
    ['80/http', /protocol "http"/],
    ['70000', /above 65535/],
    ['90-80', /ends before it starts/],
    ['8080:', /no container port/],
  ])('refuses %s', (spec, message) => expect(() => parsePortSpec(spec)).toThrow(message));
});

describe('parseMount', () => {
  it('applies BuildKit defaults: bind read-only, cache writable and shared', () => {
    expect(parseMount('target=/src')).toEqual({ type: 'bind', target: '/src', readonly: true });
    expect(parseMount('type=cache,target=/c')).toEqual({ type: 'cache', target: '/c', readonly: false, sharing: 'shared' });
    expect(parseMount('type=tmpfs,dst=/t,size=1g')).toEqual({ type: 'tmpfs', target: '/t', size: '1g', readonly: false });
    expect(parseMount('type=secret,id=npmrc,target=/root/.npmrc,required=true,mode=0400')).toEqual({
      type: 'secret',
      id: 'npmrc',
      target: '/root/.npmrc',
      required: true,
      mode: '0400',
      readonly: true,
    });
    expect(parseMount('type=bind,from=build,src=/out,target=/in,readwrite')).toMatchObject({ from: 'build', source: '/out', readonly: false });
  });

  it('reads quoted CSV fields', () => {
    expect(parseMount('type=bind,"source=a,b",target=/x')).toMatchObject({ source: 'a,b', target: '/x' });
  });

  it('keeps $VARS for the planner and validates literal values', () => {
    expect(parseMount('type=cache,target=$HOME/.cache,uid=$UID')).toMatchObject({ target: '$HOME/.cache', uid: '$UID' });
    expect(() => parseMount('type=cache,target=/c,uid=abc')).toThrow(/uid "abc"/);
  });

  it.each([
    ['type=nfs,target=/x', /Unsupported mount type "nfs"/],
    ['type=bind,target=/x,sharing=locked', /sharing is only for cache/],
    ['type=bind,target=/x,mode=0700', /"mode" is not allowed for bind/],
    ['type=secret,id=x,from=build', /can't be from images/],
    ['type=cache,target=/x,sharing=weird', /Invalid cache sharing/],
    ['type=tmpfs,target=/x,size=lots', /Invalid tmpfs size/],
    ['type=bind,target=/x,required', /expected key=value/],
    ['type=cache', /needs a target/],
    ['type=cache,target=/x,colour=red', /Unknown mount key "colour"/],
    ['type=cache,target=/x,ro=maybe', /not a boolean/],
  ])('refuses %s', (spec, message) => expect(() => parseMount(spec)).toThrow(message));
});

describe('parseFlags', () => {
  const spec = { from: 'string', link: 'bool', exclude: 'strings' } as const;
  it('reads strings, booleans and repeated flags', () => {
    const f = parseFlags('COPY', ['--from=build', '--link', '--exclude=a', '--exclude=b'], spec);
    expect([f.strings.get('from'), f.bools.get('link'), f.lists.get('exclude')]).toEqual(['build', true, ['a', 'b']]);
    expect(parseFlags('COPY', ['--link=false'], spec).bools.get('link')).toBe(false);
  });

  it('refuses duplicates and bad booleans', () => {
    expect(() => parseFlags('COPY', ['--from=a', '--from=b'], spec)).toThrow('duplicate flag "--from" for COPY');
    expect(() => parseFlags('COPY', ['--link=yes'], spec)).toThrow('expects true or false, not "yes"');
  });
});

describe('shell words', () => {
  it('takes flags off the front, with quotes, and stops at the first other word or --', () => {
    expect(extractFlags('--from=a --chown="app user" src dest')).toEqual({ flags: ['--from=a', '--chown=app user'], rest: 'src dest' });
    expect(extractFlags('--link -- --not-a-flag x')).toEqual({ flags: ['--link'], rest: '--not-a-flag x' });
    expect(extractFlags('--a=1')).toEqual({ flags: ['--a=1'], rest: '' });
  });

  it('splits words keeping quotes and escapes, as Docker does before expansion', () => {
    expect(splitWords('A="a b" B=c\\ d C=\'e f\'', '\\')).toEqual(['A="a b"', 'B=c\\ d', "C='e f'"]);
    expect(splitWords('A="x \\" y" B', '\\')).toEqual(['A="x \\" y"', 'B']);
    expect(splitWords('A=`"b c', '`')).toEqual(['A=`"b', 'c']);
    expect(splitWords('', '\\')).toEqual([]);
  });

  it('reads JSON string arrays, ignoring text after the array as Go does', () => {
    expect(tryParseJsonArray('["a", "b c"]')).toEqual(['a', 'b c']);
    expect(tryParseJsonArray(' [ ] ')).toEqual([]);
    expect(tryParseJsonArray('["a"] trailing')).toEqual(['a']);
    expect(tryParseJsonArray('["a" "b"]')).toBeUndefined();
    expect(tryParseJsonArray("['a']")).toBeUndefined();
    expect(tryParseJsonArray('["a", ')).toBeUndefined();
    expect(tryParseJsonArray('echo [x]')).toBeUndefined();
    expect(() => tryParseJsonArray('["a", 1]')).toThrow('arrays must be comprised of strings only');
    expect(() => tryParseJsonArray('[["a"]]')).toThrow('arrays must be comprised of strings only');
  });
});
