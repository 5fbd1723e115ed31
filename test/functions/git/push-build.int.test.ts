// A push to the deploy branch queues a build and streams it. The build's runner is played by the
// test (it writes the log lines and the status a runner writes), so this runs without the builder.
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appendLogLines } from '../../../db/queries/logs';
import { builds, jobs } from '../../../db/schema';
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
    const [job] = await server.db.select().from(jobs).where(eq(jobs.subjectId, build.id));
    expect(job!.kind).toBe('build');
    await server.db.update(builds).set({ status: 'running' }).where(eq(builds.id, build.id));
    await appendLogLines(server.db, { kind: 'build', id: build.id }, [{ line: 'Step 1/2 : FROM scratch' }]);
    await waitFor('the first step on the push', async () => (sawStepEarly ? true : undefined));
    await appendLogLines(server.db, { kind: 'build', id: build.id }, [{ line: 'Step 2/2 : COPY . /' }]);
    finished = true;
    await server.db.update(builds).set({ status: 'succeeded', finishedAt: new Date() }).where(eq(builds.id, build.id));
    const r = await push;
    expect(r.stderr).toContain('remote: Step 2/2 : COPY . /');
    expect(r.stderr).toMatch(new RegExp(`remote: Deployed to \\S*${app.name}`));
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
