// Parsing and checking a pushed manifest: the JSON, its media type, its descriptors, and what it
// references, without touching storage. The bytes themselves are kept verbatim elsewhere.
import { tryParseDigest } from '../core/oci/digest';
import { DOCKER_FOREIGN_LAYER_GZIP, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, isIndexMediaType, isManifestMediaType } from '../core/oci/media-types';
import type { Descriptor } from '../core/oci/types';
import { registryError } from './errors';

export interface CheckedManifest {
  mediaType: string;
  /** For the referrers API: the manifest's artifactType, else its config's media type. */
  artifactType: string | null;
  subject?: Descriptor;
  annotations: Record<string, string> | null;
  /** Blobs that must be in the repository (config, layers that are not foreign). */
  blobs: string[];
  /** Manifests that must be in the repository (an index's children). */
  manifests: string[];
  references: { digest: string; kind: 'config' | 'layer' | 'manifest' | 'subject' }[];
}

function invalid(message: string, detail?: unknown): never {
  throw registryError(400, 'MANIFEST_INVALID', `Invalid manifest: ${message}`, detail);
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  if (!d || typeof d !== 'object' || Array.isArray(d)) invalid(`${where} is not a descriptor object`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/.test(o.mediaType)) {
    invalid(`${where}.mediaType is missing or malformed`);
  }
  if (typeof o.digest !== 'string' || !tryParseDigest(o.digest)) invalid(`${where}.digest "${String(o.digest).slice(0, 150)}" is not a sha256 or sha512 digest`);
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) invalid(`${where}.size must be a non-negative integer`);
  if (o.annotations !== undefined && (typeof o.annotations !== 'object' || o.annotations === null || Array.isArray(o.annotations))) {
    invalid(`${where}.annotations must be an object`);
  }
  return o as unknown as Descriptor;
}

/** The media type the manifest is pushed as: its own field, else Content-Type; both must agree. */
function resolveMediaType(doc: Record<string, unknown>, contentType: string | undefined): string {
  const ct = contentType?.split(';')[0]!.trim().toLowerCase();
  const own = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (own !== undefined && ct && isManifestMediaType(ct) && own !== ct) invalid(`mediaType "${own}" disagrees with Content-Type "${ct}"`);
  // Neither says: the OCI spec's fields tell an index from an image manifest.
  const mt = own ?? (ct && isManifestMediaType(ct) ? ct : undefined) ?? ('manifests' in doc ? OCI_INDEX : OCI_MANIFEST);
  if (!isManifestMediaType(mt)) throw registryError(400, 'MANIFEST_INVALID', `Invalid manifest: media type "${mt.slice(0, 100)}" is not an OCI or Docker v2 manifest or index`);
  return mt;
}

export function checkManifest(bytes: Uint8Array, contentType: string | undefined): CheckedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    invalid(`the body is not JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) invalid('the body is not a JSON object');
  const o = doc as Record<string, unknown>;
  if (o.schemaVersion !== 2) invalid(`schemaVersion is ${JSON.stringify(o.schemaVersion)}, expected 2 (schema 1 is not supported)`);
  const mediaType = resolveMediaType(o, contentType);
  const subject = o.subject === undefined ? undefined : checkDescriptor(o.subject, 'subject');
  const annotations = (o.annotations && typeof o.annotations === 'object' ? o.annotations : null) as Record<string, string> | null;
  const references: CheckedManifest['references'] = [];
  const blobs: string[] = [];
  const children: string[] = [];
  let artifactType = typeof o.artifactType === 'string' ? o.artifactType : null;
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(o.manifests)) invalid('an index needs a manifests array');
    (o.manifests as unknown[]).forEach((m, i) => {
      const d = checkDescriptor(m, `manifests[${i}]`);
      children.push(d.digest);
      references.push({ digest: d.digest, kind: 'manifest' });
    });
  } else {
    if ('manifests' in o) invalid('an image manifest has no manifests array (is this an index with the wrong media type?)');
    const config = checkDescriptor(o.config, 'config');
    if (!Array.isArray(o.layers)) invalid('an image manifest needs a layers array');
    blobs.push(config.digest);
    references.push({ digest: config.digest, kind: 'config' });
    (o.layers as unknown[]).forEach((l, i) => {
      const d = checkDescriptor(l, `layers[${i}]`);
      // Foreign and non-distributable layers live elsewhere (their urls); the registry need not hold them.
      const foreign = d.mediaType === DOCKER_FOREIGN_LAYER_GZIP || d.mediaType.includes('nondistributable') || (d.urls?.length ?? 0) > 0;
      if (!foreign) blobs.push(d.digest);
      references.push({ digest: d.digest, kind: 'layer' });
    });
    if (artifactType === null && config.mediaType !== OCI_EMPTY) artifactType = config.mediaType;
  }
  if (subject) references.push({ digest: subject.digest, kind: 'subject' });
  const seen = new Set<string>();
  return {
    mediaType,
    artifactType,
    subject,
    annotations,
    blobs: [...new Set(blobs)],
    manifests: [...new Set(children)],
    references: references.filter((r) => (seen.has(r.digest) ? false : (seen.add(r.digest), true))),
  };
}
