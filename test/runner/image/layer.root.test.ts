// The layer writer and store against a real filesystem: whiteouts, opaque dirs, owners, xattrs.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, symlinkSync, linkSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerStore } from '../../../runner/image/layer-store';
import { writeLayer } from '../../../runner/image/layer-writer';
import { readTar } from '../../../runner/image/tar-reader';
import { encodeTarHeader, paddingFor, TAR_END } from '../../../runner/image/tar-header';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

const work = mkdtempSync(join(tmpdir(), 'berth-layer-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function makeUpper(dir: string) {
  mkdirSync(join(dir, 'etc/app'), { recursive: true });
  writeFileSync(join(dir, 'etc/app/conf'), 'x=1\n');
  writeFileSync(join(dir, 'b'), 'bee');
  linkSync(join(dir, 'b'), join(dir, 'a-hardlink'));
  symlinkSync('/etc/app/conf', join(dir, 'link'));
  execFileSync('mknod', [join(dir, 'deleted'), 'c', '0', '0']);
  mkdirSync(join(dir, 'opaque'));
  writeFileSync(join(dir, 'opaque/new'), 'n');
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(dir, 'opaque')]);
  for (const p of ['etc', 'etc/app', 'etc/app/conf', 'b', 'opaque', 'opaque/new']) chownSync(join(dir, p), 100_000, 100_000);
  chownSync(join(dir, 'etc/app/conf'), 101_000, 101_001);
  // chown drops file capabilities, so they go on last.
  execFileSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', join(dir, 'b')]);
  execFileSync('touch', ['-h', '-d', '@1800000000', join(dir, 'b')]);
}

async function listTar(path: string) {
  const out = [];
  const src = createReadStream(path).pipe(createGunzip());
  for await (const { header, body } of readTar(src)) {
    for await (const _ of body) void _;
    out.push(header);
  }
  return out;
}

describe('writeLayer', () => {
  const upper = join(work, 'upper');
  mkdirSync(upper);
  makeUpper(upper);

  it('writes whiteouts, opaque markers, shifted owners and xattrs in sorted order', async () => {
    const r = await writeLayer(upper, join(work, 'l1.tar.gz'), { idmap: DEFAULT_IDMAP, sourceDateEpoch: 1_700_000_000 });
    const entries = await listTar(r.path);
    const byName = new Map(entries.map((e) => [e.name, e]));
    // Sorted by the name on disk ("deleted"), so a whiteout sits where its file would.
    expect([...byName.keys()]).toEqual(['a-hardlink', 'b', '.wh.deleted', 'etc', 'etc/app', 'etc/app/conf', 'link', 'opaque', 'opaque/.wh..wh..opq', 'opaque/new']);
    expect(byName.get('a-hardlink')!.type).toBe('file');
    expect(byName.get('b')).toMatchObject({ type: 'hardlink', linkname: 'a-hardlink' });
    expect(byName.get('etc/app/conf')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(byName.get('etc')).toMatchObject({ uid: 0, gid: 0 });
    expect(byName.get('link')).toMatchObject({ type: 'symlink', linkname: '/etc/app/conf' });
    expect(Buffer.from(byName.get('a-hardlink')!.xattrs['security.capability']!).toString('hex')).toBe('0100000200200000000000000000000000000000');
    expect(Object.keys(byName.get('opaque')!.xattrs)).toEqual([]);
    for (const e of entries) expect(e.mtime).toBeLessThanOrEqual(1_700_000_000);
    expect(r.entries).toBe(10);
  });

  it('gives the same digests for the same tree, and clamps only with an epoch', async () => {
    const a = await writeLayer(upper, join(work, 'a.tar.gz'), { idmap: DEFAULT_IDMAP, sourceDateEpoch: 1_700_000_000 });
    const b = await writeLayer(upper, join(work, 'b.tar.gz'), { idmap: DEFAULT_IDMAP, sourceDateEpoch: 1_700_000_000 });
    expect(b.digest).toBe(a.digest);
    expect(b.diffId).toBe(a.diffId);
    const raw = createHash('sha256').update(readFileSync(a.path)).digest('hex');
    expect(a.digest).toBe(`sha256:${raw}`);
    const unclamped = await writeLayer(upper, join(work, 'c.tar.gz'), { idmap: DEFAULT_IDMAP });
    expect(unclamped.diffId).not.toBe(a.diffId);
    expect((await listTar(unclamped.path)).find((e) => e.name === 'a-hardlink')!.mtime).toBe(1_800_000_000);
  });
});

describe('LayerStore', () => {
  const store = new LayerStore({ root: join(work, 'store'), idmap: DEFAULT_IDMAP, budgetBytes: 1 });

  it('unpacks a layer with overlay whiteouts and shifted owners, and the result writes back to the same layer', async () => {
    await store.open();
    const upper = join(work, 'upper2');
    mkdirSync(upper);
    makeUpper(upper);
    const layer = await writeLayer(upper, join(work, 'd.tar.gz'), { idmap: DEFAULT_IDMAP, sourceDateEpoch: 1_700_000_000 });
    await store.lease('build-1', [layer.diffId]);
    const dir = await store.importFile(layer, layer.path);
    const wh = lstatSync(join(dir, 'deleted'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', '--only-values', join(dir, 'opaque')]).toString()).toBe('y');
    expect(statSync(join(dir, 'etc/app/conf'))).toMatchObject({ uid: 101_000, gid: 101_001 });
    expect(statSync(join(dir, 'b')).ino).toBe(statSync(join(dir, 'a-hardlink')).ino);
    const again = await writeLayer(dir, join(work, 'e.tar.gz'), { idmap: DEFAULT_IDMAP, sourceDateEpoch: 1_700_000_000 });
    expect(again.diffId).toBe(layer.diffId);
    expect(await store.evict()).toEqual([]); // leased
    await store.release('build-1');
    expect(await store.evict()).toEqual([layer.diffId]);
    expect(existsSync(dir)).toBe(false);
  });

  function tarOf(entries: { name: string; type: 'file' | 'symlink' | 'char' | 'directory'; linkname?: string; data?: string }[]) {
    const parts: Buffer[] = [];
    for (const e of entries) {
      const data = Buffer.from(e.data ?? '');
      parts.push(Buffer.from(encodeTarHeader({ name: e.name, type: e.type, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length, linkname: e.linkname, devmajor: 1, devminor: 3 })));
      parts.push(data, Buffer.alloc(paddingFor(data.length)));
    }
    parts.push(Buffer.from(TAR_END));
    const tar = Buffer.concat(parts);
    const gz = gzipSync(tar);
    const path = join(work, `hostile-${Math.random().toString(36).slice(2)}.tar.gz`);
    writeFileSync(path, gz);
    const h = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    return { path, digest: h(gz), diffId: h(tar) };
  }

  it.each([
    ['a ".." path', [{ name: '../evil', type: 'file' as const }], /outside the archive/],
    ['a write through a symlink', [{ name: 'l', type: 'symlink' as const, linkname: '/etc' }, { name: 'l/passwd', type: 'file' as const }], /not a directory/],
    ['a device node', [{ name: 'null', type: 'char' as const }], /device/],
  ])('refuses %s and leaves nothing behind', async (_what, entries, re) => {
    const t = tarOf(entries);
    await expect(store.importFile(t, t.path)).rejects.toThrow(re);
    expect(store.has(t.diffId)).toBe(false);
    expect(existsSync(join(work, 'evil'))).toBe(false);
  });

  it('refuses a blob whose digest does not match', async () => {
    const t = tarOf([{ name: 'f', type: 'file', data: 'x' }]);
    await expect(store.importFile({ ...t, digest: `sha256:${'0'.repeat(64)}` }, t.path)).rejects.toThrow(/digest/);
  });
});
