// Cursor pagination: the cursor names the last item seen; the next page is everything older than it
// in (created_at, id) order, so inserts between requests neither repeat nor skip items.
import { z } from '@hono/zod-openapi';
import { badRequest } from '../core/errors';

export const PageQuery = z.object({
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20).openapi({ example: 20 }),
  cursor: z.string().max(200, 'is not a cursor this API returned').optional().openapi({ description: 'The `nextCursor` of the previous page.' }),
});

export function encodeCursor(id: string): string {
  return btoa(`v1:${id}`).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The id the cursor names; a 400 naming the cursor when it is not one this API returned. */
export function parseCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    text = '';
  }
  if (!text.startsWith('v1:') || text.length < 4) throw badRequest(`Invalid cursor "${cursor}": pass the nextCursor of a previous page unchanged`, 'invalid_cursor');
  return text.slice(3);
}

/** A page of rows fetched with limit + 1: the extra row only says there is more. */
export function toPage<T extends { id: string }, U>(rows: T[], limit: number, render: (row: T) => U): { items: U[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(render), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}

export function pageSchema<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}
