// Build cache keys: each instruction's key digests its parent's key, the instruction after expansion
// and, for COPY/ADD, the content it reads. A key names a result any runner may reuse. Pure.
import { createHash } from 'node:crypto';

const VERSION = 'berth-cache-v1';

/** The root of a stage's chain: its base image (by manifest digest) or the stage it builds on. */
export function baseCacheKey(base: { manifestDigest: string } | { stageKey: string } | 'scratch', platform = 'linux/amd64'): string {
  const what = base === 'scratch' ? 'scratch' : 'manifestDigest' in base ? `image:${base.manifestDigest}` : `stage:${base.stageKey}`;
  return createHash('sha256').update(`${VERSION}\0${platform}\0${what}`).digest('hex');
}

/** The key after one instruction. */
export function nextCacheKey(parent: string, keyText: string, contentDigest?: string): string {
  return createHash('sha256').update(`${VERSION}\0${parent}\0${keyText}\0${contentDigest ?? ''}`).digest('hex');
}
