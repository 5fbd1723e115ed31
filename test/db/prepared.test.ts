import { describe, expect, it } from 'vitest';
import type { Db } from '../../db/client';
import { preparedFor } from '../../db/prepared';

describe('preparedFor', () => {
  it('builds once per client and builder, and apart for another client or builder', () => {
    const built: string[] = [];
    const one = {} as Db;
    const two = {} as Db;
    const first = (db: Db) => {
      built.push(db === one ? 'first/one' : 'first/two');
      return { n: built.length };
    };
    const second = (_db: Db) => {
      built.push('second');
      return { n: built.length };
    };
    const a = preparedFor(one, first);
    expect(preparedFor(one, first)).toBe(a);
    expect(preparedFor(two, first)).not.toBe(a);
    expect(preparedFor(one, second)).not.toBe(a);
    expect(preparedFor(two, first)).toBe(preparedFor(two, first));
    expect(built).toEqual(['first/one', 'first/two', 'second']);
  });
});
