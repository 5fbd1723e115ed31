import { eq } from 'drizzle-orm';
import type { Db } from '../client';
import { accounts } from '../schema';

export async function setPasswordHash(db: Db, accountId: string, passwordHash: string): Promise<void> {
  await db.update(accounts).set({ passwordHash }).where(eq(accounts.id, accountId));
}
