import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { createAccount, createToken } from '../../../db/queries/accounts';
import { createOrganization } from '../../../db/queries/memberships';
import { gitObjects, gitPacks } from '../../../db/schema';
import { ZERO, emptyPack, rawPush } from './raw-push';
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

function randomText(bytes: number): string {
  return randomBytes(bytes / 2).toString('hex');
}

async function packsOf(appId: string) {
  return server.db.select().from(gitPacks).where(eq(gitPacks.appId, appId)).orderBy(gitPacks.id);
}

describe('tags and atomic pushes from git', () => {
  it('pushes annotated and lightweight tags atomically and clones them back', async () => {
    const app = await server.createApp();
    const dir = initRepo(join(server.work, `${app.name}-tags`), { 'a.txt': 'a\n' });
    gitOk(dir, ['tag', '-a', 'v1.0', '-m', 'release 1.0']);
    gitOk(dir, ['tag', 'light']);
    const push = await git(dir, ['push', '--atomic', '--follow-tags', server.url(app.name), 'main', 'light']);
    expect(push.status).toBe(0);
    const remote = (await git(dir, ['ls-remote', '--tags', server.url(app.name)])).stdout;
    expect(remote).toContain(`${gitOk(dir, ['rev-parse', 'v1.0']).trim()}\trefs/tags/v1.0`);
    expect(remote).toContain('refs/tags/light');
    expect(remote).toContain(`${gitOk(dir, ['rev-parse', 'HEAD']).trim()}\trefs/tags/v1.0^{}`);
    const v0 = (await git(dir, ['-c', 'protocol.version=0', 'ls-remote', '--tags', server.url(app.name)])).stdout;
    expect(v0).toContain(`${gitOk(dir, ['rev-parse', 'HEAD']).trim()}\trefs/tags/v1.0^{}`);
    const clone = join(server.work, `${app.name}-tags-clone`);
    expect((await git(server.work, ['clone', '-q', server.url(app.name), clone])).status).toBe(0);
    expect(gitOk(clone, ['tag', '--list']).split('\n').filter(Boolean).sort()).toEqual(['light', 'v1.0']);
    expect(gitOk(clone, ['cat-file', '-t', 'v1.0']).trim()).toBe('tag');
  });
});

describe('incremental pushes and fetches', () => {
  it('sends only new objects, as a thin pack whose delta bases the edge reads from the earlier pack', async () => {
    const app = await server.createApp();
    const big = Array.from({ length: 2000 }, (_, i) => `line ${i} ${randomText(32)}`).join('\n');
    const dir = initRepo(join(server.work, `${app.name}-inc`), { 'big.txt': big, 'other.txt': randomText(20000) });
    expect((await git(dir, ['push', server.url(app.name), 'main'])).status).toBe(0);
    commitFiles(dir, { 'big.txt': big.replace('line 1000 ', 'line one thousand ') }, 'edit one line');
    const second = await git(dir, ['push', server.url(app.name), 'main']);
    expect(second.status).toBe(0);
    const [first, incremental] = await packsOf(app.id);
    expect(first!.size).toBeGreaterThan(50_000);
    // commit + tree + a delta of big.txt against the blob the first push sent
    expect(incremental!.size).toBeLessThan(2_000);
    const objects = await server.db.select().from(gitObjects).where(eq(gitObjects.packId, incremental!.id));
    expect(objects.map((o) => o.type).sort()).toEqual(['blob', 'commit', 'tree']);
    const clone = join(server.work, `${app.name}-inc-clone`);
    expect((await git(server.work, ['clone', '-q', server.url(app.name), clone])).status).toBe(0);
    expect(gitOk(clone, ['fsck', '--strict'])).toBe('');
    expect(gitOk(clone, ['rev-parse', 'HEAD'])).toBe(gitOk(dir, ['rev-parse', 'HEAD']));
  });

  it('fetches new commits into an existing clone with protocol v2 and v0', async () => {
    const app = await server.createApp();
    const dir = initRepo(join(server.work, `${app.name}-f`), { 'a.txt': 'one\n' });
    expect((await git(dir, ['push', server.url(app.name), 'main'])).status).toBe(0);
    const clones = ['2', '0'].map((v) => ({ v, path: join(server.work, `${app.name}-f-clone-${v}`) }));
    for (const c of clones) expect((await git(server.work, ['clone', '-q', server.url(app.name), c.path])).status).toBe(0);
    commitFiles(dir, { 'b.txt': 'two\n' }, 'two');
    const head = commitFiles(dir, { 'c.txt': 'three\n' }, 'three');
    expect((await git(dir, ['push', server.url(app.name), 'main'])).status).toBe(0);
    for (const c of clones) {
      const r = await git(c.path, ['-c', `protocol.version=${c.v}`, 'pull', '-q', '--ff-only']);
      expect(r.stderr).toBe('');
      expect(gitOk(c.path, ['rev-parse', 'HEAD']).trim()).toBe(head);
      expect(gitOk(c.path, ['fsck', '--strict'])).toBe('');
    }
  });
});

describe('ref updates', () => {
  it('refuses a non-fast-forward unless forced, and deletes a branch', async () => {
    const app = await server.createApp();
    const dir = initRepo(join(server.work, `${app.name}-ff`), { 'a.txt': 'one\n' });
    commitFiles(dir, { 'b.txt': 'two\n' }, 'two');
    expect((await git(dir, ['push', server.url(app.name), 'main', 'main:refs/heads/topic'])).status).toBe(0);
    gitOk(dir, ['reset', '-q', '--hard', 'HEAD~1']);
    const rewritten = commitFiles(dir, { 'c.txt': 'other\n' }, 'rewritten');
    const refused = await git(dir, ['push', server.url(app.name), 'main']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/\[rejected\].*non-fast-forward|fetch first/);
    const forced = await git(dir, ['push', '--force', server.url(app.name), 'main']);
    expect(forced.status).toBe(0);
    expect(forced.stderr).toContain('Forced update of refs/heads/main');
    const deleted = await git(dir, ['push', server.url(app.name), ':topic']);
    expect(deleted.status).toBe(0);
    const remote = (await git(dir, ['ls-remote', server.url(app.name)])).stdout;
    expect(remote).toContain(`${rewritten}\trefs/heads/main`);
    expect(remote).not.toContain('refs/heads/topic');
  });

  it('refuses bad ref names with the rule they break, and an atomic push as a whole', async () => {
    const app = await server.createApp();
    const dir = initRepo(join(server.work, `${app.name}-names`), { 'a.txt': 'one\n' });
    expect((await git(dir, ['push', server.url(app.name), 'main'])).status).toBe(0);
    const head = gitOk(dir, ['rev-parse', 'HEAD']).trim();
    const base = `http://127.0.0.1:${server.port}/admin/${app.name}.git`;
    const auth = { user: 'admin', token: stack.adminToken };
    for (const [ref, reason] of [
      ['refs/heads/a..b', 'contains ".."'],
      ['refs/heads/bad\u0001name', 'control character'],
      ['refs/heads/x.lock', 'ends with ".lock"'],
      ['refs/heads/at@{1}', 'contains "@{"'],
      ['refs/heads/dir/', 'empty path component'],
      ['refs/meta/config', 'only refs/heads/ and refs/tags/'],
    ] as const) {
      const r = await rawPush(base, auth, [{ old: ZERO, new: head, ref }], emptyPack());
      expect(r.status).toBe(200);
      expect(r.text).toContain('unpack ok');
      expect(r.text).toContain(`ng ${ref} `);
      expect(r.text).toContain(reason);
    }
    const atomic = await rawPush(
      base,
      auth,
      [
        { old: ZERO, new: head, ref: 'refs/heads/good' },
        { old: ZERO, new: head, ref: 'refs/heads/a..b' },
      ],
      emptyPack(),
      'report-status atomic',
    );
    expect(atomic.text).toContain('ng refs/heads/good atomic push failed');
    const remote = (await git(dir, ['ls-remote', server.url(app.name)])).stdout;
    expect(remote).not.toContain('refs/heads/good');
    expect(remote).not.toContain('a..b');
  });

  it('refuses a stale update and a branch pointing at a missing object', async () => {
    const app = await server.createApp();
    const dir = initRepo(join(server.work, `${app.name}-stale`), { 'a.txt': 'one\n' });
    expect((await git(dir, ['push', server.url(app.name), 'main'])).status).toBe(0);
    const base = `http://127.0.0.1:${server.port}/admin/${app.name}.git`;
    const auth = { user: 'admin', token: stack.adminToken };
    const stale = await rawPush(base, auth, [{ old: 'a'.repeat(40), new: 'b'.repeat(40), ref: 'refs/heads/main' }], emptyPack());
    expect(stale.text).toContain('ng refs/heads/main stale info');
    const missing = await rawPush(base, auth, [{ old: ZERO, new: 'c'.repeat(40), ref: 'refs/heads/new' }], emptyPack());
    expect(missing.text).toContain('ng refs/heads/new missing necessary objects');
  });
});

describe('bad input', () => {
  it('answers 401 with a Basic challenge, and refuses another account\'s app as not found', async () => {
    const app = await server.createApp();
    const res = await fetch(`http://127.0.0.1:${server.port}/admin/${app.name}.git/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="Berth"');
    const bobName = `bob${randomBytes(4).toString('hex')}`;
    const bob = await createAccount(server.db, { name: bobName });
    const { secret } = await createToken(server.db, bob.id, { name: 'git' });
    const dir = initRepo(join(server.work, `${app.name}-bob`), { 'a.txt': 'mine\n' });
    const intoAdmins = await git(dir, ['push', server.url(app.name, 'admin', secret), 'main']);
    expect(intoAdmins.status).not.toBe(0);
    expect(intoAdmins.stderr).toContain('Authentication failed');
    const asBob = await git(dir, ['push', server.url(app.name, bobName, secret), 'main']);
    expect(asBob.status).not.toBe(0);
    expect(asBob.stderr).toContain(`remote error: Repository '${bobName}/${app.name}' not found`);
    expect(await packsOf(app.id)).toEqual([]);
  });

  it('lets a member push to an organization\'s app, and no one else', async () => {
    const suffix = randomBytes(4).toString('hex');
    const carol = await createAccount(server.db, { name: `carol${suffix}` });
    const dave = await createAccount(server.db, { name: `dave${suffix}` });
    const org = await createOrganization(server.db, carol, `org${suffix}`);
    const app = await server.createApp({ account: org.name });
    const dir = initRepo(join(server.work, `${app.name}-org`), { 'a.txt': 'org\n' });
    const carolToken = (await createToken(server.db, carol.id, { name: 'git' })).secret;
    const daveToken = (await createToken(server.db, dave.id, { name: 'git' })).secret;
    const viaCarol = `http://${carol.name}:${carolToken}@127.0.0.1:${server.port}/${org.name}/${app.name}.git`;
    const viaDave = `http://${dave.name}:${daveToken}@127.0.0.1:${server.port}/${org.name}/${app.name}.git`;
    expect((await git(dir, ['push', viaCarol, 'main'])).status).toBe(0);
    const refused = await git(dir, ['push', viaDave, 'main:refs/heads/dave']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain(`Repository '${org.name}/${app.name}' not found`);
  });

  it('refuses a malformed pack naming what is wrong, and records nothing', async () => {
    const app = await server.createApp();
    const dir = initRepo(join(server.work, `${app.name}-bad`), { 'a.txt': 'one\n' });
    const head = gitOk(dir, ['rev-parse', 'HEAD']).trim();
    const base = `http://127.0.0.1:${server.port}/admin/${app.name}.git`;
    const auth = { user: 'admin', token: stack.adminToken };
    const pack = await packOf(dir, 'HEAD');
    const cases: [Buffer, string][] = [
      [Buffer.from('not a pack at all, just some bytes to fill 32+'), 'does not start with "PACK"'],
      [Buffer.concat([pack.subarray(0, pack.length - 21), Buffer.from([pack[pack.length - 21]! ^ 1]), pack.subarray(pack.length - 20)]), 'SHA-1 trailer'],
      [pack.subarray(0, pack.length - 30), 'trailer'],
    ];
    for (const [bytes, message] of cases) {
      const r = await rawPush(base, auth, [{ old: ZERO, new: head, ref: 'refs/heads/main' }], bytes);
      expect(r.text).toContain('unpack Cannot read the pack');
      expect(r.text).toContain(message);
      expect(r.text).toContain('ng refs/heads/main unpacker error');
    }
    expect(await packsOf(app.id)).toEqual([]);
  });

  it('refuses an oversized pack with the limit in the message', async () => {
    const small = await startGitServer(stack, { maxPackBytes: 64 * 1024 });
    try {
      const app = await small.createApp();
      const dir = initRepo(join(small.work, `${app.name}-big`), { 'big.bin': randomText(400_000) });
      const r = await git(dir, ['push', small.url(app.name), 'main']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('Push refused: the pack is larger than the 65536-byte limit');
      expect(r.stderr).toContain('[remote rejected] main -> main (pack too large)');
    } finally {
      await small.close();
    }
  });
});

async function packOf(dir: string, rev: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['pack-objects', '--stdout', '--revs', '-q'], { cwd: dir });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(parts)));
    child.stdin.end(`${rev}\n`);
  });
}
