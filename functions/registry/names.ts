// Repository names and the paths they hide in: `/v2/<name>/blobs/...` where the name itself may hold
// slashes (`admin/a/b`), so the path is split on the last route keyword rather than by a router.
import { tryParseDigest, type Digest } from '../core/oci/digest';
import { registryError } from './errors';

// The distribution spec's name grammar, and its tag grammar.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Docker clients refuse longer names; distribution caps at 255 too. */
const MAX_NAME = 255;

export function isValidRepositoryName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME) return false;
  const parts = name.split('/');
  // Berth's names are <account>/<name>[/<more>]: a bare name has no owner.
  return parts.length >= 2 && parts.every((p) => COMPONENT.test(p));
}

export function parseRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) {
    throw registryError(400, 'NAME_INVALID', `Invalid repository name "${name.slice(0, 300)}": expected <account>/<name> of lower-case components`, { name: name.slice(0, 300) });
  }
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** The account that owns a repository: its first path component. */
export function namespaceOf(name: string): string {
  return name.slice(0, name.indexOf('/'));
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

export function parseReference(ref: string): Reference {
  if (ref.includes(':')) {
    const digest = tryParseDigest(ref);
    if (!digest) throw registryError(400, 'DIGEST_INVALID', `Invalid digest "${ref.slice(0, 200)}": expected sha256:<64 hex> or sha512:<128 hex>`);
    return { kind: 'digest', digest };
  }
  if (!isValidTag(ref)) throw registryError(400, 'MANIFEST_INVALID', `Invalid tag "${ref.slice(0, 200)}": expected [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
  return { kind: 'tag', tag: ref };
}

export type RegistryRoute =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'token' }
  | { kind: 'gc' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

/**
 * Splits a path below /v2 into a route. The name is everything before the last route keyword, so a
 * repository called `a/blobs/b` still routes; the name is validated by the caller.
 */
export function matchRegistryPath(path: string): RegistryRoute | undefined {
  const p = path.replace(/^\/v2/, '');
  if (p === '' || p === '/') return { kind: 'base' };
  if (p === '/_catalog') return { kind: 'catalog' };
  if (p === '/token') return { kind: 'token' };
  if (p === '/_berth/gc') return { kind: 'gc' };
  let m = /^\/(.+)\/tags\/list$/.exec(p);
  if (m) return { kind: 'tags', name: m[1]! };
  m = /^\/(.+)\/manifests\/([^/]+)$/.exec(p);
  if (m) return { kind: 'manifest', name: m[1]!, reference: m[2]! };
  m = /^\/(.+)\/blobs\/uploads\/?$/.exec(p);
  if (m) return { kind: 'uploads', name: m[1]! };
  m = /^\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(p);
  if (m) return { kind: 'upload', name: m[1]!, id: m[2]! };
  m = /^\/(.+)\/blobs\/([^/]+)$/.exec(p);
  if (m) return { kind: 'blob', name: m[1]!, digest: m[2]! };
  m = /^\/(.+)\/referrers\/([^/]+)$/.exec(p);
  if (m) return { kind: 'referrers', name: m[1]!, digest: m[2]! };
  return undefined;
}
