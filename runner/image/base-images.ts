// FROM resolution, in order: Berth's own registry; a configured upstream registry, pulled through
// into S3 under a system account; and, for `debian:<suite>` / `ubuntu:<suite>`, an image made offline
// with debootstrap and stored the same way, so every runner shares it after the first.
import { join } from 'node:path';
import type { Db } from '../../db/client';
import { createAccount, findAccountByName } from '../../db/queries/accounts';
import { formatReference, parseReference, type ImageReference } from '../../functions/core/oci/reference';
import type { BlobStore } from '../../functions/storage/blob-store';
import { OCI_LAYER_GZIP } from '../../functions/core/oci/media-types';
import { bootstrapImage, bootstrapTargetFor, type BootstrapOptions } from './debootstrap-image';
import { publishImage, readImageByDigest, readRegistryImage, uploadBlob, type StoredImage } from './registry-images';

/** The account that owns images Berth fetched or made itself (pull-through, debootstrap). */
export const SYSTEM_ACCOUNT = 'library';

/** Pulls an image from an upstream registry into Berth's storage; returns its manifest digest. */
export interface UpstreamPuller {
  pull(ref: ImageReference, into: { repository: string; accountId: string }, signal?: AbortSignal): Promise<string | undefined>;
}

export interface BaseImageOptions {
  db: Db;
  blobs: BlobStore;
  /** Registry hosts that are Berth itself (e.g. 127.0.0.1:8080): their references are local repositories. */
  ownHosts: string[];
  upstream?: UpstreamPuller;
  /** Without it, no debootstrap fallback. */
  bootstrap?: BootstrapOptions;
  log?: (line: string) => void;
}

export class BaseImageNotFoundError extends Error {
  override name = 'BaseImageNotFoundError';
}

/**
 * The repository in Berth's registry for a reference: Berth's own host drops out (`admin/web`);
 * Docker Hub images keep their path (`library/debian`); other registries keep their host.
 */
export function berthRepositoryFor(ref: ImageReference, ownHosts: string[]): string {
  if (ownHosts.includes(ref.registry) || ref.registry === 'docker.io') return ref.repository;
  return `${ref.registry}/${ref.repository}`;
}

export async function ensureSystemAccount(db: Db): Promise<string> {
  const found = await findAccountByName(db, SYSTEM_ACCOUNT);
  if (found) return found.id;
  try {
    return (await createAccount(db, { name: SYSTEM_ACCOUNT, kind: 'organization' })).id;
  } catch {
    const again = await findAccountByName(db, SYSTEM_ACCOUNT);
    if (!again) throw new Error(`Cannot create the system account "${SYSTEM_ACCOUNT}"`);
    return again.id;
  }
}

export type ResolvedBase = { kind: 'scratch' } | { kind: 'image'; ref: string; image: StoredImage; source: 'registry' | 'upstream' | 'debootstrap' };

export async function resolveBaseImage(o: BaseImageOptions, input: string, signal?: AbortSignal): Promise<ResolvedBase> {
  if (input === 'scratch') return { kind: 'scratch' };
  const ref = parseReference(input);
  const canonical = formatReference(ref);
  const repository = berthRepositoryFor(ref, o.ownHosts);
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';

  const local = await readRegistryImage(o.db, o.blobs, repository, tagOrDigest);
  if (local) return { kind: 'image', ref: canonical, image: local, source: 'registry' };
  if (o.ownHosts.includes(ref.registry)) throw new BaseImageNotFoundError(`Cannot resolve base image "${input}": no such image in Berth's registry`);

  if (o.upstream) {
    const accountId = await ensureSystemAccount(o.db);
    try {
      const digest = await o.upstream.pull(ref, { repository, accountId }, signal);
      if (digest) return { kind: 'image', ref: canonical, image: await readImageByDigest(o.blobs, digest), source: 'upstream' };
    } catch (err) {
      o.log?.(`upstream registry failed for ${canonical}: ${(err as Error).message}`);
    }
  }

  const target = ref.digest ? undefined : bootstrapTargetFor(ref.registry, ref.repository, ref.tag);
  if (target && o.bootstrap) {
    o.log?.(`making ${canonical} with debootstrap --variant=minbase ${target.suite}`);
    const accountId = await ensureSystemAccount(o.db);
    const out = join(o.bootstrap.workDir, `base-${target.distro}-${target.suite}-${process.pid}-${Date.now()}.tar.gz`);
    const made = await bootstrapImage(target, out, o.bootstrap, signal);
    await uploadBlob(o.db, o.blobs, { digest: made.layer.digest, size: made.layer.size, mediaType: OCI_LAYER_GZIP, diffId: made.layer.diffId, path: out });
    const published = await publishImage(o.db, o.blobs, {
      accountId,
      repository,
      tags: [ref.tag ?? 'latest'],
      config: made.config,
      layers: [{ digest: made.layer.digest, diffId: made.layer.diffId, size: made.layer.size, path: out }],
    });
    const image = await readImageByDigest(o.blobs, published.manifestDigest);
    image.layers[0]!.path = out;
    return { kind: 'image', ref: canonical, image, source: 'debootstrap' };
  }
  throw new BaseImageNotFoundError(`Cannot resolve base image "${input}": not in Berth's registry${o.upstream ? ', not found upstream' : ', no upstream registry is configured'}${target ? '' : ', and debootstrap makes only debian and ubuntu suites'}`);
}
