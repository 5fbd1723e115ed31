// What the registry needs to decide access: who owns a namespace and whom an organization admits.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { preparedFor } from '../prepared';
import { accounts, memberships, repositories } from '../schema';

// Asked for every repository a token request names: prepared (db/prepared.ts).
function prepareNamespaceLookup(db: Db) {
  return db
    .select({ id: accounts.id, kind: accounts.kind })
    .from(accounts)
    .where(eq(accounts.name, sql.placeholder('namespace')))
    .prepare('namespace_by_name');
}

/** The namespace's account and whether `accountId` is it or a member of it (an organization). */
export async function findNamespaceAccess(
  db: Db,
  namespace: string,
  accountId: string | undefined,
): Promise<{ namespaceId?: string; isOwner: boolean }> {
  const [ns] = await preparedFor(db, prepareNamespaceLookup).execute({ namespace });
  if (!ns) return { isOwner: false };
  if (!accountId) return { namespaceId: ns.id, isOwner: false };
  if (ns.id === accountId) return { namespaceId: ns.id, isOwner: true };
  if (ns.kind !== 'organization') return { namespaceId: ns.id, isOwner: false };
  const [m] = await db
    .select({ u: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.organizationId, ns.id), eq(memberships.userId, accountId)));
  return { namespaceId: ns.id, isOwner: !!m };
}

/** The account and the organizations it belongs to: whose private repositories it may list. */
export async function listOwnedAccountIds(db: Db, accountId: string): Promise<string[]> {
  const rows = await db.select({ id: memberships.organizationId }).from(memberships).where(eq(memberships.userId, accountId));
  return [accountId, ...rows.map((r) => r.id)];
}

export async function findRepositoryByName(db: Db, name: string) {
  const [r] = await db.select().from(repositories).where(eq(repositories.name, name));
  return r;
}
