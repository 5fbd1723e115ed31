import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { apps, builds } from '../../../db/schema';
import { newId } from '../../../functions/core/ids';
import { BlobStore, contextKey } from '../../../functions/storage/blob-store';
import { materializeGitContext } from '../../../runner/git/materialize-context';
import { syncRepository } from '../../../runner/git/repository-cache';
import { commitFiles, git, gitOk, initRepo, startGitServer } from '../../functions/git/git-server';

const stack = inject('stack');
let server: Awaited<ReturnType<typeof startGitServer>>;

beforeAll(async () => {
  server = await startGitServer(stack);
});
afterAll(() => server?.close());

async function gitBuild(appId: string, accountId: string, commit: string, dockerfilePath = 'Dockerfile') {
  // A build row without a job: this test is the runner.
  const [b] = await server.db.insert(builds).values({ id: newId('bld'), accountId, appId, source: 'git', gitCommit: commit, gitRef: 'refs/heads/main', dockerfilePath }).returning();
  return b!;
}

function tarEntries(tar: Uint8Array, dir: string): string[] {
  const file = join(dir, `ctx-${newId('t', 6)}.tar`);
  writeFileSync(file, tar);
  return execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

describe('materializeGitContext', () => {
  it('applies only new packs (thin ones too) and stores the commit tree as the build context', async () => {
    const app = await server.createApp();
    const blobs = new BlobStore(server.platform.s3, server.platform.bucket);
    const env = { db: server.db, blobs, dir: join(server.work, 'runner-git') };
    const big = Array.from({ length: 3000 }, (_, i) => `row ${i}`).join('\n');
    const dir = initRepo(join(server.work, `${app.name}-m`), { Dockerfile: 'FROM scratch\nCOPY . /\n', 'big.txt': big, 'src/app.js': 'console.log(1)\n' });
    expect((await git(dir, ['push', server.url(app.name), 'HEAD:refs/heads/main'])).status).toBe(0);
    const first = gitOk(dir, ['rev-parse', 'HEAD']).trim();
    const ctx1 = await materializeGitContext(env, await gitBuild(app.id, app.accountId, first));
    const second = commitFiles(dir, { 'big.txt': big.replace('row 7\n', 'row seven\n'), 'src/more.js': '2\n' }, 'more');
    expect((await git(dir, ['push', server.url(app.name), 'HEAD:refs/heads/main'])).status).toBe(0);
    const build = await gitBuild(app.id, app.accountId, second);
    const ctx2 = await materializeGitContext(env, build);
    expect((await syncRepository(env, app.id)).applied).toBe(0);
    expect(ctx2.contextDigest).not.toBe(ctx1.contextDigest);
    const tar = await blobs.getBytes(contextKey(ctx2.contextDigest));
    expect(tarEntries(tar!, server.work)).toEqual(['Dockerfile', 'big.txt', 'src/', 'src/app.js', 'src/more.js']);
    const [row] = await server.db.select().from(builds).where(eq(builds.id, build.id));
    expect(row).toMatchObject({ contextDigest: ctx2.contextDigest, contextMediaType: 'application/x-tar', dockerfilePath: 'Dockerfile', dockerfile: null });
  });

  it('uses the app context path, and carries a Dockerfile outside it as text', async () => {
    const app = await server.createApp();
    await server.db.update(apps).set({ contextPath: 'web', dockerfilePath: 'docker/web.Dockerfile' }).where(eq(apps.id, app.id));
    const blobs = new BlobStore(server.platform.s3, server.platform.bucket);
    const env = { db: server.db, blobs, dir: join(server.work, 'runner-git') };
    const dir = initRepo(join(server.work, `${app.name}-sub`), { 'docker/web.Dockerfile': 'FROM scratch\n', 'web/index.html': 'hi\n', 'other/x': 'x\n' });
    expect((await git(dir, ['push', server.url(app.name), 'HEAD:refs/heads/main'])).status).toBe(0);
    const head = gitOk(dir, ['rev-parse', 'HEAD']).trim();
    const ctx = await materializeGitContext(env, await gitBuild(app.id, app.accountId, head, 'docker/web.Dockerfile'));
    expect(ctx).toMatchObject({ dockerfile: 'FROM scratch\n', dockerfilePath: 'web.Dockerfile' });
    expect(tarEntries((await blobs.getBytes(contextKey(ctx.contextDigest)))!, server.work)).toEqual(['index.html']);
    await expect(materializeGitContext(env, await gitBuild(app.id, app.accountId, 'f'.repeat(40)))).rejects.toThrow('is not in the pushed repository');
  });
});
