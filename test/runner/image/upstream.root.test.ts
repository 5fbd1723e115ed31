// FROM resolution through an upstream registry: CNCF distribution (Debian's docker-registry) holds an
// image pushed with skopeo; Berth pulls it through into S3 once, then serves it from its own registry,
// and the runner's layer store pulls the layer back from S3 with its digests verified.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { computeDigest } from '../../../functions/core/oci/digest';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from '../../../functions/core/oci/media-types';
import { BlobStore } from '../../../functions/storage/blob-store';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';
import { freePort } from '../../../infra/services';
import { resolveBaseImage, type BaseImageOptions } from '../../../runner/image/base-images';
import { LayerStore } from '../../../runner/image/layer-store';
import { writeLayer } from '../../../runner/image/layer-writer';
import { createUpstreamPuller } from '../../../runner/image/upstream-registry';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 3 });
const s3 = readS3Config(stack.env);
const blobs = new BlobStore(createS3Client(s3), s3.bucket);
const work = mkdtempSync(join(tmpdir(), 'berth-upstream-test-'));
const name = `tiny${Math.random().toString(36).slice(2, 8)}`;
let registry: ChildProcess;
let host: string;
let layerDiffId: string;

async function writeJson(dir: string, doc: unknown): Promise<{ digest: string; size: number }> {
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  const digest = await computeDigest(bytes);
  writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

beforeAll(async () => {
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  const conf = join(work, 'registry.yml');
  writeFileSync(conf, `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${join(work, 'data')} } }\nhttp: { addr: "${host}" }\n`);
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  registry = spawn('docker-registry', ['serve', conf], { env, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // A one-layer image in an OCI layout, pushed with skopeo.
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/motd'), `hello from ${name}\n`);
  const layout = join(work, 'layout');
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  const layer = await writeLayer(rootfs, join(work, 'layer.tar.gz'), { sourceDateEpoch: 1_700_000_000 });
  layerDiffId = layer.diffId;
  writeFileSync(join(layout, 'blobs/sha256', layer.digest.slice(7)), readFileSync(layer.path));
  const config = await writeJson(layout, { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: [layer.diffId] } });
  const manifest = await writeJson(layout, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers: [{ mediaType: OCI_LAYER_GZIP, digest: layer.digest, size: layer.size }] });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, ...manifest, annotations: { 'org.opencontainers.image.ref.name': '1' } }] }));
  const r = spawnSync('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${host}/library/${name}:1`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo push failed: ${r.stderr}`);
});

afterAll(async () => {
  registry?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
  await sql.end();
});

describe('upstream pull-through', () => {
  it('pulls a docker.io reference from the configured upstream once, then serves it from Berth', async () => {
    const o: BaseImageOptions = { db, blobs, ownHosts: [], upstream: createUpstreamPuller({ db, blobs, dockerHubUrl: `http://${host}` }) };
    const first = await resolveBaseImage(o, `${name}:1`);
    expect(first).toMatchObject({ kind: 'image', source: 'upstream', ref: `docker.io/library/${name}:1` });
    const again = await resolveBaseImage(o, `${name}:1`);
    expect(again).toMatchObject({ kind: 'image', source: 'registry' });
    if (first.kind !== 'image' || again.kind !== 'image') throw new Error('unreachable');
    expect(again.image.manifestDigest).toBe(first.image.manifestDigest);
    expect(first.image.layers[0]!.diffId).toBe(layerDiffId);

    const store = new LayerStore({ root: join(work, 'store'), blobs, idmap: DEFAULT_IDMAP });
    await store.open();
    const dir = await store.ensure(first.image.layers[0]!);
    expect(readFileSync(join(dir, 'etc/motd'), 'utf8')).toBe(`hello from ${name}\n`);
  });

  it('pulls a reference that names the registry itself, and says so when the image is missing', async () => {
    const o: BaseImageOptions = { db, blobs, ownHosts: [], upstream: createUpstreamPuller({ db, blobs }) };
    const r = await resolveBaseImage(o, `${host}/library/${name}:1`);
    expect(r).toMatchObject({ kind: 'image', source: 'upstream' });
    await expect(resolveBaseImage(o, `${host}/library/${name}:nope`)).rejects.toThrow(/Cannot resolve base image/);
  });
});
