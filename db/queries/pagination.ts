import { sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';

/**
 * Rows older than the cursor's row in (created_at, id) order. The row is looked up rather than its
 * timestamp carried in the cursor, because Postgres keeps microseconds and a JS Date only millis.
 */
export function olderThan(table: PgTable, createdAt: PgColumn, id: PgColumn, cursorId: string): SQL {
  return sql`(${createdAt}, ${id}) < (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = ${cursorId})`;
}
