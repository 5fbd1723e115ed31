// The reads a pull makes, answered in one query each: their errors, the manifest cache and when a
// blob HEAD refreshes the repository's link.
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findRepository } from '../../../db/queries/registry';
import { repositoryBlobs } from '../../../db/schema';
import { sharedManifestCache } from '../../../functions/registry/manifest-cache';
import { DEFAULT_REGISTRY_OPTIONS } from '../../../functions/registry/options';
import { basic, createTestAccount, sha256, startTestRegistry, type TestRegistry } from './harness';

const stack = inject('stack');
let reg: TestRegistry;
let me: { name: string; token: string };
let auth: string;

beforeAll(async () => {
  reg = await startTestRegistry(stack);
  me = await createTestAccount(reg.platform, 'pr');
  auth = basic(me.name, me.token);
});
afterAll(() => reg.close());

function req(path: string, init: RequestInit = {}) {
  return fetch(`${reg.url}${path}`, { ...init, headers: { authorization: auth, accept: 'application/vnd.oci.image.manifest.v1+json', ...init.headers } });
}

async function pushBlob(repo: string, data: Uint8Array<ArrayBuffer>) {
  expect((await req(`/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data })).status).toBe(201);
  return sha256(data);
}

async function errorCode(res: Response) {
  expect(res.status).toBe(404);
  return ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code;
}

async function linkAge(repo: string, digest: string): Promise<number> {
  const r = await findRepository(reg.platform.db, repo);
  const [row] = await reg.platform.db
    .select({ seconds: sql<number>`extract(epoch from now() - ${repositoryBlobs.createdAt})::float8` })
    .from(repositoryBlobs)
    .where(and(eq(repositoryBlobs.repositoryId, r!.id), eq(repositoryBlobs.digest, digest)));
  return row!.seconds;
}

async function ageLink(repo: string, digest: string, interval: string) {
  const r = await findRepository(reg.platform.db, repo);
  await reg.platform.db
    .update(repositoryBlobs)
    .set({ createdAt: sql`now() - ${interval}::interval` })
    .where(and(eq(repositoryBlobs.repositoryId, r!.id), eq(repositoryBlobs.digest, digest)));
}

describe('pull reads', () => {
  it('tell a missing repository from a missing blob or manifest, and serve a manifest only where Postgres has it', async () => {
    const holder = `${me.name}/holder`;
    const elsewhere = `${me.name}/elsewhere`;
    const missing = `${me.name}/missing`;
    const configBytes = new TextEncoder().encode(`{"n":"${crypto.randomUUID()}"}`);
    const config = await pushBlob(holder, configBytes);
    await pushBlob(elsewhere, randomBytes(10));
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configBytes.length },
      layers: [],
    });
    expect((await req(`/v2/${holder}/manifests/v1`, { method: 'PUT', body, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } })).status).toBe(201);
    const digest = sha256(body);
    // The PUT left the bytes in memory; reads by tag and digest return them verbatim.
    expect(new TextDecoder().decode(sharedManifestCache(DEFAULT_REGISTRY_OPTIONS.manifestCacheBytes).get(digest))).toBe(body);
    for (const ref of ['v1', digest]) {
      const res = await req(`/v2/${holder}/manifests/${ref}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(await res.text()).toBe(body);
    }

    for (const ref of ['v1', digest]) {
      expect(await errorCode(await req(`/v2/${elsewhere}/manifests/${ref}`))).toBe('MANIFEST_UNKNOWN');
      expect(await errorCode(await req(`/v2/${missing}/manifests/${ref}`))).toBe('NAME_UNKNOWN');
      expect((await req(`/v2/${elsewhere}/manifests/${ref}`, { method: 'HEAD' })).status).toBe(404);
    }
    expect(await errorCode(await req(`/v2/${elsewhere}/blobs/${config}`))).toBe('BLOB_UNKNOWN');
    expect(await errorCode(await req(`/v2/${missing}/blobs/${config}`))).toBe('NAME_UNKNOWN');
    const head = await req(`/v2/${missing}/blobs/${config}`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([404, '']);
  });

  it('refresh a blob link on HEAD only once it is over an hour old', async () => {
    const repo = `${me.name}/links`;
    const digest = await pushBlob(repo, randomBytes(100));
    await ageLink(repo, digest, '10 minutes');
    expect((await req(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    expect(await linkAge(repo, digest)).toBeGreaterThan(590);
    await ageLink(repo, digest, '61 minutes');
    expect((await req(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    expect(await linkAge(repo, digest)).toBeLessThan(60);
    // A GET reads without writing, whatever the link's age.
    await ageLink(repo, digest, '2 hours');
    expect((await req(`/v2/${repo}/blobs/${digest}`)).status).toBe(200);
    expect(await linkAge(repo, digest)).toBeGreaterThan(7000);
  });
});
