// The caller's tagged images as `docker images` lists them: one row per tag of a repository it owns.
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client';
import { manifests, repositories, tags } from '../schema';

export interface TaggedImage {
  repository: string;
  repositoryId: string;
  tag: string;
  digest: string;
  size: number | null;
  createdAt: Date;
}

export async function listTaggedImages(db: Db, accountIds: string[], repository?: string): Promise<TaggedImage[]> {
  const conds = [inArray(repositories.accountId, accountIds)];
  if (repository) conds.push(eq(repositories.name, repository));
  return db
    .select({ repository: repositories.name, repositoryId: repositories.id, tag: tags.name, digest: tags.manifestDigest, size: manifests.size, createdAt: tags.updatedAt })
    .from(tags)
    .innerJoin(repositories, eq(repositories.id, tags.repositoryId))
    .leftJoin(manifests, and(eq(manifests.repositoryId, tags.repositoryId), eq(manifests.digest, tags.manifestDigest)))
    .where(and(...conds))
    .orderBy(desc(tags.updatedAt), repositories.name, tags.name)
    .limit(1000);
}
