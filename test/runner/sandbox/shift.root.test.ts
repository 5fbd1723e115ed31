// Shifting a tree into the user namespace's range: every entry, links themselves (not their
// targets), setuid bits kept, already-shifted entries left alone.
import { chmodSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shiftOwnership } from '../../../runner/sandbox/shift';

const dir = mkdtempSync(join(tmpdir(), 'berth-shift-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shiftOwnership', () => {
  it('shifts files, dirs and links by the base and keeps setuid bits', async () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'shadow'), '');
    chownSync(join(root, 'etc', 'shadow'), 0, 42);
    writeFileSync(join(root, 'passwd-tool'), '');
    chmodSync(join(root, 'passwd-tool'), 0o4755);
    mkdirSync(join(root, 'home', 'app'), { recursive: true });
    chownSync(join(root, 'home', 'app'), 1000, 1000);
    symlinkSync('/etc/hostname-on-the-host', join(root, 'link'));
    lchownSync(join(root, 'link'), 7, 7);
    writeFileSync(join(root, 'already'), '');
    chownSync(join(root, 'already'), 100005, 100005);

    const changed = await shiftOwnership(root, { hostBase: 100000, size: 65536 });
    expect(changed).toBe(7); // tree, etc, shadow, passwd-tool, home, app, link — not 'already'
    expect(statSync(root)).toMatchObject({ uid: 100000, gid: 100000 });
    expect(statSync(join(root, 'etc', 'shadow'))).toMatchObject({ uid: 100000, gid: 100042 });
    expect(statSync(join(root, 'passwd-tool')).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(root, 'home', 'app'))).toMatchObject({ uid: 101000, gid: 101000 });
    expect(lstatSync(join(root, 'link'))).toMatchObject({ uid: 100007, gid: 100007 });
    expect(statSync(join(root, 'already'))).toMatchObject({ uid: 100005, gid: 100005 });
    expect(await shiftOwnership(root, { hostBase: 100000, size: 65536 })).toBe(0);
  });

  it('refuses ids the namespace cannot map', async () => {
    const root = join(dir, 'big');
    mkdirSync(root);
    chownSync(root, 70000, 0);
    await expect(shiftOwnership(root, { hostBase: 100000, size: 65536 })).rejects.toThrow('Cannot map id 70000');
  });
});
