// Repositories, blobs, manifests and tags. Bytes live in S3 (blobs/<alg>/<hex>); who may see them and
// what points at what lives here, so a tag move is one transaction.
import { and, eq, sql } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { blobs, manifestReferences, manifests, repositories, repositoryBlobs, tags, type Manifest, type Repository } from '../schema';

export async function findRepository(db: Db, name: string): Promise<Repository | undefined> {
  const [r] = await db.select().from(repositories).where(eq(repositories.name, name));
  return r;
}

/** The repository with this full name (`<account>/<name>`), created for the account when missing. */
export async function ensureRepository(db: Db, accountId: string, name: string): Promise<Repository> {
  await db.insert(repositories).values({ id: newId('repo'), accountId, name }).onConflictDoNothing({ target: repositories.name });
  const r = await findRepository(db, name);
  if (!r) throw new Error(`Cannot create repository "${name}"`);
  return r;
}

/** Records that S3 holds this blob (idempotent). */
export async function recordBlob(db: Db, b: { digest: string; size: number; mediaType?: string | null; diffId?: string | null }): Promise<void> {
  await db
    .insert(blobs)
    .values({ digest: b.digest, size: b.size, mediaType: b.mediaType ?? null, diffId: b.diffId ?? null })
    .onConflictDoUpdate({ target: blobs.digest, set: { diffId: sql`coalesce(${blobs.diffId}, excluded.diff_id)`, mediaType: sql`coalesce(${blobs.mediaType}, excluded.media_type)` } });
}

export async function findBlob(db: Db, digest: string) {
  const [b] = await db.select().from(blobs).where(eq(blobs.digest, digest));
  return b;
}

/** Makes a stored blob readable through a repository. */
export async function linkBlob(db: Db, repositoryId: string, digest: string): Promise<void> {
  await db.insert(repositoryBlobs).values({ repositoryId, digest }).onConflictDoNothing();
}

export async function isBlobLinked(db: Db, repositoryId: string, digest: string): Promise<boolean> {
  const rows = await db
    .select({ d: repositoryBlobs.digest })
    .from(repositoryBlobs)
    .where(and(eq(repositoryBlobs.repositoryId, repositoryId), eq(repositoryBlobs.digest, digest)));
  return rows.length > 0;
}

export interface ManifestInput {
  repositoryId: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string | null;
  subjectDigest?: string | null;
  annotations?: Record<string, string> | null;
  /** What it points at: config and layers (kind 'config' | 'layer'), child manifests ('manifest'). */
  references: { digest: string; kind: 'config' | 'layer' | 'manifest' | 'subject' }[];
}

/** Records a manifest (its bytes already in S3 at its digest) and what it references; idempotent. */
export async function putManifest(db: Db, m: ManifestInput): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .insert(manifests)
      .values({
        repositoryId: m.repositoryId,
        digest: m.digest,
        mediaType: m.mediaType,
        size: m.size,
        artifactType: m.artifactType ?? null,
        subjectDigest: m.subjectDigest ?? null,
        annotations: m.annotations ?? null,
      })
      .onConflictDoNothing();
    if (m.references.length > 0) {
      await tx
        .insert(manifestReferences)
        .values(m.references.map((r) => ({ repositoryId: m.repositoryId, manifestDigest: m.digest, childDigest: r.digest, kind: r.kind })))
        .onConflictDoNothing();
    }
    await tx.insert(repositoryBlobs).values({ repositoryId: m.repositoryId, digest: m.digest }).onConflictDoNothing();
  });
}

export async function setTag(db: Db, repositoryId: string, name: string, manifestDigest: string): Promise<void> {
  await db
    .insert(tags)
    .values({ repositoryId, name, manifestDigest })
    .onConflictDoUpdate({ target: [tags.repositoryId, tags.name], set: { manifestDigest, updatedAt: sql`now()` } });
}

/** The manifest a tag or digest names in a repository. */
export async function resolveManifest(db: Db, repositoryId: string, tagOrDigest: string): Promise<Manifest | undefined> {
  let digest = tagOrDigest;
  if (!tagOrDigest.includes(':')) {
    const [t] = await db.select().from(tags).where(and(eq(tags.repositoryId, repositoryId), eq(tags.name, tagOrDigest)));
    if (!t) return undefined;
    digest = t.manifestDigest;
  }
  const [m] = await db.select().from(manifests).where(and(eq(manifests.repositoryId, repositoryId), eq(manifests.digest, digest)));
  return m;
}
