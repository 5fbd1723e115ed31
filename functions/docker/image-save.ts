// `docker save`: GET /images/{name}/get and /images/get?names=…, the images as one tar that both
// `docker load` and OCI tools read: an OCI image layout (oci-layout, index.json, blobs/sha256/…) with
// Docker's manifest.json beside it. Blobs are streamed from S3 as stored (layers compressed; load
// detects that), each once however many images share it.
import { Hono, type Context } from 'hono';
import type { TaggedImage } from '../../db/queries/docker-images';
import { listTaggedImages } from '../../db/queries/docker-images';
import { entryHeader, padding, TAR_END } from '../api/folder-tar';
import type { AuthEnv } from '../auth';
import { BlobStore, blobKey } from '../storage/blob-store';
import { dockerError } from './engine-errors';
import { readStoredImage } from './image-config';
import { familiarBerthName, toBerthName } from './image-names';
import { registryHost } from '../api/app-address';

const enc = new TextEncoder();
const blobPath = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

async function findForSave(c: Context<AuthEnv>, nameOrId: string): Promise<{ row: TaggedImage; tag?: string }> {
  const { account, actingAccountIds, platform } = c.var;
  const rows = await listTaggedImages(platform.db, actingAccountIds);
  const hex = nameOrId.replace(/^sha256:/, '');
  if (/^[0-9a-f]{12,64}$/.test(hex)) {
    const row = rows.find((r) => r.id.slice(7).startsWith(hex) || r.digest.slice(7).startsWith(hex));
    if (row) return { row };
  }
  let name: ReturnType<typeof toBerthName>;
  try {
    name = toBerthName(nameOrId, account.name, registryHost(platform));
  } catch {
    name = undefined;
  }
  const row = name && rows.find((r) => r.repository === name.repository && r.tag === name.tag);
  if (!row) throw dockerError(404, `No such image: ${nameOrId}`);
  return { row, tag: familiarBerthName(row.repository, row.tag, account.name) };
}

async function save(c: Context<AuthEnv>, names: string[]): Promise<Response> {
  if (names.length === 0) throw dockerError(400, 'Cannot save: name at least one image');
  if (names.length > 100) throw dockerError(400, 'Cannot save: at most 100 images at once');
  const found = await Promise.all(names.map((n) => findForSave(c, n)));
  const images = [];
  for (const f of found) {
    const stored = await readStoredImage(c.var.platform, f.row.digest);
    images.push({ ...f, stored });
  }
  const blobs = new Map<string, number>();
  const manifestJson = images.map(({ stored, tag }) => {
    blobs.set(stored.configDigest, stored.manifest.config.size);
    for (const l of stored.manifest.layers) blobs.set(l.digest, l.size);
    return { Config: blobPath(stored.configDigest), RepoTags: tag ? [tag] : [], Layers: stored.manifest.layers.map((l) => blobPath(l.digest)) };
  });
  // The layout's index points at manifests: the platform-specific one read for each image is
  // written as a blob of its own (an index's child may not be among the stored blobs' digests here).
  const manifests = await Promise.all(
    images.map(async ({ stored }) => {
      const bytes = enc.encode(JSON.stringify(stored.manifest));
      const digest = `sha256:${[...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
      return { bytes, digest };
    }),
  );
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: images.map(({ stored, tag }, i) => ({
      mediaType: stored.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
      digest: manifests[i]!.digest,
      size: manifests[i]!.bytes.length,
      ...(tag ? { annotations: { 'org.opencontainers.image.ref.name': tag.replace(/^.*:/, ''), 'io.containerd.image.name': tag } } : {}),
    })),
  };
  const store = new BlobStore(c.var.platform.s3, c.var.platform.bucket);
  const small: Array<[string, Uint8Array]> = [
    ['oci-layout', enc.encode('{"imageLayoutVersion":"1.0.0"}')],
    ['index.json', enc.encode(JSON.stringify(index))],
    ['manifest.json', enc.encode(JSON.stringify(manifestJson))],
    ...manifests.map((m): [string, Uint8Array] => [blobPath(m.digest), m.bytes]),
  ];
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const [path, bytes] of small) {
      yield entryHeader(path, bytes.length, 'file');
      yield bytes;
      yield padding(bytes.length);
    }
    for (const [digest, size] of blobs) {
      const blob = await store.get(blobKey(digest));
      if (!blob || blob.size !== size) throw new Error(`Cannot save: blob ${digest} is missing or not its recorded size`);
      yield entryHeader(blobPath(digest), size, 'file');
      const reader = blob.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        yield value;
      }
      yield padding(size);
    }
    yield TAR_END;
  }
  const it = chunks();
  // Pulled as the client reads: an image is never held whole in memory. An error cuts the tar
  // short, which is how the client learns of it once the headers are gone.
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await it.next();
        if (done) controller.close();
        else if (value.length > 0) controller.enqueue(value);
      } catch (e) {
        controller.error(e);
      }
    },
    async cancel() {
      await it.return(undefined);
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/x-tar' } });
}

export const imageSave = new Hono<AuthEnv>();

imageSave.get('/get', (c) => save(c, c.req.queries('names') ?? []));
imageSave.get('/:name{.+}/get', (c) => save(c, [c.req.param('name')]));
