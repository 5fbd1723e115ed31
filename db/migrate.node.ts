// Applies the committed migrations. `npm run migrate` with DATABASE_URL set.
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { createDb } from './client';

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

export async function migrateDatabase(url: string): Promise<void> {
  const { db, sql } = createDb(url, { max: 1 });
  try {
    await sql`SET client_min_messages = warning`;
    await migrate(db, { migrationsFolder });
  } finally {
    await sql.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('Cannot migrate: DATABASE_URL is not set');
    process.exit(2);
  }
  await migrateDatabase(url);
  console.log('migrations applied');
}
