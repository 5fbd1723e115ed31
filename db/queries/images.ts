// Images as their owners see them: repositories and tags of Berth's registry, scoped by account.
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client';
import { manifests, repositories, tags, type Repository } from '../schema';
import { olderThan } from './pagination';

export async function listRepositoriesFor(db: Db, accountIds: string[], opts: { limit: number; cursorId?: string }): Promise<Repository[]> {
  const conds = [inArray(repositories.accountId, accountIds)];
  if (opts.cursorId) conds.push(olderThan(repositories, repositories.createdAt, repositories.id, opts.cursorId));
  return db.select().from(repositories).where(and(...conds)).orderBy(desc(repositories.createdAt), desc(repositories.id)).limit(opts.limit);
}

export async function findRepositoryFor(db: Db, accountIds: string[], name: string): Promise<Repository | undefined> {
  const [r] = await db.select().from(repositories).where(and(eq(repositories.name, name), inArray(repositories.accountId, accountIds)));
  return r;
}

export async function listTagsOf(db: Db, repositoryId: string) {
  return db
    .select({ name: tags.name, digest: tags.manifestDigest, updatedAt: tags.updatedAt, mediaType: manifests.mediaType, size: manifests.size })
    .from(tags)
    .leftJoin(manifests, and(eq(manifests.repositoryId, tags.repositoryId), eq(manifests.digest, tags.manifestDigest)))
    .where(eq(tags.repositoryId, repositoryId))
    .orderBy(desc(tags.updatedAt), tags.name);
}

/** Makes an account's repository public or private (an app's image visibility). */
export async function setRepositoryVisibility(db: Db, accountId: string, name: string, isPublic: boolean): Promise<void> {
  await db.update(repositories).set({ public: isPublic }).where(and(eq(repositories.accountId, accountId), eq(repositories.name, name)));
}
