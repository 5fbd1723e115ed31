import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { commitFiles, git, gitOk, initRepo, startGitServer } from './git-server';

const stack = inject('stack');
let server: Awaited<ReturnType<typeof startGitServer>>;

beforeAll(async () => {
  server = await startGitServer(stack);
});
afterAll(() => server?.close());

describe('git push and clone over smart HTTP', () => {
  it('pushes a repository, lists its refs, and clones the same tree back (v2 and v0)', async () => {
    const app = await server.createApp();
    const dir = initRepo(join(server.work, `${app.name}-src`), { 'README.md': 'hello\n', 'src/a.txt': 'a\n'.repeat(100) });
    commitFiles(dir, { 'src/b.txt': 'b\n' }, 'second');
    const push = await git(dir, ['push', server.url(app.name), 'main', 'HEAD:refs/heads/feature']);
    expect(push.stderr).toContain('[new branch]');
    expect(push.status).toBe(0);
    const head = gitOk(dir, ['rev-parse', 'HEAD']).trim();
    const remote = (await git(dir, ['ls-remote', server.url(app.name)])).stdout;
    expect(remote).toContain(`${head}\trefs/heads/main`);
    expect(remote).toContain(`${head}\trefs/heads/feature`);
    expect(remote).toContain(`${head}\tHEAD`);
    for (const version of ['2', '0']) {
      const clone = join(server.work, `${app.name}-clone-v${version}`);
      const r = await git(server.work, ['-c', `protocol.version=${version}`, 'clone', '-q', server.url(app.name), clone]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(gitOk(clone, ['rev-parse', 'HEAD']).trim()).toBe(head);
      expect(gitOk(clone, ['rev-parse', 'HEAD^{tree}'])).toBe(gitOk(dir, ['rev-parse', 'HEAD^{tree}']));
      expect(gitOk(clone, ['fsck', '--strict'])).toBe('');
    }
  });
});
