// Lists: tags of a repository, the catalog of repositories a caller may see, and referrers.
import { listReferrers, listTags, listVisibleRepositories } from '../../db/queries/registry';
import { listOwnedAccountIds } from '../../db/queries/registry-access';
import { tryParseDigest } from '../core/oci/digest';
import { OCI_INDEX } from '../core/oci/media-types';
import type { Descriptor } from '../core/oci/types';
import { authorizeRepository } from './auth';
import type { RegistryContext } from './context';
import { registryError } from './errors';
import { repositoryOr404 } from './repositories';

function readPage(rc: RegistryContext): { n: number; last?: string } {
  const { n, last } = rc.c.req.query();
  let size = rc.options.defaultPageSize;
  if (n !== undefined) {
    if (!/^\d{1,9}$/.test(n)) throw registryError(400, 'UNSUPPORTED', `Invalid page size n="${n.slice(0, 20)}": expected a non-negative integer`);
    size = Math.min(Number(n), rc.options.maxPageSize);
  }
  return { n: size, last: last || undefined };
}

/** Fetches one more than asked to tell whether a next page exists; sets the Link header then. */
function page(rc: RegistryContext, rows: string[], n: number, path: string): string[] {
  if (rows.length <= n) return rows;
  const items = rows.slice(0, n);
  rc.c.header('Link', `<${path}?n=${n}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"`);
  return items;
}

export async function tagList(rc: RegistryContext, rawName: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['pull'], rc.origin);
  const repo = await repositoryOr404(rc, name);
  const { n, last } = readPage(rc);
  const rows = n === 0 ? [] : await listTags(rc.platform.db, repo.id, { n: n + 1, last });
  return rc.c.json({ name, tags: page(rc, rows, n, `/v2/${name}/tags/list`) });
}

/** The accounts whose private repositories the caller may list. */
async function visibleAccounts(rc: RegistryContext): Promise<string[]> {
  const caller = rc.caller;
  const id = caller.kind === 'account' ? caller.account.id : caller.kind === 'token' ? caller.claims.sub : '';
  return id ? listOwnedAccountIds(rc.platform.db, id) : [];
}

export async function catalog(rc: RegistryContext): Promise<Response> {
  const { n, last } = readPage(rc);
  const rows = n === 0 ? [] : await listVisibleRepositories(rc.platform.db, await visibleAccounts(rc), { n: n + 1, last });
  return rc.c.json({ repositories: page(rc, rows, n, '/v2/_catalog') });
}

export async function referrers(rc: RegistryContext, rawName: string, rawDigest: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['pull'], rc.origin);
  const digest = tryParseDigest(rawDigest);
  if (!digest) throw registryError(400, 'DIGEST_INVALID', `Invalid digest "${rawDigest.slice(0, 200)}": expected sha256:<64 hex> or sha512:<128 hex>`);
  const repo = await repositoryOr404(rc, name);
  const artifactType = rc.c.req.query('artifactType') || undefined;
  const rows = await listReferrers(rc.platform.db, repo.id, digest, artifactType);
  const manifests: Descriptor[] = rows.map((m) => {
    const d: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.size };
    if (m.artifactType) d.artifactType = m.artifactType;
    if (m.annotations) d.annotations = m.annotations as Record<string, string>;
    return d;
  });
  const headers: Record<string, string> = { 'Content-Type': OCI_INDEX };
  if (artifactType) headers['OCI-Filters-Applied'] = 'artifactType';
  return new Response(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }), { status: 200, headers });
}
