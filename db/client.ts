import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

export interface DbOptions {
  /** Pool size. On Workers a client lives for one request: use 1. */
  max?: number;
  /** Workers: skip the type-fetch round trip on connect. */
  fetchTypes?: boolean;
}

/** Opens a postgres.js client and wraps it in drizzle. The caller owns `sql` and ends it. */
export function createDb(url: string, options: DbOptions = {}): { db: Db; sql: Sql } {
  const sql = postgres(url, {
    max: options.max ?? 10,
    fetch_types: options.fetchTypes ?? true,
    onnotice: () => {},
    connection: { application_name: 'berth' },
  });
  return { db: drizzle(sql, { schema }), sql };
}
