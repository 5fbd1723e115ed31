import { describe, expect, it } from 'vitest';
import { encodeTarHeader, paddingFor, TAR_END, type TarEntry } from '../../../runner/image/tar-header';
import { readTar } from '../../../runner/image/tar-reader';

async function* once(...chunks: Uint8Array[]) {
  for (const c of chunks) yield c;
}

async function roundTrip(entries: (TarEntry & { data?: Uint8Array })[]) {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    parts.push(encodeTarHeader(e));
    if (e.data) {
      parts.push(e.data);
      parts.push(new Uint8Array(paddingFor(e.data.length)));
    }
  }
  parts.push(TAR_END);
  const out = [];
  for await (const { header, body } of readTar(once(...parts))) {
    let data = Buffer.alloc(0);
    for await (const c of body) data = Buffer.concat([data, c]);
    out.push({ header, data });
  }
  return out;
}

describe('tar headers', () => {
  it('round-trips a plain ustar entry without a PAX header', async () => {
    const h = encodeTarHeader({ name: 'etc/hosts', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000, size: 5 });
    expect(h.length).toBe(512);
    const [e] = await roundTrip([{ name: 'etc/hosts', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000, size: 5, data: Buffer.from('hello') }]);
    expect(e!.header).toMatchObject({ name: 'etc/hosts', type: 'file', mode: 0o644, size: 5, mtime: 1700000000 });
    expect(e!.data.toString()).toBe('hello');
  });

  it('uses the ustar prefix for a long name that splits, PAX for one that does not', async () => {
    const split = `${'a'.repeat(120)}/b.txt`;
    expect(encodeTarHeader({ name: split, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 }).length).toBe(512);
    const long = 'x'.repeat(300);
    expect(encodeTarHeader({ name: long, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 }).length).toBeGreaterThan(512);
    const back = await roundTrip([
      { name: split, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 },
      { name: long, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 },
      { name: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, linkname: 'y'.repeat(200) },
    ]);
    expect(back.map((b) => b.header.name)).toEqual([split, long, 'l']);
    expect(back[2]!.header.linkname).toBe('y'.repeat(200));
  });

  it('keeps binary xattrs, big ids and directories exactly', async () => {
    const cap = new Uint8Array([1, 0, 0, 2, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const back = await roundTrip([
      { name: 'usr', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
      { name: 'usr/bin/ping', type: 'file', mode: 0o755, uid: 3_000_000, gid: 7, mtime: 1, size: 0, xattrs: { 'security.capability': cap } },
    ]);
    expect(back[0]!.header).toMatchObject({ name: 'usr', type: 'directory' });
    expect(back[1]!.header.uid).toBe(3_000_000);
    expect(Buffer.from(back[1]!.header.xattrs['security.capability']!)).toEqual(Buffer.from(cap));
  });

  it('refuses bytes that are not a tar archive', async () => {
    const junk = new Uint8Array(1024).fill(65);
    await expect(async () => {
      for await (const _ of readTar(once(junk))) void _;
    }).rejects.toThrow(/checksum/);
  });
});
