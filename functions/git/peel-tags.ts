// Annotated tags' targets, for the advertisement's `<target> <tag>^{}` lines (v0) and `peeled:`
// attributes (v2 ls-refs), which clients use to follow tags without fetching them first.
import { findGitObject } from '../../db/queries/git';
import type { GitRef } from '../../db/schema';
import type { Platform } from '../platform';
import { parseTagTarget } from './objects';
import { readStoredObject } from './object-store';

/** ref name → the non-tag object it finally points at, for refs naming annotated tags. */
export async function peelTags(platform: Platform, appId: string, refs: GitRef[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const ref of refs) {
    if (!ref.name.startsWith('refs/tags/')) continue;
    let id = ref.sha;
    for (let depth = 0; depth < 10; depth++) {
      const loc = await findGitObject(platform.db, appId, id);
      if (loc?.type !== 'tag') break;
      const tag = await readStoredObject(platform, appId, id);
      if (!tag) break;
      id = parseTagTarget(tag.data);
    }
    if (id !== ref.sha) out.set(ref.name, id);
  }
  return out;
}
