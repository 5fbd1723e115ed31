import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { accounts, apps, gitWebhooks, type App } from '../schema';

export type GitWebhook = typeof gitWebhooks.$inferSelect;

export async function setGitWebhook(db: Db, appId: string, input: { secret: string; cloneUrl: string | null }): Promise<GitWebhook> {
  const [row] = await db
    .insert(gitWebhooks)
    .values({ appId, ...input })
    .onConflictDoUpdate({ target: gitWebhooks.appId, set: { ...input, updatedAt: sql`now()` } })
    .returning();
  return row!;
}

/** The app (names are global) and its webhook, or undefined when either is missing. */
export async function findGitWebhook(db: Db, appName: string): Promise<{ app: App; owner: string; webhook: GitWebhook } | undefined> {
  const [row] = await db
    .select({ app: apps, owner: accounts.name, webhook: gitWebhooks })
    .from(gitWebhooks)
    .innerJoin(apps, eq(apps.id, gitWebhooks.appId))
    .innerJoin(accounts, eq(accounts.id, apps.accountId))
    .where(eq(apps.name, appName));
  return row;
}
