// COPY's path rules against a real rootfs, the way Docker applies them.
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync, lstatSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { copyIntoRoot } from '../../../runner/build/copy-files';
import { ensureWorkdir } from '../../../runner/build/layer-step';
import { digestSources, matchComponent, matchSources } from '../../../runner/build/copy-sources';
import { resolveInRoot } from '../../../runner/build/root-path';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';

const work = mkdtempSync(join(tmpdir(), 'berth-copy-test-'));
const ctx = join(work, 'ctx');
let root: string;
afterAll(() => rmSync(work, { recursive: true, force: true }));

mkdirSync(join(ctx, 'dir/sub'), { recursive: true });
writeFileSync(join(ctx, 'a.txt'), 'A');
writeFileSync(join(ctx, 'b.txt'), 'B');
writeFileSync(join(ctx, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
writeFileSync(join(ctx, 'dir/one'), '1');
writeFileSync(join(ctx, 'dir/sub/two'), '2');

beforeEach(() => {
  root = mkdtempSync(join(work, 'root-'));
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'existing'));
  symlinkSync('/etc', join(root, 'app')); // an absolute link: inside the container, not the host
});

const copy = async (sources: string[], dest: string, o: Partial<Parameters<typeof copyIntoRoot>[3]> = {}) => {
  const matched = (await Promise.all(sources.map((s) => matchSources(ctx, s)))).flat();
  await copyIntoRoot(root, matched, dest, { idmap: DEFAULT_IDMAP, ...o });
};

describe('COPY path rules', () => {
  it('copies a directory\'s contents, not the directory', async () => {
    await copy(['dir'], '/dst');
    expect(readdirSync(join(root, 'dst')).sort()).toEqual(['one', 'sub']);
    expect(readFileSync(join(root, 'dst/sub/two'), 'utf8')).toBe('2');
  });

  it('names the file by the destination unless it ends in / or is an existing directory', async () => {
    await copy(['a.txt'], '/renamed');
    expect(readFileSync(join(root, 'renamed'), 'utf8')).toBe('A');
    await copy(['a.txt'], '/new/dir/');
    expect(readFileSync(join(root, 'new/dir/a.txt'), 'utf8')).toBe('A');
    await copy(['a.txt'], '/existing');
    expect(readFileSync(join(root, 'existing/a.txt'), 'utf8')).toBe('A');
  });

  it('expands wildcards and refuses several sources into a destination without a slash', async () => {
    await copy(['*.txt'], '/txt/');
    expect(readdirSync(join(root, 'txt')).sort()).toEqual(['a.txt', 'b.txt']);
    await expect(copy(['*.txt'], '/file')).rejects.toThrow(/destination must be a directory and end with a \//);
  });

  it('follows symlinks in the destination inside the rootfs only', async () => {
    await copy(['a.txt'], '/app/x');
    expect(readFileSync(join(root, 'etc/x'), 'utf8')).toBe('A');
    expect(existsSync('/etc/x')).toBe(false);
    expect(await resolveInRoot(root, '/app/../../../etc/passwd')).toBe(join(root, 'etc/passwd'));
  });

  it('owns copies by root unless --chown, shifted into the user namespace; keeps or sets modes', async () => {
    await copy(['run.sh'], '/bin/');
    const st = statSync(join(root, 'bin/run.sh'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([100_000, 100_000, 0o755]);
    await copy(['dir'], '/owned/', { owner: { uid: 1000, gid: 1001 }, chmod: 0o640 });
    const f = statSync(join(root, 'owned/one'));
    expect([f.uid, f.gid, f.mode & 0o777]).toEqual([101_000, 101_001, 0o640]);
    expect(lstatSync(join(root, 'owned')).uid).toBe(101_000);
  });

  it('makes a missing destination 0755 whatever the source directory\'s mode, as BuildKit (it creates it first)', async () => {
    mkdirSync(join(ctx, 'private'), { mode: 0o700 });
    chmodSync(join(ctx, 'private'), 0o700);
    writeFileSync(join(ctx, 'private/k'), 'k');
    await copy(['private'], '/p');
    await copy(['private'], '/q/r/');
    expect(statSync(join(root, 'p')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(root, 'q/r')).mode & 0o7777).toBe(0o755);
    expect(readFileSync(join(root, 'p/k'), 'utf8')).toBe('k');
    rmSync(join(ctx, 'private'), { recursive: true });
  });

  it('keeps hard links among the files one COPY copies', async () => {
    mkdirSync(join(ctx, 'links'));
    writeFileSync(join(ctx, 'links/a'), 'same');
    linkSync(join(ctx, 'links/a'), join(ctx, 'links/b'));
    await copy(['links'], '/l/');
    expect(statSync(join(root, 'l/a')).ino).toBe(statSync(join(root, 'l/b')).ino);
    expect(statSync(join(root, 'l/a')).nlink).toBe(2);
    rmSync(join(ctx, 'links'), { recursive: true });
  });

  it('refuses an empty match', async () => {
    await expect(copy(['nothing*'], '/x/')).rejects.toThrow(/no source files/);
  });
});

describe('ensureWorkdir', () => {
  it('makes the WORKDIR owned by the USER, or by root when the image does not know the user (as BuildKit)', async () => {
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
    await ensureWorkdir({ idmap: DEFAULT_IDMAP }, root, '/w/app', 'app');
    await ensureWorkdir({ idmap: DEFAULT_IDMAP }, root, '/w/ghost', 'ghost');
    const owner = (p: string) => [statSync(join(root, p)).uid, statSync(join(root, p)).gid];
    expect([owner('w'), owner('w/app'), owner('w/ghost')]).toEqual([[101_000, 101_001], [101_000, 101_001], [100_000, 100_000]]);
  });
});

describe('source matching and digests', () => {
  it.each([
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a.md', false],
    ['?.txt', 'ab.txt', false],
    ['[ab].txt', 'b.txt', true],
    ['[^ab].txt', 'b.txt', false],
    ['\\*.txt', '*.txt', true],
  ])('%s matches %s: %s', (p, n, want) => expect(matchComponent(p, n)).toBe(want));

  it('follows symlinks of the source tree inside it, never to the host (contexts may hold links anywhere)', async () => {
    const tree = join(work, 'links');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    mkdirSync(join(tree, 'real'));
    writeFileSync(join(tree, 'etc/passwd'), 'the tree\'s own');
    writeFileSync(join(tree, 'real/f.conf'), 'f');
    symlinkSync('/etc/passwd', join(tree, 'abs'));
    symlinkSync('/etc/shadow', join(tree, 'dangling'));
    symlinkSync('../../../../../../etc', join(tree, 'up'));
    symlinkSync('/real', join(tree, 'dirlink'));
    const m = async (p: string) => (await matchSources(tree, p)).map((s) => [s.rel, s.abs]);
    expect(await m('abs')).toEqual([['abs', join(tree, 'etc/passwd')]]);
    expect(await m('dangling')).toEqual([]);
    expect(await m('up/passwd')).toEqual([['up/passwd', join(tree, 'etc/passwd')]]);
    expect(await m('up/*')).toEqual([['up/passwd', join(tree, 'etc/passwd')]]);
    expect(await m('dirlink/*.conf')).toEqual([['dirlink/f.conf', join(tree, 'real/f.conf')]]);
    await copyIntoRoot(root, await matchSources(tree, 'abs'), '/copied', { idmap: DEFAULT_IDMAP });
    expect(readFileSync(join(root, 'copied'), 'utf8')).toBe("the tree's own");
  });

  it('changes the digest when content or mode changes, not when nothing does', async () => {
    const d1 = await digestSources(await matchSources(ctx, 'dir'));
    expect(await digestSources(await matchSources(ctx, 'dir'))).toBe(d1);
    writeFileSync(join(ctx, 'dir/one'), '1!');
    const d2 = await digestSources(await matchSources(ctx, 'dir'));
    expect(d2).not.toBe(d1);
    writeFileSync(join(ctx, 'dir/one'), '1');
    expect(await digestSources(await matchSources(ctx, 'dir'))).toBe(d1);
  });
});
