// The caller's tagged images as `docker images` lists them: one row per tag of a repository it owns.
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { blobs, builds, manifestReferences, manifests, repositories, tags } from '../schema';

export interface TaggedImage {
  repository: string;
  repositoryId: string;
  tag: string;
  digest: string;
  /** The image config's digest when Berth built it (Docker's image ID); else the manifest digest. */
  id: string;
  /** The layers' and config's stored (compressed) bytes; the manifest's own size when unknown. */
  size: number | null;
  createdAt: Date;
}

export async function listTaggedImages(db: Db, accountIds: string[], repository?: string): Promise<TaggedImage[]> {
  const conds = [inArray(repositories.accountId, accountIds)];
  if (repository) conds.push(eq(repositories.name, repository));
  return db
    .select({ repository: repositories.name, repositoryId: repositories.id, tag: tags.name, digest: tags.manifestDigest,
      id: sql<string>`coalesce((SELECT ${builds.configDigest} FROM ${builds} WHERE ${builds.manifestDigest} = ${tags.manifestDigest} AND ${builds.configDigest} IS NOT NULL LIMIT 1), ${tags.manifestDigest})`,
      size: sql<number | null>`coalesce((SELECT sum(${blobs.size})::bigint FROM ${manifestReferences} JOIN ${blobs} ON ${blobs.digest} = ${manifestReferences.childDigest} WHERE ${manifestReferences.repositoryId} = ${tags.repositoryId} AND ${manifestReferences.manifestDigest} = ${tags.manifestDigest} AND ${manifestReferences.kind} IN ('layer', 'config')), ${manifests.size})`.mapWith(Number),
      createdAt: tags.updatedAt })
    .from(tags)
    .innerJoin(repositories, eq(repositories.id, tags.repositoryId))
    .leftJoin(manifests, and(eq(manifests.repositoryId, tags.repositoryId), eq(manifests.digest, tags.manifestDigest)))
    .where(and(...conds))
    .orderBy(desc(tags.updatedAt), repositories.name, tags.name)
    .limit(1000);
}
