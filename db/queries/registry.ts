// Repositories, blobs, manifests and tags. Bytes live in S3 (blobs/<alg>/<hex>); who may see them and
// what points at what lives here, so a tag move is one transaction.
import { and, eq, inArray, or, sql } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { lockBlob } from './registry-gc';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
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

/** Records that S3 holds this blob (idempotent). Takes the blob's lock so a sweep cannot interleave. */
export async function recordBlob(db: Db, b: { digest: string; size: number; mediaType?: string | null; diffId?: string | null }): Promise<void> {
  await db.transaction(async (tx) => {
    await lockBlob(tx, b.digest);
    await insertBlob(tx, b);
  });
}

async function insertBlob(tx: Db | Tx, b: { digest: string; size: number; mediaType?: string | null; diffId?: string | null }): Promise<void> {
  await tx
    .insert(blobs)
    .values({ digest: b.digest, size: b.size, mediaType: b.mediaType ?? null, diffId: b.diffId ?? null })
    .onConflictDoUpdate({ target: blobs.digest, set: { diffId: sql`coalesce(${blobs.diffId}, excluded.diff_id)`, mediaType: sql`coalesce(${blobs.mediaType}, excluded.media_type)` } });
}

async function insertLink(tx: Db | Tx, repositoryId: string, digest: string): Promise<void> {
  await tx
    .insert(repositoryBlobs)
    .values({ repositoryId, digest })
    .onConflictDoUpdate({ target: [repositoryBlobs.repositoryId, repositoryBlobs.digest], set: { createdAt: sql`now()` } });
}

/**
 * Under the blob's lock: makes sure S3 holds it (`ensureObject` may copy or check, and throws when it
 * cannot), then records and links it. The garbage collector sweeps under the same lock.
 */
export async function storeBlob(
  db: Db,
  repositoryId: string,
  b: { digest: string; size: number; mediaType?: string | null },
  ensureObject: () => Promise<void>,
): Promise<void> {
  await db.transaction(async (tx) => {
    await lockBlob(tx, b.digest);
    await ensureObject();
    await insertBlob(tx, b);
    await insertLink(tx, repositoryId, b.digest);
  });
}

export async function findBlob(db: Db, digest: string) {
  const [b] = await db.select().from(blobs).where(eq(blobs.digest, digest));
  return b;
}

/**
 * Makes a stored blob readable through a repository. Linking again refreshes the link's time, which
 * is what keeps a blob a push is about to reference out of the garbage collector's reach.
 */
export async function linkBlob(db: Db, repositoryId: string, digest: string): Promise<void> {
  await db.transaction(async (tx) => {
    await lockBlob(tx, digest);
    await insertLink(tx, repositoryId, digest);
  });
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
    await insertManifestRows(tx, m);
    await tx.insert(repositoryBlobs).values({ repositoryId: m.repositoryId, digest: m.digest }).onConflictDoNothing();
  });
}

/**
 * A pushed manifest in one transaction: under its blob's lock `ensureObject` makes S3 hold the
 * bytes, then the blob, its link, the manifest, its references and (when given) the tag are
 * written. A tag thus only ever names a manifest recorded whole, and the push costs one commit.
 */
export async function storeManifest(db: Db, m: ManifestInput, ensureObject: () => Promise<void>, tag?: string): Promise<void> {
  await db.transaction(async (tx) => {
    await lockBlob(tx, m.digest);
    await ensureObject();
    await insertBlob(tx, { digest: m.digest, size: m.size, mediaType: m.mediaType });
    await insertLink(tx, m.repositoryId, m.digest);
    await insertManifestRows(tx, m);
    if (tag !== undefined) await upsertTag(tx, m.repositoryId, tag, m.digest);
  });
}

async function insertManifestRows(tx: Tx, m: ManifestInput): Promise<void> {
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
}

export async function setTag(db: Db, repositoryId: string, name: string, manifestDigest: string): Promise<void> {
  await upsertTag(db, repositoryId, name, manifestDigest);
}

async function upsertTag(tx: Db | Tx, repositoryId: string, name: string, manifestDigest: string): Promise<void> {
  await tx
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

/** The blob with this digest when the repository links it (what a pull may read). */
export async function findLinkedBlob(db: Db, repositoryId: string, digest: string) {
  const [b] = await db
    .select({ digest: blobs.digest, size: blobs.size, mediaType: blobs.mediaType })
    .from(repositoryBlobs)
    .innerJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
    .where(and(eq(repositoryBlobs.repositoryId, repositoryId), eq(repositoryBlobs.digest, digest)));
  return b;
}

/** Of these digests, the ones the repository does not link as blobs. */
export async function findUnlinkedBlobs(db: Db, repositoryId: string, digests: string[]): Promise<string[]> {
  if (digests.length === 0) return [];
  const rows = await db
    .select({ d: repositoryBlobs.digest })
    .from(repositoryBlobs)
    .innerJoin(blobs, eq(blobs.digest, repositoryBlobs.digest))
    .where(and(eq(repositoryBlobs.repositoryId, repositoryId), inArray(repositoryBlobs.digest, digests)));
  const have = new Set(rows.map((r) => r.d));
  return [...new Set(digests)].filter((d) => !have.has(d));
}

/** Of these digests, the ones that are not manifests in the repository. */
export async function findMissingManifests(db: Db, repositoryId: string, digests: string[]): Promise<string[]> {
  if (digests.length === 0) return [];
  const rows = await db
    .select({ d: manifests.digest })
    .from(manifests)
    .where(and(eq(manifests.repositoryId, repositoryId), inArray(manifests.digest, digests)));
  const have = new Set(rows.map((r) => r.d));
  return [...new Set(digests)].filter((d) => !have.has(d));
}

/** Deletes a manifest, every tag naming it and what it references; false when it was not there. */
export async function deleteManifest(db: Db, repositoryId: string, digest: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const gone = await tx
      .delete(manifests)
      .where(and(eq(manifests.repositoryId, repositoryId), eq(manifests.digest, digest)))
      .returning({ d: manifests.digest });
    if (gone.length === 0) return false;
    await tx.delete(tags).where(and(eq(tags.repositoryId, repositoryId), eq(tags.manifestDigest, digest)));
    await tx.delete(manifestReferences).where(and(eq(manifestReferences.repositoryId, repositoryId), eq(manifestReferences.manifestDigest, digest)));
    await tx.delete(repositoryBlobs).where(and(eq(repositoryBlobs.repositoryId, repositoryId), eq(repositoryBlobs.digest, digest)));
    return true;
  });
}

export async function deleteTag(db: Db, repositoryId: string, name: string): Promise<boolean> {
  const gone = await db.delete(tags).where(and(eq(tags.repositoryId, repositoryId), eq(tags.name, name))).returning({ n: tags.name });
  return gone.length > 0;
}

/** Tag names in lexical order after `last`, at most `n` (+1 to tell whether more follow). */
export async function listTags(db: Db, repositoryId: string, o: { n: number; last?: string }): Promise<string[]> {
  const rows = await db
    .select({ name: tags.name })
    .from(tags)
    .where(and(eq(tags.repositoryId, repositoryId), o.last !== undefined ? sql`${tags.name} COLLATE "C" > ${o.last}` : undefined))
    .orderBy(sql`${tags.name} COLLATE "C"`)
    .limit(o.n);
  return rows.map((r) => r.name);
}

/** Manifests in the repository whose subject is `digest`, optionally of one artifact type. */
export async function listReferrers(db: Db, repositoryId: string, digest: string, artifactType?: string): Promise<Manifest[]> {
  return db
    .select()
    .from(manifests)
    .where(
      and(
        eq(manifests.repositoryId, repositoryId),
        eq(manifests.subjectDigest, digest),
        artifactType !== undefined ? eq(manifests.artifactType, artifactType) : undefined,
      ),
    )
    .orderBy(manifests.digest);
}

/** Repository names a caller may see: those of the given accounts and the public ones, paged. */
export async function listVisibleRepositories(db: Db, accountIds: string[], o: { n: number; last?: string }): Promise<string[]> {
  const visible = accountIds.length > 0 ? or(eq(repositories.public, true), inArray(repositories.accountId, accountIds)) : eq(repositories.public, true);
  const rows = await db
    .select({ name: repositories.name })
    .from(repositories)
    .where(and(visible, o.last !== undefined ? sql`${repositories.name} COLLATE "C" > ${o.last}` : undefined))
    .orderBy(sql`${repositories.name} COLLATE "C"`)
    .limit(o.n);
  return rows.map((r) => r.name);
}

export async function setRepositoryPublic(db: Db, repositoryId: string, isPublic: boolean): Promise<void> {
  await db.update(repositories).set({ public: isPublic }).where(eq(repositories.id, repositoryId));
}
