// Real-client round trips: skopeo pushes OCI layouts built here and pulls them back with the same
// digests, inspects, deletes, and is refused with a wrong token or in another account's namespace.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { findAccountByName } from '../../../db/queries/accounts';
import { ensureRepository, linkBlob, putManifest, recordBlob, setTag } from '../../../db/queries/registry';
import { blobKey, BlobStore } from '../../../functions/storage/blob-store';
import { createTestAccount, startTestRegistry, type TestRegistry } from './harness';
import { OciLayout } from './oci-layout';
import { pullArgs, pushArgs, skopeo } from './skopeo';

const stack = inject('stack');
let reg: TestRegistry;
let work: string;
const admin = () => `admin:${stack.adminToken}`;
const suffix = crypto.randomUUID().slice(0, 8);

beforeAll(async () => {
  reg = await startTestRegistry(stack);
  work = mkdtempSync(join(tmpdir(), 'berth-skopeo-'));
});
afterAll(async () => {
  await reg.close();
  rmSync(work, { recursive: true, force: true });
});

function indexDigests(dir: string): string[] {
  const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  return idx.manifests.map((m) => m.digest);
}

describe('skopeo against the registry', () => {
  it('pushes and pulls an image and a multi-platform index keeping digests; inspects and deletes', async () => {
    const layout = new OciLayout(join(work, 'src'));
    const image = layout.addImage([300_000, 1_000, 70_000]);
    layout.tag(image, 'img');
    const index = layout.addIndex(
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux' },
      ],
      200_000,
    );
    layout.tag(index, 'multi');
    const repo = `${reg.host}/admin/skopeo-${suffix}`;
    for (const tag of ['img', 'multi']) {
      const push = await skopeo(pushArgs(`oci:${layout.dir}:${tag}`, `docker://${repo}:${tag}`, admin()));
      expect(push.stderr).toBe('');
      expect(push.code).toBe(0);
      const dest = join(work, `pulled-${tag}`);
      const pull = await skopeo(pullArgs(`docker://${repo}:${tag}`, `oci:${dest}:${tag}`, admin()));
      expect(pull.code, pull.stderr).toBe(0);
      expect(indexDigests(dest)).toEqual([tag === 'img' ? image.digest : index.digest]);
    }
    const inspect = await skopeo(['inspect', '--tls-verify=false', '--creds', admin(), `docker://${repo}:img`]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ Digest: image.digest, Architecture: 'amd64', Os: 'linux' });
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', admin(), `docker://${repo}:multi`]);
    expect(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`).toBe(index.digest);
    const tags = await skopeo(['list-tags', '--tls-verify=false', '--creds', admin(), `docker://${repo}`]);
    expect(JSON.parse(tags.stdout).Tags).toEqual(['img', 'multi']);
    const del = await skopeo(['delete', '--tls-verify=false', '--creds', admin(), `docker://${repo}:img`]);
    expect(del.code, del.stderr).toBe(0);
    const after = await skopeo(['inspect', '--tls-verify=false', '--creds', admin(), `docker://${repo}:img`]);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/manifest unknown/i);
  });

  it('is refused with a wrong token, in another account, and anonymously', async () => {
    const layout = new OciLayout(join(work, 'small'));
    layout.tag(layout.addImage([1000]), 'v1');
    const wrong = await skopeo(pushArgs(`oci:${layout.dir}:v1`, `docker://${reg.host}/admin/refused-${suffix}:v1`, 'admin:berth_wrong'));
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|authentication/i);
    const stranger = await createTestAccount(reg.platform, 'sk');
    const intoAdmin = await skopeo(pushArgs(`oci:${layout.dir}:v1`, `docker://${reg.host}/admin/refused-${suffix}:v1`, `${stranger.name}:${stranger.token}`));
    expect(intoAdmin.code).not.toBe(0);
    expect(intoAdmin.stderr).toMatch(/denied/i);
    // Pushing into their own namespace works; admin's private image stays invisible to them.
    const own = await skopeo(pushArgs(`oci:${layout.dir}:v1`, `docker://${reg.host}/${stranger.name}/mine:v1`, `${stranger.name}:${stranger.token}`));
    expect(own.code, own.stderr).toBe(0);
    await skopeo(pushArgs(`oci:${layout.dir}:v1`, `docker://${reg.host}/admin/private-${suffix}:v1`, admin()));
    const peek = await skopeo(['inspect', '--tls-verify=false', '--creds', `${stranger.name}:${stranger.token}`, `docker://${reg.host}/admin/private-${suffix}:v1`]);
    expect(peek.code).not.toBe(0);
    expect(peek.stderr).toMatch(/name unknown|not found|unknown/i);
    const anon = await skopeo(pullArgs(`docker://${reg.host}/admin/private-${suffix}:v1`, `oci:${join(work, 'anon')}:v1`));
    expect(anon.code).not.toBe(0);
    expect(anon.stderr).toMatch(/unauthorized|authentication required/i);
  });

  it("pulls an image written the builder's way (S3 objects + registry rows) as it is", async () => {
    const layout = new OciLayout(join(work, 'built'));
    const image = layout.addImage([400_000, 3000]);
    const read = (digest: string) => readFileSync(join(layout.dir, 'blobs', 'sha256', digest.slice(7)));
    const manifest = JSON.parse(read(image.digest).toString()) as { config: { digest: string }; layers: { digest: string }[] };
    const db = reg.platform.db;
    const store = new BlobStore(reg.platform.s3, reg.platform.bucket);
    const owner = await findAccountByName(db, 'admin');
    const repo = await ensureRepository(db, owner!.id, `admin/built-${suffix}`);
    for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest), image.digest]) {
      const bytes = read(digest);
      await store.put(blobKey(digest), bytes, bytes.length);
      await recordBlob(db, { digest, size: bytes.length });
      await linkBlob(db, repo.id, digest);
    }
    await putManifest(db, {
      repositoryId: repo.id,
      digest: image.digest,
      mediaType: image.mediaType,
      size: image.size,
      references: [{ digest: manifest.config.digest, kind: 'config' }, ...manifest.layers.map((l) => ({ digest: l.digest, kind: 'layer' as const }))],
    });
    await setTag(db, repo.id, 'latest', image.digest);
    const dest = join(work, 'built-pulled');
    const pull = await skopeo(pullArgs(`docker://${reg.host}/admin/built-${suffix}:latest`, `oci:${dest}:latest`, admin()));
    expect(pull.code, pull.stderr).toBe(0);
    expect(indexDigests(dest)).toEqual([image.digest]);
    for (const l of manifest.layers) expect(readFileSync(join(dest, 'blobs', 'sha256', l.digest.slice(7))).equals(read(l.digest))).toBe(true);
  });

  it('pulls through presigned S3 redirects when configured', async () => {
    const redirecting = await startTestRegistry(stack, { redirect: true });
    onTestFinished(() => redirecting.close());
    const layout = new OciLayout(join(work, 'redirect'));
    const image = layout.addImage([2 << 20, 5000]);
    layout.tag(image, 'r');
    const ref = `docker://${redirecting.host}/admin/redirect-${suffix}:r`;
    expect((await skopeo(pushArgs(`oci:${layout.dir}:r`, ref, admin()))).code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(layout.dir, 'blobs', 'sha256', image.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    const blob = manifest.layers[0]!.digest;
    const res = await fetch(`${redirecting.url}/v2/admin/redirect-${suffix}/blobs/${blob}`, { headers: { authorization: `Basic ${btoa(admin())}` }, redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toMatch(new RegExp(`^${stack.env.S3_ENDPOINT}/.+X-Amz-Signature=[0-9a-f]{64}$`));
    const dest = join(work, 'redirect-pulled');
    const pull = await skopeo(pullArgs(ref, `oci:${dest}:r`, admin()));
    expect(pull.code, pull.stderr).toBe(0);
    expect(indexDigests(dest)).toEqual([image.digest]);
  });

  it('redirects only clients on this machine when redirects are local, the Node entry default', async () => {
    const local = await startTestRegistry(stack, { redirect: 'local' });
    onTestFinished(() => local.close());
    const layout = new OciLayout(join(work, 'local-redirect'));
    const image = layout.addImage([1 << 20]);
    layout.tag(image, 'l');
    const ref = `docker://${local.host}/admin/local-${suffix}:l`;
    expect((await skopeo(pushArgs(`oci:${layout.dir}:l`, ref, admin()))).code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(layout.dir, 'blobs', 'sha256', image.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const get = (url: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/v2/admin/local-${suffix}/blobs/${manifest.layers[0]!.digest}`, { headers: { authorization: `Basic ${btoa(admin())}`, ...headers }, redirect: 'manual' });
    expect((await get(local.url)).status).toBe(307);
    expect((await get(local.url.replace('127.0.0.1', 'localhost'))).status).toBe(307);
    // A config-sized blob is streamed: one request instead of two.
    const config = await fetch(`${local.url}/v2/admin/local-${suffix}/blobs/${manifest.config.digest}`, { headers: { authorization: `Basic ${btoa(admin())}` }, redirect: 'manual' });
    expect(config.status).toBe(200);
    expect(Buffer.from(await config.arrayBuffer()).equals(readFileSync(join(layout.dir, 'blobs', 'sha256', manifest.config.digest.slice(7))))).toBe(true);
    // A proxy on this machine forwarding someone else's request: they could not reach 127.0.0.1.
    const proxied = await get(local.url, { 'x-forwarded-for': '203.0.113.9' });
    expect(proxied.status).toBe(200);
    expect(Buffer.from(await proxied.arrayBuffer()).equals(readFileSync(join(layout.dir, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7))))).toBe(true);
    const published = await startTestRegistry(stack, { redirect: 'local', publicUrl: 'https://registry.example.com' });
    onTestFinished(() => published.close());
    expect((await get(published.url)).status).toBe(200);
    const pull = await skopeo(pullArgs(ref, `oci:${join(work, 'local-pulled')}:l`, admin()));
    expect(pull.code, pull.stderr).toBe(0);
    expect(indexDigests(join(work, 'local-pulled'))).toEqual([image.digest]);
  });

  it('round-trips a ~200 MB image', async () => {
    const layout = new OciLayout(join(work, 'big'));
    const image = layout.addImage([90 << 20, 70 << 20, 40 << 20]);
    layout.tag(image, 'big');
    const repo = `${reg.host}/admin/big-${suffix}`;
    const t0 = performance.now();
    const push = await skopeo(pushArgs(`oci:${layout.dir}:big`, `docker://${repo}:big`, admin()));
    const t1 = performance.now();
    expect(push.code, push.stderr).toBe(0);
    const dest = join(work, 'big-pulled');
    const pull = await skopeo(pullArgs(`docker://${repo}:big`, `oci:${dest}:big`, admin()));
    const t2 = performance.now();
    expect(pull.code, pull.stderr).toBe(0);
    expect(indexDigests(dest)).toEqual([image.digest]);
    console.log(`200 MB image: push ${((t1 - t0) / 1000).toFixed(2)} s, pull ${((t2 - t1) / 1000).toFixed(2)} s`);
  });
});
