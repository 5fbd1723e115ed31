// A push to the deploy branch queues a build and streams it. The build's runner is played by the
// test (it writes the log lines and the status a runner writes), so this runs without the builder.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appendLogLines } from '../../../db/queries/logs';
import { registerRunner } from '../../../db/queries/runners';
import { newId } from '../../../functions/core/ids';
import { BlobStore, contextKey } from '../../../functions/storage/blob-store';
import { createGitContextHandler } from '../../../runner/git/git-context-job';
import { startQueueWorker } from '../../../runner/queue/worker';
import { builds, deployments, jobs } from '../../../db/schema';
import { createDeployment } from '../../../db/queries/deployments';
import { commitFiles, git, gitOk, initRepo, startGitServer } from './git-server';

const stack = inject('stack');
let server: Awaited<ReturnType<typeof startGitServer>>;

beforeAll(async () => {
  server = await startGitServer(stack);
});
afterAll(() => server?.close());

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function buildOf(appId: string, commit: string) {
  return waitFor('the build', async () => {
    const [b] = await server.db.select().from(builds).where(and(eq(builds.appId, appId), eq(builds.gitCommit, commit)));
    return b;
  });
}

describe('push to the deploy branch', () => {
  it('queues a build of the commit, streams its steps live and ends with the address', async () => {
    const app = await server.createApp({ deployBranch: 'main' });
    const dir = initRepo(join(server.work, `${app.name}-deploy`), { Dockerfile: 'FROM scratch\nCOPY . /\n' });
    const head = gitOk(dir, ['rev-parse', 'HEAD']).trim();
    let sawStepEarly = false;
    let finished = false;
    const push = git(dir, ['push', server.url(app.name), 'main'], {}, (stderr) => {
      if (stderr.includes('remote: Step 1/2 : FROM scratch') && !finished) sawStepEarly = true;
    });
    const build = await buildOf(app.id, head);
    expect(build).toMatchObject({ source: 'git', gitRef: 'refs/heads/main', deployOnSuccess: true, status: 'queued', contextDigest: null });
    const repo = `127.0.0.1:${server.port}/admin/${app.name}`;
    expect(build.tags).toEqual([`${repo}:latest`, `${repo}:git-${head.slice(0, 12)}`]);
    const [job] = await server.db.select().from(jobs).where(eq(jobs.subjectId, build.id));
    expect(job!.kind).toBe('git-context');
    expect(job!.requiredLabels).toEqual(server.jobLabels);
    await server.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.subjectId, build.id));
    await server.db.update(builds).set({ status: 'running' }).where(eq(builds.id, build.id));
    await appendLogLines(server.db, { kind: 'build', id: build.id }, [{ line: 'Step 1/2 : FROM scratch' }]);
    await waitFor('the first step on the push', async () => (sawStepEarly ? true : undefined));
    await appendLogLines(server.db, { kind: 'build', id: build.id }, [{ line: 'Step 2/2 : COPY . /' }]);
    finished = true;
    await server.db.update(builds).set({ status: 'succeeded', imageRef: `admin/${app.name}:latest`, finishedAt: new Date() }).where(eq(builds.id, build.id));
    // The deployment the build's deploy step starts, played by the test as well.
    await createDeployment(server.db, { appId: app.id, buildId: build.id, imageRef: `admin/${app.name}:latest`, manifestDigest: null, config: {} });
    await server.db.update(deployments).set({ status: 'active' }).where(eq(deployments.buildId, build.id));
    const r = await push;
    expect(r.stderr).toContain('remote: Step 2/2 : COPY . /');
    expect(r.stderr).toContain(`remote: Built admin/${app.name}:latest`);
    expect(r.stderr).toMatch(new RegExp(`remote: Deployed to \\S*${app.name}\\S* \\(deployment 1\\)`));
    expect(r.status).toBe(0);
  });

  it('fails the push when the build fails, with the ref still recorded; other branches do not build', async () => {
    const app = await server.createApp({ deployBranch: 'main' });
    const dir = initRepo(join(server.work, `${app.name}-fail`), { Dockerfile: 'FROM scratch\nRUN false\n' });
    const other = await git(dir, ['push', server.url(app.name), 'main:refs/heads/feature']);
    expect(other.status).toBe(0);
    expect(await server.db.select().from(builds).where(eq(builds.appId, app.id))).toEqual([]);
    const head = commitFiles(dir, { 'x.txt': 'x\n' }, 'break');
    const push = git(dir, ['push', server.url(app.name), 'main']);
    const build = await buildOf(app.id, head);
    await server.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.subjectId, build.id));
    await appendLogLines(server.db, { kind: 'build', id: build.id }, [{ line: 'Step 2/2 : RUN false' }]);
    await server.db.update(builds).set({ status: 'failed', error: 'RUN false exited with 1', finishedAt: new Date() }).where(eq(builds.id, build.id));
    const r = await push;
    expect(r.stderr).toContain('remote: Step 2/2 : RUN false');
    expect(r.stderr).toContain(`Build ${build.id} failed: RUN false exited with 1`);
    expect(r.status).not.toBe(0);
    const remote = (await git(dir, ['ls-remote', server.url(app.name)])).stdout;
    expect(remote).toContain(`${head}\trefs/heads/main`);
  });
});

describe('a client that hangs up', () => {
  it('survives the client hanging up mid-build and serves the next request', async () => {
    const app = await server.createApp({ deployBranch: 'main' });
    const dir = initRepo(join(server.work, `${app.name}-hangup`), { Dockerfile: 'FROM scratch\n' });
    const head = gitOk(dir, ['rev-parse', 'HEAD']).trim();
    const child = spawn('git', ['push', server.url(app.name), 'main'], { cwd: dir, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' } });
    const build = await buildOf(app.id, head);
    await server.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.subjectId, build.id));
    await appendLogLines(server.db, { kind: 'build', id: build.id }, [{ line: 'Step 1/1 : FROM scratch' }]);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // More output after the hang-up, then the end: nothing may throw in the server.
    await appendLogLines(server.db, { kind: 'build', id: build.id }, [{ line: 'after the hang-up' }]);
    await server.db.update(builds).set({ status: 'failed', error: 'stopped', finishedAt: new Date() }).where(eq(builds.id, build.id));
    await new Promise((r) => setTimeout(r, 500));
    const again = await git(dir, ['ls-remote', server.url(app.name)]);
    expect(again.stdout).toContain(`${head}\trefs/heads/main`);
  });
});

describe('the git-context job on a runner', () => {
  it('materialises the pushed commit, queues the build job, and fails the build of a commit without its Dockerfile', async () => {
    const app = await server.createApp({ deployBranch: 'main' });
    const blobs = new BlobStore(server.platform.s3, server.platform.bucket);
    const runnerId = newId('run');
    await registerRunner(server.db, { id: runnerId, hostname: 'test', address: '127.0.0.1', capacity: {}, labels: server.jobLabels, version: 'test' });
    const worker = startQueueWorker({ db: server.db, runnerId, labels: server.jobLabels, handlers: { 'git-context': createGitContextHandler({ blobs, dir: join(server.work, 'runner-git') }) }, pollMinMs: 50, pollMaxMs: 200 });
    try {
      const dir = initRepo(join(server.work, `${app.name}-job`), { Dockerfile: 'FROM scratch\n', 'a.txt': 'a\n' });
      const head = gitOk(dir, ['rev-parse', 'HEAD']).trim();
      const push = git(dir, ['push', server.url(app.name), 'main']);
      const build = await buildOf(app.id, head);
      const buildJob = await waitFor('the build job', async () => {
        const [j] = await server.db.select().from(jobs).where(and(eq(jobs.subjectId, build.id), eq(jobs.kind, 'build')));
        return j;
      });
      await server.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.id, buildJob.id));
      const [ready] = await server.db.select().from(builds).where(eq(builds.id, build.id));
      expect(ready!.contextDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await blobs.stat(contextKey(ready!.contextDigest!))).toBeDefined();
      await server.db.update(builds).set({ status: 'succeeded', finishedAt: new Date() }).where(eq(builds.id, build.id));
      const r = await push;
      expect(r.stderr).toContain(`remote: Checked out ${head.slice(0, 12)} (refs/heads/main)`);
      expect(r.status).toBe(0);

      gitOk(dir, ['rm', '-q', 'Dockerfile']);
      const broken = commitFiles(dir, {}, 'no Dockerfile');
      const failed = await git(dir, ['push', server.url(app.name), 'main']);
      expect(failed.stderr).toContain(`remote: ERROR: Cannot build commit ${broken.slice(0, 12)}: it has no "Dockerfile"`);
      expect(failed.status).not.toBe(0);
    } finally {
      await worker.stop(1000);
    }
  });
});
