import { describe, expect, it } from 'vitest';
import { parsePruneFilters, parseUntil } from '../../../functions/docker/prune-filters';
import { hostOfServerAddress } from '../../../functions/docker/login';
import { parsePsArgs } from '../../../functions/docker/container-usage';

describe('parseUntil', () => {
  it('reads Go durations, Unix seconds and RFC 3339 times', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(parseUntil('24h', now)).toBe(now - 86_400_000);
    expect(parseUntil('1h30m', now)).toBe(now - 5_400_000);
    expect(parseUntil('1700000000', now)).toBe(1_700_000_000_000);
    expect(parseUntil('2025-12-31T00:00:00Z', now)).toBe(Date.parse('2025-12-31T00:00:00Z'));
    expect(() => parseUntil('yesterday', now)).toThrow('Invalid filter "until=yesterday"');
    expect(() => parseUntil('10x', now)).toThrow('Invalid filter "until=10x"');
  });
});

describe('parsePruneFilters', () => {
  it('matches labels (with and without a value, and their negation) and creation times', () => {
    const f = parsePruneFilters(JSON.stringify({ label: { 'a=1': true }, 'label!': ['b'], until: ['1700000000'] }));
    const old = new Date(1_600_000_000_000);
    expect(f.matches(old, { a: '1' })).toBe(true);
    expect(f.matches(old, { a: '2' })).toBe(false);
    expect(f.matches(old, { a: '1', b: 'x' })).toBe(false);
    expect(f.matches(new Date(1_800_000_000_000), { a: '1' })).toBe(false);
    expect(parsePruneFilters(undefined).matches(new Date(), {})).toBe(true);
  });

  it('refuses unknown filters and bad JSON, naming them; passes on the extra ones asked for', () => {
    expect(() => parsePruneFilters('{"colour":["red"]}')).toThrow("Invalid filter 'colour'");
    expect(() => parsePruneFilters('{')).toThrow('Invalid "filters": expected JSON');
    expect(() => parsePruneFilters('[1]')).toThrow('expected a JSON object');
    expect(() => parsePruneFilters('{"dangling":["true"]}')).toThrow("Invalid filter 'dangling'");
    expect(parsePruneFilters('{"dangling":{"false":true}}', ['dangling']).extra).toEqual({ dangling: ['false'] });
  });
});

describe('the engine\'s small parsers', () => {
  it('reads a login server address as a host', () => {
    expect(hostOfServerAddress('https://Registry.example:5000/v1/')).toBe('registry.example:5000');
    expect(hostOfServerAddress('127.0.0.1:8080')).toBe('127.0.0.1:8080');
  });

  it('splits docker top\'s ps options and refuses shell syntax', () => {
    expect(parsePsArgs(undefined)).toEqual(['-ef']);
    expect(parsePsArgs('aux')).toEqual(['aux']);
    expect(parsePsArgs('-o pid,comm')).toEqual(['-o', 'pid,comm']);
    expect(() => parsePsArgs('-ef; reboot')).toThrow('Invalid ps options "-ef; reboot"');
  });
});

describe('image filters', () => {
  it('reads dangling, reference, label, before and since; refuses others', async () => {
    const { parseImageFilters, matchesReference } = await import('../../../functions/docker/image-filters');
    expect(parseImageFilters('{"dangling":{"true":true},"reference":{"web*":true}}')).toMatchObject({ dangling: true, reference: ['web*'] });
    expect(() => parseImageFilters('{"dangling":["maybe"]}')).toThrow('Invalid filter "dangling=maybe"');
    expect(() => parseImageFilters('{"colour":["red"]}')).toThrow("Invalid filter 'colour'");
    expect(matchesReference('web', 'web:latest')).toBe(true);
    expect(matchesReference('web:v*', 'web:v2')).toBe(true);
    expect(matchesReference('we?', 'web:latest')).toBe(true);
    expect(matchesReference('web', 'website:latest')).toBe(false);
    expect(matchesReference('*', 'team/web:latest')).toBe(false);
  });
});
