import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { accounts, appSecrets, apps, type App } from '../schema';
import { olderThan } from './pagination';

export async function createAppRow(db: Db, input: { accountId: string; name: string; config: unknown }): Promise<App | undefined> {
  const rows = await db
    .insert(apps)
    .values({ id: newId('app'), accountId: input.accountId, name: input.name, config: input.config })
    .onConflictDoNothing({ target: apps.name })
    .returning();
  return rows[0];
}

/** The app with this name, only when one of the given accounts owns it: others' apps do not exist. */
export async function findAppFor(db: Db, accountIds: string[], name: string): Promise<(App & { owner: string }) | undefined> {
  const [row] = await db
    .select({ app: apps, owner: accounts.name })
    .from(apps)
    .innerJoin(accounts, eq(accounts.id, apps.accountId))
    .where(and(eq(apps.name, name), inArray(apps.accountId, accountIds)));
  return row ? { ...row.app, owner: row.owner } : undefined;
}

export async function listAppsFor(db: Db, accountIds: string[], opts: { limit: number; cursorId?: string }): Promise<(App & { owner: string })[]> {
  const conds = [inArray(apps.accountId, accountIds)];
  if (opts.cursorId) conds.push(olderThan(apps, apps.createdAt, apps.id, opts.cursorId));
  const rows = await db
    .select({ app: apps, owner: accounts.name })
    .from(apps)
    .innerJoin(accounts, eq(accounts.id, apps.accountId))
    .where(and(...conds))
    .orderBy(desc(apps.createdAt), desc(apps.id))
    .limit(opts.limit);
  return rows.map((r) => ({ ...r.app, owner: r.owner }));
}

export async function updateAppConfig(db: Db, id: string, config: unknown): Promise<App> {
  const [row] = await db.update(apps).set({ config, updatedAt: sql`now()` }).where(eq(apps.id, id)).returning();
  return row!;
}

export async function deleteAppRow(db: Db, id: string): Promise<void> {
  await db.delete(apps).where(eq(apps.id, id));
}

export async function listSecretNames(db: Db, appId: string): Promise<{ name: string; updatedAt: Date }[]> {
  return db.select({ name: appSecrets.name, updatedAt: appSecrets.updatedAt }).from(appSecrets).where(eq(appSecrets.appId, appId)).orderBy(appSecrets.name);
}

/** Sets (string) or deletes (null) secrets in one transaction. */
export async function writeSecrets(db: Db, appId: string, secrets: Record<string, string | null>): Promise<void> {
  await db.transaction(async (tx) => {
    for (const [name, value] of Object.entries(secrets)) {
      if (value === null) await tx.delete(appSecrets).where(and(eq(appSecrets.appId, appId), eq(appSecrets.name, name)));
      else
        await tx
          .insert(appSecrets)
          .values({ appId, name, value })
          .onConflictDoUpdate({ target: [appSecrets.appId, appSecrets.name], set: { value, updatedAt: sql`now()` } });
    }
  });
}
