// Another account's token must find nothing of the first account's: every route answers 404, the
// same as for a resource that does not exist, so ids and names leak nothing. Each route is also
// called with the owner's token, so a 404 cannot come from a broken route.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendLogLines } from '../../../db/queries/logs';
import { ensureRepository, putManifest, setTag } from '../../../db/queries/registry';
import { builds, containers, deployments } from '../../../db/schema';
import { openTestApp } from './test-client';

const t = openTestApp();
afterAll(() => t.sql.end());

let owner: { name: string; token: string; id: string };
let other: { name: string; token: string; id: string };
let app: string;
let buildId: string;
let containerId: string;
let containerName: string;
let execId: string;
let deploymentId: string;
const digest = `sha256:${'ab'.repeat(32)}`;

beforeAll(async () => {
  owner = await t.signUp('owner');
  other = await t.signUp('other');
  app = await t.createAppNamed(owner.token);
  const b = await (await t.call(owner.token, 'POST', `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM scratch\n' })).json();
  buildId = b.id;
  await appendLogLines(t.db, { kind: 'build', id: buildId }, [{ line: 'step 1' }]);
  // What the Builder leaves behind when a build succeeds: an image in the owner's repository.
  await t.db.update(builds).set({ status: 'succeeded', imageRef: `127.0.0.1:8080/${owner.name}/${app}:latest`, manifestDigest: digest }).where(eq(builds.id, buildId));
  const repo = await ensureRepository(t.db, owner.id, `${owner.name}/${app}`);
  await putManifest(t.db, { repositoryId: repo.id, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 100, references: [] });
  await setTag(t.db, repo.id, 'latest', digest);
  const d = await (await t.call(owner.token, 'POST', `/api/v1/apps/${app}/deployments`, { buildId })).json();
  deploymentId = d.id;
  const ctr = await (await t.call(owner.token, 'POST', '/api/v1/containers', { image: 'debian:bookworm', command: ['sleep', '60'] })).json();
  containerId = ctr.id;
  containerName = ctr.name;
  // A runner would have placed and started it; exec needs it running.
  await t.db.update(containers).set({ status: 'running', runnerId: null }).where(eq(containers.id, containerId));
  const ex = await (await t.call(owner.token, 'POST', `/api/v1/containers/${containerId}/exec`, { command: ['true'] })).json();
  execId = ex.id;
  await t.db.update(deployments).set({ status: 'active' }).where(eq(deployments.id, deploymentId));
});

type Call = [method: string, path: () => string, body?: unknown];
const reads: Call[] = [
  ['GET', () => `/api/v1/apps/${app}`],
  ['GET', () => `/api/v1/apps/${app}/config`],
  ['GET', () => `/api/v1/apps/${app}/secrets`],
  ['GET', () => `/api/v1/apps/${app}/builds`],
  ['GET', () => `/api/v1/apps/${app}/deployments`],
  ['GET', () => `/api/v1/apps/${app}/deployments/${deploymentId}`],
  ['GET', () => `/api/v1/builds/${buildId}`],
  ['GET', () => `/api/v1/builds/${buildId}/logs`],
  ['GET', () => `/api/v1/builds/${buildId}/logs?follow=true`],
  ['GET', () => `/api/v1/images/${owner.name}/${app}/tags`],
  ['GET', () => `/api/v1/containers/${containerId}`],
  ['GET', () => `/api/v1/containers/${containerName}`],
  ['GET', () => `/api/v1/containers/${containerId}/logs`],
  ['GET', () => `/api/v1/containers/${containerId}/exec/${execId}`],
];
const writes: Call[] = [
  ['PATCH', () => `/api/v1/apps/${app}/config`, { instances: 3 }],
  ['PATCH', () => `/api/v1/apps/${app}/secrets`, { secrets: { X: 'y' } }],
  ['POST', () => `/api/v1/apps/${app}/builds`, { dockerfile: 'FROM scratch\n' }],
  ['POST', () => `/api/v1/apps/${app}/deployments`, { image: 'nginx' }],
  ['POST', () => `/api/v1/apps/${app}/rollback`, {}],
  ['POST', () => `/api/v1/builds/${buildId}/cancel`],
  ['POST', () => `/api/v1/containers/${containerId}/exec`, { command: ['id'] }],
  ['POST', () => `/api/v1/containers/${containerId}/stop`],
  ['POST', () => `/api/v1/containers/${containerId}/kill`],
  ['DELETE', () => `/api/v1/containers/${containerId}?force=true`],
  ['DELETE', () => `/api/v1/apps/${app}`],
];

describe('tenancy', () => {
  it.each(reads)('%s %s: 404 for another account, 200 for the owner', async (method, path) => {
    const res = await t.call(other.token, method, path());
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
    const mine = await t.call(owner.token, method, path());
    expect(mine.status).toBe(200);
    await mine.body?.cancel();
  });

  it.each(writes)('%s %s: 404 for another account', async (method, path, body) => {
    const res = await t.call(other.token, method, path(), body);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });

  it('lists hold none of the first account’s resources', async () => {
    for (const path of ['/api/v1/apps', '/api/v1/builds', '/api/v1/images', '/api/v1/containers?all=true']) {
      const body = await (await t.call(other.token, 'GET', path)).json();
      expect(body.items, path).toEqual([]);
      const mine = await (await t.call(owner.token, 'GET', path)).json();
      expect(mine.items.length, path).toBeGreaterThan(0);
    }
  });

  it('a deployment from another account’s build is refused as not found', async () => {
    const mineApp = await t.createAppNamed(other.token);
    const res = await t.call(other.token, 'POST', `/api/v1/apps/${mineApp}/deployments`, { buildId });
    expect(res.status).toBe(404);
  });

  it('an organisation member sees the organisation’s apps; a non-member does not', async () => {
    const org = `org-${t.suffix()}`;
    expect((await t.call(owner.token, 'POST', '/api/v1/account/organizations', { name: org })).status).toBe(201);
    const res = await t.call(owner.token, 'POST', '/api/v1/apps', { name: `oa-${t.suffix()}`, owner: org });
    expect(res.status).toBe(201);
    const orgApp = (await res.json()).name;
    expect((await t.call(other.token, 'GET', `/api/v1/apps/${orgApp}`)).status).toBe(404);
    expect((await t.call(owner.token, 'PUT', `/api/v1/account/organizations/${org}/members`, { user: other.name })).status).toBe(200);
    expect((await t.call(other.token, 'GET', `/api/v1/apps/${orgApp}`)).status).toBe(200);
    // Members cannot add members; and nobody creates apps under an organisation they are not in.
    expect((await t.call(other.token, 'PUT', `/api/v1/account/organizations/${org}/members`, { user: owner.name })).status).toBe(403);
    const third = await t.signUp('third');
    expect((await t.call(third.token, 'POST', '/api/v1/apps', { name: `x-${t.suffix()}`, owner: org })).status).toBe(404);
  });
});
