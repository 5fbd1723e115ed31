import { eq } from 'drizzle-orm';
import type { Db } from '../client';
import { settings } from '../schema';

/** The stored value for `key`, created from `make()` on first use; concurrent first uses agree. */
export async function ensureSetting(db: Db, key: string, make: () => string): Promise<string> {
  const [found] = await db.select().from(settings).where(eq(settings.key, key));
  if (found) return found.value;
  await db.insert(settings).values({ key, value: make() }).onConflictDoNothing();
  const [row] = await db.select().from(settings).where(eq(settings.key, key));
  return row!.value;
}
