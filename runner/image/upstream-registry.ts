// Pull-through from an upstream OCI distribution registry (Docker Hub in production, any
// distribution-spec registry in tests): the manifest (an index resolved to linux/amd64), config and
// layers are copied into S3 byte for byte, digests verified, and tagged in Berth's registry under
// the system account, so the next FROM on any runner reads them from Berth.
import type { Db } from '../../db/client';
import { ensureRepository, linkBlob, putManifest, recordBlob, setTag } from '../../db/queries/registry';
import { computeDigest } from '../../functions/core/oci/digest';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, isIndexMediaType } from '../../functions/core/oci/media-types';
import type { ImageReference } from '../../functions/core/oci/reference';
import type { ImageIndex, ImageManifest } from '../../functions/core/oci/types';
import { blobKey, type BlobStore } from '../../functions/storage/blob-store';
import type { UpstreamPuller } from './base-images';
import { pickPlatform } from './registry-images';

const ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST].join(', ');

export interface UpstreamOptions {
  db: Db;
  blobs: BlobStore;
  /** Where docker.io references are pulled from, e.g. https://registry-1.docker.io. */
  dockerHubUrl?: string;
  /** Other registries named in references are pulled directly; these hosts over plain HTTP. */
  insecureHosts?: string[];
  fetch?: typeof fetch;
}

export class UpstreamError extends Error {
  override name = 'UpstreamError';
}

function baseUrl(ref: ImageReference, o: UpstreamOptions): string | undefined {
  if (ref.registry === 'docker.io') return o.dockerHubUrl?.replace(/\/$/, '');
  const insecure = o.insecureHosts?.includes(ref.registry) || /^(localhost|127\.)/.test(ref.registry);
  return `${insecure ? 'http' : 'https'}://${ref.registry}`;
}

/** A client for one repository, with anonymous Bearer tokens when the registry asks for them. */
class RepositoryClient {
  private token?: string;
  constructor(
    private readonly base: string,
    private readonly repository: string,
    private readonly f: typeof fetch,
  ) {}

  private async authenticate(challenge: string): Promise<void> {
    const m = /^Bearer\s+(.*)$/i.exec(challenge);
    if (!m) throw new UpstreamError(`Cannot pull from ${this.base}: it asks for "${challenge.split(' ')[0]}" authentication`);
    const params = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (!params.realm) throw new UpstreamError(`Cannot pull from ${this.base}: its token challenge has no realm`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${this.repository}:pull`);
    const res = await this.f(url);
    if (!res.ok) throw new UpstreamError(`Cannot get a pull token from ${url.host}: HTTP ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    this.token = body.token ?? body.access_token;
  }

  async get(path: string, accept?: string, signal?: AbortSignal): Promise<Response> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      const res = await this.f(`${this.base}/v2/${this.repository}/${path}`, { headers, redirect: 'follow', signal });
      if (res.status === 401 && attempt === 0 && res.headers.get('www-authenticate')) {
        await res.body?.cancel();
        await this.authenticate(res.headers.get('www-authenticate')!);
        continue;
      }
      return res;
    }
    throw new UpstreamError(`Cannot pull ${this.repository} from ${this.base}: unauthorized`);
  }
}

async function copyBlob(client: RepositoryClient, o: UpstreamOptions, desc: { digest: string; size: number; mediaType: string }, diffId?: string, signal?: AbortSignal): Promise<void> {
  const key = blobKey(desc.digest);
  if (!(await o.blobs.stat(key))) {
    const res = await client.get(`blobs/${desc.digest}`, undefined, signal);
    if (!res.ok || !res.body) throw new UpstreamError(`Cannot pull blob ${desc.digest}: HTTP ${res.status}`);
    // Small blobs are verified before they are stored; layers are verified as they stream through.
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length !== desc.size) throw new UpstreamError(`Cannot pull blob ${desc.digest}: got ${bytes.length} bytes, expected ${desc.size}`);
    const got = await computeDigest(bytes);
    if (got !== desc.digest) throw new UpstreamError(`Cannot pull blob ${desc.digest}: its content has digest ${got}`);
    await o.blobs.put(key, bytes, bytes.length, desc.mediaType);
  }
  await recordBlob(o.db, { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, diffId: diffId ?? null });
}

export function createUpstreamPuller(o: UpstreamOptions): UpstreamPuller {
  const f = o.fetch ?? fetch;
  return {
    async pull(ref, into, signal) {
      const base = baseUrl(ref, o);
      if (!base) return undefined;
      const client = new RepositoryClient(base, ref.repository, f);
      const wanted = ref.digest ?? ref.tag ?? 'latest';
      let res = await client.get(`manifests/${wanted}`, ACCEPT, signal);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new UpstreamError(`Cannot pull ${ref.repository}:${wanted} from ${base}: HTTP ${res.status}`);
      let bytes = new Uint8Array(await res.arrayBuffer());
      let doc = JSON.parse(new TextDecoder().decode(bytes)) as ImageManifest | ImageIndex;
      let mediaType = res.headers.get('content-type')?.split(';')[0] ?? doc.mediaType ?? OCI_MANIFEST;
      if (isIndexMediaType(mediaType) || 'manifests' in doc) {
        const picked = pickPlatform(doc as ImageIndex);
        if (!picked) throw new UpstreamError(`Cannot pull ${ref.repository}:${wanted}: no linux/amd64 image in its index`);
        res = await client.get(`manifests/${picked.digest}`, ACCEPT, signal);
        if (!res.ok) throw new UpstreamError(`Cannot pull manifest ${picked.digest}: HTTP ${res.status}`);
        bytes = new Uint8Array(await res.arrayBuffer());
        doc = JSON.parse(new TextDecoder().decode(bytes)) as ImageManifest;
        mediaType = res.headers.get('content-type')?.split(';')[0] ?? doc.mediaType ?? OCI_MANIFEST;
      }
      const manifest = doc as ImageManifest;
      const digest = await computeDigest(bytes);
      if (ref.digest && !isIndexMediaType(mediaType) && digest !== ref.digest && wanted === ref.digest) {
        throw new UpstreamError(`Cannot pull ${ref.repository}@${ref.digest}: the registry sent a manifest with digest ${digest}`);
      }
      await copyBlob(client, o, manifest.config, undefined, signal);
      const configBytes = await o.blobs.getBytes(blobKey(manifest.config.digest));
      const config = JSON.parse(new TextDecoder().decode(configBytes)) as { rootfs?: { diff_ids?: string[] } };
      const diffIds = config.rootfs?.diff_ids ?? [];
      for (const [i, layer] of manifest.layers.entries()) await copyBlob(client, o, layer, diffIds[i], signal);
      await o.blobs.put(blobKey(digest), bytes, bytes.length, mediaType);
      await recordBlob(o.db, { digest, size: bytes.length, mediaType });
      const repo = await ensureRepository(o.db, into.accountId, into.repository);
      for (const d of [...new Set([manifest.config.digest, ...manifest.layers.map((l) => l.digest)])].sort()) await linkBlob(o.db, repo.id, d);
      await putManifest(o.db, {
        repositoryId: repo.id,
        digest,
        mediaType,
        size: bytes.length,
        references: [{ digest: manifest.config.digest, kind: 'config' }, ...manifest.layers.map((l) => ({ digest: l.digest, kind: 'layer' as const }))],
      });
      if (ref.tag && !ref.digest) await setTag(o.db, repo.id, ref.tag, digest);
      return digest;
    },
  };
}
