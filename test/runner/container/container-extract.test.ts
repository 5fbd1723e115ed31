import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { pack } from 'tar-stream';
import { extractIntoRoot, parseEntryName } from '../../../runner/container/container-extract';

const base = mkdtempSync(join(tmpdir(), 'berth-extract-'));
const root = join(base, 'root');
const outside = join(base, 'outside');
mkdirSync(join(root, 'srv'), { recursive: true });
mkdirSync(outside);
// The container's own link to a host path: followed inside the root only.
symlinkSync(outside, join(root, 'srv', 'host'));
// Owners: the container's root is this process's uid, so the test needs no privilege.
const idmap = { hostBase: process.getuid!(), size: 1 };

afterAll(() => rmSync(base, { recursive: true, force: true }));

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo'; body?: string; linkname?: string; mode?: number };

function tarOf(entries: Entry[]): Readable {
  const p = pack();
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644, ...(e.linkname ? { linkname: e.linkname } : {}) };
    if (header.type === 'file') p.entry(header, e.body ?? '');
    else p.entry(header);
  }
  p.finalize();
  return Readable.from(p);
}

const unpack = (entries: Entry[], o: Partial<{ dest: string; noOverwriteDirNonDir: boolean }> = {}) =>
  extractIntoRoot({ rootfs: root, dest: o.dest ?? '/srv', idmap, copyUidGid: false, noOverwriteDirNonDir: o.noOverwriteDirNonDir ?? true }, tarOf(entries));

describe('extractIntoRoot', () => {
  it('unpacks files, directories, links and hard links with their modes', async () => {
    await unpack([
      { name: 'app/', type: 'directory', mode: 0o750 },
      { name: 'app/run.sh', body: 'echo hi\n', mode: 0o755 },
      { name: 'app/latest', type: 'symlink', linkname: 'run.sh' },
      { name: 'app/again.sh', type: 'link', linkname: 'app/run.sh' },
    ]);
    expect(readFileSync(join(root, 'srv/app/run.sh'), 'utf8')).toBe('echo hi\n');
    expect(lstatSync(join(root, 'srv/app/run.sh')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(root, 'srv/app')).mode & 0o7777).toBe(0o750);
    expect(readlinkSync(join(root, 'srv/app/latest'))).toBe('run.sh');
    expect(lstatSync(join(root, 'srv/app/again.sh')).ino).toBe(lstatSync(join(root, 'srv/app/run.sh')).ino);
  });

  it('writes through links inside the root only: the container\'s link and the archive\'s own', async () => {
    // The link's target is looked up inside the root, where it does not exist.
    await expect(unpack([{ name: 'host/through.txt', body: 'x' }])).rejects.toThrow('Could not find the file /srv/host/through.txt');
    expect(existsSync(join(outside, 'through.txt'))).toBe(false);
    await unpack([{ name: 'up', type: 'symlink', linkname: '../../../../../../..' }, { name: 'up/landed.txt', body: 'y' }]);
    expect(readFileSync(join(root, 'landed.txt'), 'utf8')).toBe('y');
  }, 10_000);

  it('refuses climbing names, special files and a directory replaced by a file, naming them', async () => {
    expect(() => parseEntryName('a/../../b')).toThrow('the archive\'s entry "a/../../b" climbs out of the destination');
    expect(parseEntryName('./a//b/')).toEqual(['a', 'b']);
    await expect(unpack([{ name: 'pipe', type: 'fifo' }])).rejects.toThrow('is a fifo, which is not copied');
    await expect(unpack([{ name: 'app', body: 'file now' }])).rejects.toThrow('cannot overwrite directory "app" with a non-directory');
    await expect(unpack([{ name: 'x' }], { dest: '/srv/app/run.sh' })).rejects.toThrow('extraction point /srv/app/run.sh is not a directory');
    await expect(unpack([{ name: 'x' }], { dest: '/nowhere' })).rejects.toThrow('Could not find the file /nowhere');
  });
});
