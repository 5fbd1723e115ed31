import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registerRunner } from '../../../db/queries/runners';
import { builds, jobs } from '../../../db/schema';
import { newId } from '../../../functions/core/ids';
import { BlobStore, contextKey } from '../../../functions/storage/blob-store';
import { createGitContextHandler } from '../../../runner/git/git-context-job';
import { startQueueWorker } from '../../../runner/queue/worker';
import { serveGitHttpBackend } from '../../support/git-http-backend';
import { commitFiles, gitOk, initRepo, startGitServer } from './git-server';

const stack = inject('stack');
let server: Awaited<ReturnType<typeof startGitServer>>;
let forge: Awaited<ReturnType<typeof serveGitHttpBackend>>;

beforeAll(async () => {
  server = await startGitServer(stack);
  forge = await serveGitHttpBackend(join(server.work, 'forge'));
});
afterAll(async () => {
  await forge?.close();
  await server?.close();
});

const secret = 'a-shared-secret-of-some-length';

async function setWebhook(app: string, cloneUrl: string | null) {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/apps/${app}/webhooks/git`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ secret, cloneUrl }),
  });
  expect(res.status).toBe(200);
}

function deliver(app: string, body: string, headers: Record<string, string>) {
  return fetch(`http://127.0.0.1:${server.port}/api/v1/apps/${app}/webhooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe('push webhooks', () => {
  it('verifies GitHub and GitLab secrets and builds only the deploy branch', async () => {
    const app = await server.createApp({ deployBranch: 'main' });
    await setWebhook(app.name, null);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40), repository: { clone_url: 'http://127.0.0.1:1/x.git' } });
    const sign = (b: string, s = secret) => `sha256=${createHmac('sha256', s).update(b).digest('hex')}`;
    expect((await deliver(app.name, body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body, 'wrong-secret') })).status).toBe(401);
    expect((await deliver(app.name, body, { 'x-github-event': 'push' })).status).toBe(401);
    expect((await deliver(app.name, body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'nope' })).status).toBe(401);
    expect((await deliver('no-such-app', body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body) })).status).toBe(401);
    const other = JSON.stringify({ ref: 'refs/heads/feature', after: 'b'.repeat(40), repository: { clone_url: 'http://127.0.0.1:1/x.git' } });
    const ignored = await deliver(app.name, other, { 'x-github-event': 'push', 'x-hub-signature-256': sign(other) });
    expect(ignored.status).toBe(202);
    expect(await ignored.json()).toMatchObject({ ignored: expect.stringContaining('not the deploy branch') });
    const ok = await deliver(app.name, body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret });
    expect(ok.status).toBe(202);
    const { buildId } = (await ok.json()) as { buildId: string };
    const [job] = await server.db.select().from(jobs).where(eq(jobs.subjectId, buildId));
    expect(job).toMatchObject({ kind: 'git-context', payload: { buildId, fetch: { url: 'http://127.0.0.1:1/x.git', ref: 'refs/heads/main' } } });
    await server.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.id, job!.id));
    const badUrl = JSON.stringify({ ref: 'refs/heads/main', after: 'c'.repeat(40), repository: { clone_url: 'file:///etc' } });
    expect((await deliver(app.name, badUrl, { 'x-github-event': 'push', 'x-hub-signature-256': sign(badUrl) })).status).toBe(400);
  });

  it('fetches the pushed commit from the forge (git-http-backend) and materialises it on a runner', async () => {
    const app = await server.createApp({ deployBranch: 'main' });
    const src = initRepo(join(server.work, `${app.name}-upstream`), { Dockerfile: 'FROM scratch\n', 'index.html': 'v1\n' });
    const head = commitFiles(src, { 'index.html': 'v2\n' }, 'v2');
    gitOk(server.work, ['clone', '-q', '--bare', src, join(server.work, 'forge', `${app.name}.git`)]);
    await setWebhook(app.name, `${forge.url}/${app.name}.git`);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: head, repository: { clone_url: 'https://example.invalid/ignored.git' } });
    const res = await deliver(app.name, body, { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` });
    expect(res.status).toBe(202);
    const { buildId } = (await res.json()) as { buildId: string };
    const blobs = new BlobStore(server.platform.s3, server.platform.bucket);
    const runnerId = newId('run');
    await registerRunner(server.db, { id: runnerId, hostname: 'test', address: '127.0.0.1', capacity: {}, labels: server.jobLabels, version: 'test' });
    const worker = startQueueWorker({ db: server.db, runnerId, labels: server.jobLabels, handlers: { 'git-context': createGitContextHandler({ blobs, dir: join(server.work, 'runner-git') }) }, pollMinMs: 50, pollMaxMs: 200 });
    try {
      const end = Date.now() + 20_000;
      let buildJob;
      while (!buildJob && Date.now() < end) {
        [buildJob] = await server.db.select().from(jobs).where(and(eq(jobs.subjectId, buildId), eq(jobs.kind, 'build')));
        if (!buildJob) await new Promise((r) => setTimeout(r, 50));
      }
      expect(buildJob).toBeDefined();
      await server.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.id, buildJob!.id));
      const [b] = await server.db.select().from(builds).where(eq(builds.id, buildId));
      expect(b!.gitCommit).toBe(head);
      expect(await blobs.stat(contextKey(b!.contextDigest!))).toBeDefined();
    } finally {
      await worker.stop(1000);
    }
  });
});
