import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { appendLogLines, readLogLines, trimLogLines } from '../../../db/queries/logs';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 2 });
afterAll(() => sql.end());

describe('log retention', () => {
  it('keeps the newest lines of one subject and touches no other', async () => {
    const a = { kind: 'container' as const, id: randomBytes(32).toString('hex') };
    const b = { kind: 'container' as const, id: randomBytes(32).toString('hex') };
    await appendLogLines(db, a, Array.from({ length: 50 }, (_, i) => ({ line: `a${i}` })));
    await appendLogLines(db, b, Array.from({ length: 5 }, (_, i) => ({ line: `b${i}` })));
    expect(await trimLogLines(db, a, 10)).toBe(40);
    expect((await readLogLines(db, a)).map((l) => l.line)).toEqual(Array.from({ length: 10 }, (_, i) => `a${40 + i}`));
    expect(await trimLogLines(db, a, 10)).toBe(0);
    expect(await readLogLines(db, b)).toHaveLength(5);
  });
});
