// Garbage collection against the real Postgres and S3 server: only old, unreferenced blobs go.
import { randomBytes } from 'node:crypto';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findBlob } from '../../../db/queries/registry';
import { blobs, buildCache, repositoryBlobs, uploads } from '../../../db/schema';
import { collectGarbage } from '../../../functions/registry/gc';
import { blobKey, BlobStore } from '../../../functions/storage/blob-store';
import { basic, createTestAccount, sha256, startTestRegistry, type TestRegistry } from './harness';

const stack = inject('stack');
let reg: TestRegistry;
let auth: string;
let name: string;

beforeAll(async () => {
  reg = await startTestRegistry(stack);
  const me = await createTestAccount(reg.platform, 'gc');
  auth = basic(me.name, me.token);
  name = me.name;
});
afterAll(() => reg.close());

const HOUR = 3600_000;

async function push(repo: string, data: Uint8Array<ArrayBuffer>) {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data, headers: { authorization: auth } });
  expect(res.status).toBe(201);
  return sha256(data);
}

/** Makes these blobs and their links look two days old. */
async function age(digests: string[]) {
  const db = reg.platform.db;
  await db.update(blobs).set({ createdAt: sql`now() - interval '2 days'` }).where(inArray(blobs.digest, digests));
  await db.update(repositoryBlobs).set({ createdAt: sql`now() - interval '2 days'` }).where(inArray(repositoryBlobs.digest, digests));
}

async function inS3(digest: string) {
  return (await new BlobStore(reg.platform.s3, reg.platform.bucket).stat(blobKey(digest))) !== undefined;
}

describe('registry garbage collection', () => {
  it('sweeps old unreferenced blobs and keeps referenced, cached, touched and young ones', async () => {
    const repo = `${name}/app`;
    const orphan = await push(repo, randomBytes(100));
    const touched = await push(repo, randomBytes(100));
    const cached = await push(repo, randomBytes(100));
    const young = await push(repo, randomBytes(100));
    const config = await push(repo, new TextEncoder().encode(`{"n":"${crypto.randomUUID()}"}`));
    const layer = await push(repo, randomBytes(300));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: (await findBlob(reg.platform.db, config))!.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: 300 }],
    });
    expect((await fetch(`${reg.url}/v2/${repo}/manifests/v1`, { method: 'PUT', body: manifest, headers: { authorization: auth } })).status).toBe(201);
    await reg.platform.db.insert(buildCache).values({ key: `gc-test-${crypto.randomUUID()}`, layerDigest: cached });
    await age([orphan, touched, cached, config, layer, sha256(manifest)]);
    // A push asking about a blob refreshes its link: it is about to be referenced.
    expect((await fetch(`${reg.url}/v2/${repo}/blobs/${touched}`, { method: 'HEAD', headers: { authorization: auth } })).status).toBe(200);

    const first = await collectGarbage(reg.platform, { graceMs: HOUR });
    expect(first.blobsSwept).toContain(orphan);
    for (const kept of [touched, cached, young, config, layer, sha256(manifest)]) expect(first.blobsSwept).not.toContain(kept);
    expect(await findBlob(reg.platform.db, orphan)).toBeUndefined();
    expect(await inS3(orphan)).toBe(false);
    expect(await inS3(layer)).toBe(true);
    const pulled = await fetch(`${reg.url}/v2/${repo}/blobs/${layer}`, { headers: { authorization: auth } });
    expect(pulled.status).toBe(200);

    // Once the manifest is deleted its blobs are unreferenced and go too.
    expect((await fetch(`${reg.url}/v2/${repo}/manifests/${sha256(manifest)}`, { method: 'DELETE', headers: { authorization: auth } })).status).toBe(202);
    const second = await collectGarbage(reg.platform, { graceMs: HOUR });
    expect(second.blobsSwept).toEqual(expect.arrayContaining([config, layer]));
    expect(await inS3(layer)).toBe(false);
    expect(second.blobsSwept).not.toContain(young);
    expect(await inS3(young)).toBe(true);
  });

  it('abandons idle uploads and their S3 state', async () => {
    const repo = `${name}/idle`;
    const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    const loc = start.headers.get('location')!;
    await fetch(`${reg.url}${loc}`, { method: 'PATCH', body: randomBytes(1000), headers: { authorization: auth } });
    const id = start.headers.get('docker-upload-uuid')!;
    await reg.platform.db.update(uploads).set({ updatedAt: sql`now() - interval '3 days'` }).where(inArray(uploads.id, [id]));
    const report = await collectGarbage(reg.platform, { graceMs: HOUR, uploadTtlMs: 2 * 24 * HOUR });
    expect(report.uploadsAbandoned).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${reg.url}${loc}`, { headers: { authorization: auth } })).status).toBe(404);
  });

  it('runs through the admin endpoint for administrators only', async () => {
    const denied = await fetch(`${reg.url}/v2/_berth/gc`, { method: 'POST', headers: { authorization: auth } });
    expect(denied.status).toBe(403);
    const ok = await fetch(`${reg.url}/v2/_berth/gc?grace=86400`, { method: 'POST', headers: { authorization: basic('admin', stack.adminToken) } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ blobsSwept: expect.any(Number) });
  });
});
