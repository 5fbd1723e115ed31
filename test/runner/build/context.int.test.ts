// Build contexts through S3: tar, tar.gz and zip unpack; hostile archives are refused; .dockerignore
// applies with Docker's semantics.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BlobStore, contextKey } from '../../../functions/storage/blob-store';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';
import { applyDockerignore, fetchContext, prepareContext, unpackContextStream } from '../../../runner/build/context';
import { encodeTarHeader, paddingFor, TAR_END, type TarEntryType } from '../../../runner/image/tar-header';

const stack = inject('stack');
const s3 = readS3Config(stack.env);
const blobs = new BlobStore(createS3Client(s3), s3.bucket);
const work = mkdtempSync(join(tmpdir(), 'berth-context-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
const fresh = () => {
  const d = join(work, `d${n++}`);
  mkdirSync(d);
  return d;
};

function tar(entries: { name: string; type?: TarEntryType; data?: string; linkname?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    parts.push(Buffer.from(encodeTarHeader({ name: e.name, type: e.type ?? 'file', mode: 0o644, uid: 1000, gid: 1000, mtime: 0, size: data.length, linkname: e.linkname, devmajor: 1, devminor: 3 })));
    parts.push(data, Buffer.alloc(paddingFor(data.length)));
  }
  parts.push(Buffer.from(TAR_END));
  return Buffer.concat(parts);
}

async function* chunks(b: Buffer) {
  for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
}

describe('build contexts', () => {
  it('stores an archive by digest in S3 and unpacks tar.gz with its digest verified', async () => {
    const gz = gzipSync(tar([{ name: 'Dockerfile', data: 'FROM scratch\n' }, { name: 'src/a.txt', data: 'a' }]));
    const digest = `sha256:${createHash('sha256').update(gz).digest('hex')}`;
    await blobs.put(contextKey(digest), gz, gz.length);
    const dir = fresh();
    await fetchContext(blobs, digest, dir);
    expect(readFileSync(join(dir, 'src/a.txt'), 'utf8')).toBe('a');
    const wrong = `sha256:${'1'.repeat(64)}`;
    await blobs.put(contextKey(wrong), gz, gz.length);
    await expect(fetchContext(blobs, wrong, fresh())).rejects.toThrow(/has digest/);
  });

  it('unpacks plain tar and zip', async () => {
    const d1 = fresh();
    await unpackContextStream(chunks(tar([{ name: './x/y', data: 'y' }])), d1);
    expect(readFileSync(join(d1, 'x/y'), 'utf8')).toBe('y');
    const d2 = fresh();
    await unpackContextStream(chunks(Buffer.from(zipSync({ 'Dockerfile': Buffer.from('FROM scratch'), 'dir/z': Buffer.from('z') }))), d2);
    expect(readFileSync(join(d2, 'dir/z'), 'utf8')).toBe('z');
  });

  it.each([
    ['a ".." path', tar([{ name: '../../etc/evil', data: 'x' }]), /outside the archive/],
    ['an absolute path', tar([{ name: '/etc/evil', data: 'x' }]), /absolute path/],
    ['a write through a symlink', tar([{ name: 'l', type: 'symlink', linkname: 'd' }, { name: 'd', type: 'directory' }, { name: 'l/x', data: 'x' }]), /not a directory/],
    ['a device node', tar([{ name: 'null', type: 'char' }]), /device/],
    ['a hard link to outside', tar([{ name: 'h', type: 'hardlink', linkname: '/etc/shadow' }]), /absolute path|not a file/],
    ['a zip with ".."', Buffer.from(zipSync({ '../evil': Buffer.from('x') })), /outside the archive/],
  ])('refuses %s', async (_what, archive, re) => {
    await expect(unpackContextStream(chunks(archive), fresh())).rejects.toThrow(re);
    expect(existsSync(join(work, 'evil'))).toBe(false);
  });

  it('keeps symlinks that point anywhere, as Docker contexts do, and reads a linked Dockerfile inside the context only', async () => {
    const dir = fresh();
    await unpackContextStream(
      chunks(tar([
        { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'up', type: 'symlink', linkname: '../../etc' },
        { name: 'docker/prod.Dockerfile', data: 'FROM scratch\n' },
        { name: 'Dockerfile', type: 'symlink', linkname: '/docker/prod.Dockerfile' },
      ])),
      dir,
    );
    expect(readlinkSync(join(dir, 'abs'))).toBe('/etc/passwd');
    expect(readlinkSync(join(dir, 'up'))).toBe('../../etc');
    expect((await prepareContext(dir)).dockerfile).toBe('FROM scratch\n');
    await expect(prepareContext(dir, 'abs')).rejects.toThrow(/"abs" is not in the build context/);
  });

  it('refuses archives over the size or entry limits', async () => {
    const big = tar([{ name: 'a', data: 'x'.repeat(2000) }]);
    await expect(unpackContextStream(chunks(big), fresh(), { maxBytes: 1000, maxEntries: 10 })).rejects.toThrow(/exceed 1000 bytes/);
    const many = tar(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}` })));
    await expect(unpackContextStream(chunks(many), fresh(), { maxBytes: 1e6, maxEntries: 10 })).rejects.toThrow(/more than 10 entries/);
  });

  it('applies .dockerignore as Docker: patterns, exceptions inside ignored dirs, and the Dockerfile still read', async () => {
    const dir = fresh();
    for (const f of ['Dockerfile', '.dockerignore', 'keep.txt', 'node_modules/x/y.js', 'logs/a.log', 'logs/important.log', 'src/a.ts', 'src/a.test.ts', 'deep/x/tmp.swp']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), f === 'Dockerfile' ? 'FROM scratch\n' : f);
    }
    writeFileSync(join(dir, '.dockerignore'), '# comment\nnode_modules\nlogs\n!logs/important.log\n**/*.test.ts\n**/*.swp\nDockerfile\n.dockerignore\n');
    const { dockerfile } = await prepareContext(dir);
    expect(dockerfile).toBe('FROM scratch\n');
    const all = (d: string, p = ''): string[] => readdirSync(join(d, p), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(d, join(p, e.name)) : [join(p, e.name)]));
    expect(all(dir).sort()).toEqual(['keep.txt', 'logs/important.log', 'src/a.ts']);
  });

  it('reads <Dockerfile>.dockerignore before .dockerignore', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'web.Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(dir, 'web.Dockerfile.dockerignore'), 'a\n');
    writeFileSync(join(dir, '.dockerignore'), 'b\n');
    writeFileSync(join(dir, 'a'), '');
    writeFileSync(join(dir, 'b'), '');
    await prepareContext(dir, 'web.Dockerfile');
    expect(existsSync(join(dir, 'a'))).toBe(false);
    expect(existsSync(join(dir, 'b'))).toBe(true);
    expect(await applyDockerignore(dir, 'b')).toBe(1);
  });
});
