// Manifests by tag or digest: GET/HEAD with Accept negotiation, PUT (bytes kept verbatim as a blob at
// their digest, references checked), DELETE of a manifest or a tag.
import { deleteManifest, deleteTag, findMissingManifests, findUnlinkedBlobs, storeManifest } from '../../db/queries/registry';
import { findRepositoryManifest } from '../../db/queries/registry-reads';
import { computeDigest, digestAlgorithm } from '../core/oci/digest';
import { blobKey } from '../storage/blob-store';
import { authorizeRepository } from './auth';
import type { RegistryContext } from './context';
import { registryError } from './errors';
import { checkManifest } from './manifest-check';
import { parseReference } from './names';
import { sharedManifestCache } from './manifest-cache';
import { ensurePushRepository, repositoryOr404, unknownRepository } from './repositories';

function unknownManifest(name: string, reference: string) {
  return registryError(404, 'MANIFEST_UNKNOWN', `Manifest "${reference}" is not known to repository "${name}"`, { name, reference });
}

/** True when the Accept header admits `mediaType`; no header, or a wildcard, admits anything. */
export function accepts(accept: string | undefined, mediaType: string): boolean {
  if (!accept) return true;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
  if (types.length === 0) return true;
  return types.some((t) => t === mediaType || t === '*/*' || t === 'application/*' || t === 'application/json');
}

export async function readManifest(rc: RegistryContext, rawName: string, reference: string, head: boolean): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['pull'], rc.origin);
  const ref = parseReference(reference);
  const found = await findRepositoryManifest(rc.platform.db, name, ref.kind === 'tag' ? ref.tag : ref.digest);
  if (!found) throw unknownRepository(name);
  const m = found.manifest;
  if (!m) throw unknownManifest(name, reference);
  if (!accepts(rc.c.req.header('accept'), m.mediaType)) {
    throw registryError(404, 'MANIFEST_UNKNOWN', `Manifest "${reference}" is a "${m.mediaType}", which the Accept header does not admit`, { mediaType: m.mediaType });
  }
  const headers = {
    'Content-Type': m.mediaType,
    'Content-Length': String(m.size),
    'Docker-Content-Digest': m.digest,
    ETag: `"${m.digest}"`,
  };
  if (head) return new Response(null, { status: 200, headers });
  // Postgres has just said the manifest is in this repository; its bytes at a digest never change.
  const cache = sharedManifestCache(rc.options.manifestCacheBytes);
  let bytes = cache.get(m.digest);
  if (!bytes) {
    bytes = await rc.store.getBytes(blobKey(m.digest));
    if (!bytes) throw registryError(404, 'MANIFEST_UNKNOWN', `Manifest "${m.digest}" is missing from storage`);
    cache.set(m.digest, bytes);
  }
  return new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

async function readLimited(rc: RegistryContext): Promise<Uint8Array> {
  const max = rc.options.maxManifestBytes;
  const tooBig = () => registryError(413, 'SIZE_INVALID', `Manifest refused: it exceeds the registry's limit of ${max} bytes`, { limit: max });
  const declared = rc.c.req.header('content-length');
  if (declared && Number(declared) > max) throw tooBig();
  const body = rc.c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read().catch(() => {
      throw registryError(400, 'MANIFEST_INVALID', 'Manifest refused: the request body ended early');
    });
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooBig();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export async function writeManifest(rc: RegistryContext, rawName: string, reference: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['pull', 'push'], rc.origin);
  const ref = parseReference(reference);
  const bytes = await readLimited(rc);
  const checked = checkManifest(bytes, rc.c.req.header('content-type'));
  const digest = await computeDigest(bytes, ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256');
  if (ref.kind === 'digest' && ref.digest !== digest) {
    throw registryError(400, 'DIGEST_INVALID', `Manifest refused: its digest is "${digest}", not "${ref.digest}"`, { expected: ref.digest, actual: digest });
  }
  const repo = await ensurePushRepository(rc, name);
  const db = rc.platform.db;
  const [missingBlobs, missingManifests] = await Promise.all([findUnlinkedBlobs(db, repo.id, checked.blobs), findMissingManifests(db, repo.id, checked.manifests)]);
  const missing = [...missingBlobs, ...missingManifests];
  if (missing.length > 0) {
    throw registryError(400, 'MANIFEST_BLOB_UNKNOWN', `Manifest refused: it references ${missing.length === 1 ? `"${missing[0]}", which is` : `${missing.length} blobs or manifests that are`} not in repository "${name}"`, {
      digests: missing.slice(0, 100),
    });
  }
  const manifest = {
    repositoryId: repo.id,
    digest,
    mediaType: checked.mediaType,
    size: bytes.length,
    artifactType: checked.artifactType,
    subjectDigest: checked.subject?.digest ?? null,
    annotations: checked.annotations,
    references: checked.references,
  };
  // The bytes are written even when S3 may hold them already: a small PUT of the same bytes costs
  // less than asking first.
  await storeManifest(db, manifest, () => rc.store.put(blobKey(digest), bytes, bytes.length, checked.mediaType), ref.kind === 'tag' ? ref.tag : undefined);
  sharedManifestCache(rc.options.manifestCacheBytes).set(digest, bytes);
  const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' };
  if (checked.subject) headers['OCI-Subject'] = checked.subject.digest;
  return new Response(null, { status: 201, headers });
}

export async function removeManifest(rc: RegistryContext, rawName: string, reference: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['delete'], rc.origin);
  const ref = parseReference(reference);
  const repo = await repositoryOr404(rc, name);
  const gone = ref.kind === 'tag' ? await deleteTag(rc.platform.db, repo.id, ref.tag) : await deleteManifest(rc.platform.db, repo.id, ref.digest);
  if (!gone) throw unknownManifest(name, reference);
  return new Response(null, { status: 202, headers: { 'Content-Length': '0' } });
}
