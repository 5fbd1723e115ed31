// Organisations are accounts of kind 'organization'; users act for those they are members of.
import { and, eq } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { accounts, memberships, type Account } from '../schema';

export type Membership = typeof memberships.$inferSelect;

/** The ids of the accounts a user may act for: itself and its organisations. */
export async function listActingAccountIds(db: Db, account: Account): Promise<string[]> {
  if (account.kind !== 'user') return [account.id];
  const rows = await db.select({ id: memberships.organizationId }).from(memberships).where(eq(memberships.userId, account.id));
  return [account.id, ...rows.map((r) => r.id)];
}

export async function createOrganization(db: Db, owner: Account, name: string, displayName?: string): Promise<Account> {
  return db.transaction(async (tx) => {
    const [org] = await tx.insert(accounts).values({ id: newId('acc'), name, kind: 'organization', displayName: displayName ?? null }).returning();
    await tx.insert(memberships).values({ organizationId: org!.id, userId: owner.id, role: 'owner' });
    return org!;
  });
}

export async function listOrganizations(db: Db, userId: string): Promise<{ organization: Account; role: string }[]> {
  return db
    .select({ organization: accounts, role: memberships.role })
    .from(memberships)
    .innerJoin(accounts, eq(accounts.id, memberships.organizationId))
    .where(eq(memberships.userId, userId))
    .orderBy(accounts.name);
}

export async function findMembership(db: Db, organizationId: string, userId: string): Promise<Membership | undefined> {
  const [m] = await db.select().from(memberships).where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
  return m;
}

export async function addMember(db: Db, organizationId: string, userId: string, role: 'owner' | 'member'): Promise<Membership> {
  const [m] = await db
    .insert(memberships)
    .values({ organizationId, userId, role })
    .onConflictDoUpdate({ target: [memberships.organizationId, memberships.userId], set: { role } })
    .returning();
  return m!;
}

export async function listMembers(db: Db, organizationId: string): Promise<{ user: Account; role: string }[]> {
  return db
    .select({ user: accounts, role: memberships.role })
    .from(memberships)
    .innerJoin(accounts, eq(accounts.id, memberships.userId))
    .where(eq(memberships.organizationId, organizationId))
    .orderBy(accounts.name);
}
