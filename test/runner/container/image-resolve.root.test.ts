// From a reference in Berth's registry to layer dirs on the runner: manifest and config read from S3
// and verified, the layer pulled once into the layer store, USER names resolved from the image's own
// /etc/passwd. A second resolve on the same runner needs S3 for nothing.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { ensureRepository, putManifest, setTag } from '../../../db/queries/registry';
import { accounts } from '../../../db/schema';
import { BlobStore, blobKey } from '../../../functions/storage/blob-store';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';
import { buildContainerPlan } from '../../../runner/container/config';
import { resolveImage } from '../../../runner/container/image-resolve';
import { LayerStore } from '../../../runner/image/layer-store';
import { writeLayer } from '../../../runner/image/layer-writer';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 2 });
const s3 = readS3Config(stack.env);
const blobs = new BlobStore(createS3Client(s3), s3.bucket);
const suffix = randomBytes(4).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'berth-image-resolve-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await sql.end();
});

const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function putJson(value: unknown): Promise<{ digest: string; size: number; bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const digest = sha(bytes);
  await blobs.put(blobKey(digest), bytes, bytes.length);
  return { digest, size: bytes.length, bytes };
}

describe('resolveImage', () => {
  it('pulls an image of the registry once and resolves its user', async () => {
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    writeFileSync(join(tree, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    writeFileSync(join(tree, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
    writeFileSync(join(tree, 'hello.txt'), `hello ${suffix}\n`);
    const layer = await writeLayer(tree, join(dir, 'layer.tar.gz'), { level: 1 });
    await blobs.put(blobKey(layer.digest), new Uint8Array(readFileSync(layer.path)), layer.size);
    const config = await putJson({ architecture: 'amd64', os: 'linux', config: { User: 'app', Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [layer.diffId] } });
    const manifest = await putJson({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
    });
    await db.insert(accounts).values({ id: `acc_ir_${suffix}`, name: `ir-${suffix}` });
    const repo = await ensureRepository(db, `acc_ir_${suffix}`, `ir-${suffix}/img`);
    await putManifest(db, {
      repositoryId: repo.id,
      digest: manifest.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: manifest.size,
      references: [
        { digest: config.digest, kind: 'config' },
        { digest: layer.digest, kind: 'layer' },
      ],
    });
    await setTag(db, repo.id, 'v1', manifest.digest);

    const layers = new LayerStore({ root: join(dir, 'store'), blobs, idmap: DEFAULT_IDMAP });
    await layers.open();
    const image = await resolveImage({ db, blobs, layers }, `127.0.0.1:8080/ir-${suffix}/img:v1`, null);
    expect([image.manifestDigest, image.diffIds]).toEqual([manifest.digest, [layer.diffId]]);
    expect(readFileSync(join(image.lowerDirs[0]!, 'hello.txt'), 'utf8')).toBe(`hello ${suffix}\n`);
    const plan = buildContainerPlan(image.config.config, {}, image.files, 'h');
    expect([plan.uid, plan.gid, plan.env]).toEqual([1000, 1000, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'HOME=/home/app']]);

    // The same image again, with S3 unreachable: everything comes from the runner.
    const offline = new BlobStore(createS3Client({ ...s3, endpoint: 'http://127.0.0.1:9' }), s3.bucket);
    const again = await resolveImage({ db, blobs: offline, layers: new LayerStore({ root: join(dir, 'store'), blobs: offline, idmap: DEFAULT_IDMAP }) }, `127.0.0.1:8080/ir-${suffix}/img:v1`, null);
    expect(again.lowerDirs).toEqual(image.lowerDirs);

    await expect(resolveImage({ db, blobs, layers }, `127.0.0.1:8080/ir-${suffix}/img:nope`, null)).rejects.toThrow(`no tag "nope" in "ir-${suffix}/img"`);
    await expect(resolveImage({ db, blobs, layers }, `127.0.0.1:8080/ir-${suffix}/missing:v1`, null)).rejects.toThrow(`no repository "ir-${suffix}/missing"`);
  });
});
