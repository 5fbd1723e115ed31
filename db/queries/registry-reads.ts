// The registry's hot reads, one round trip each: a pull asks for a blob or a manifest by repository
// name, and the answer must still tell a missing repository from a missing blob or manifest.
// Prepared (db/prepared.ts): unprepared, each of these joins cost ~0.4 ms, prepared ~0.1 ms.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { preparedFor } from '../prepared';
import { blobs, manifests, repositories, repositoryBlobs, tags, type Manifest } from '../schema';

export interface RepositoryBlob {
  repositoryId: string;
  /** Absent when the repository does not link the blob (or the blob row is gone). */
  blob?: {
    digest: string;
    size: number;
    mediaType: string | null;
    /** The link is older than `staleAfterMs`: a push asking about it should refresh it. */
    linkStale: boolean;
  };
}

function prepareReads(db: Db) {
  const name = sql.placeholder('name');
  return {
    blob: db
      .select({
        repositoryId: repositories.id,
        digest: blobs.digest,
        size: blobs.size,
        mediaType: blobs.mediaType,
        linkStale: sql<boolean | null>`${repositoryBlobs.createdAt} < now() - make_interval(secs => ${sql.placeholder('staleSeconds')})`,
      })
      .from(repositories)
      .leftJoin(repositoryBlobs, and(eq(repositoryBlobs.repositoryId, repositories.id), eq(repositoryBlobs.digest, sql.placeholder('digest'))))
      .leftJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
      .where(eq(repositories.name, name))
      .prepare('registry_repository_blob'),
    manifestByTag: db
      .select({ repositoryId: repositories.id, manifest: manifests })
      .from(repositories)
      .leftJoin(tags, and(eq(tags.repositoryId, repositories.id), eq(tags.name, sql.placeholder('tag'))))
      .leftJoin(manifests, and(eq(manifests.repositoryId, repositories.id), eq(manifests.digest, tags.manifestDigest)))
      .where(eq(repositories.name, name))
      .prepare('registry_manifest_by_tag'),
    manifestByDigest: db
      .select({ repositoryId: repositories.id, manifest: manifests })
      .from(repositories)
      .leftJoin(manifests, and(eq(manifests.repositoryId, repositories.id), eq(manifests.digest, sql.placeholder('digest'))))
      .where(eq(repositories.name, name))
      .prepare('registry_manifest_by_digest'),
  };
}

/** The repository named `name` and the blob it links at `digest`; undefined when no such repository. */
export async function findRepositoryBlob(db: Db, name: string, digest: string, staleAfterMs: number): Promise<RepositoryBlob | undefined> {
  const [r] = await preparedFor(db, prepareReads).blob.execute({ name, digest, staleSeconds: staleAfterMs / 1000 });
  if (!r) return undefined;
  if (r.digest === null || r.size === null) return { repositoryId: r.repositoryId };
  return { repositoryId: r.repositoryId, blob: { digest: r.digest, size: r.size, mediaType: r.mediaType, linkStale: r.linkStale === true } };
}

/** The repository named `name` and the manifest a tag or digest names in it; undefined when no such repository. */
export async function findRepositoryManifest(db: Db, name: string, tagOrDigest: string): Promise<{ repositoryId: string; manifest?: Manifest } | undefined> {
  const reads = preparedFor(db, prepareReads);
  const [r] = tagOrDigest.includes(':') ? await reads.manifestByDigest.execute({ name, digest: tagOrDigest }) : await reads.manifestByTag.execute({ name, tag: tagOrDigest });
  if (!r) return undefined;
  return r.manifest ? { repositoryId: r.repositoryId, manifest: r.manifest } : { repositoryId: r.repositoryId };
}
