import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extract } from 'tar-stream';
import { archiveFromRoot, statInRoot } from '../../../runner/container/container-archive';

const outside = mkdtempSync(join(tmpdir(), 'berth-archive-outside-'));
writeFileSync(join(outside, 'secret'), 'host secret\n');
const root = mkdtempSync(join(tmpdir(), 'berth-archive-root-'));
mkdirSync(join(root, 'srv/sub'), { recursive: true });
writeFileSync(join(root, 'srv/a.txt'), 'inside\n');
writeFileSync(join(root, 'srv/sub/b.txt'), 'bee\n');
symlinkSync('../../../../../../srv', join(root, 'srv/sub/up'));
symlinkSync('/srv/a.txt', join(root, 'srv/abs'));
symlinkSync(outside, join(root, 'escape'));
symlinkSync(`../../../../../..${outside}`, join(root, 'climb'));
const idmap = { hostBase: 0, size: 65_536 };

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function entries(path: string): Promise<Record<string, string>> {
  const { tar } = await archiveFromRoot(root, path, idmap);
  const out: Record<string, string> = {};
  const x = extract();
  x.on('entry', (h, stream, next) => {
    let body = '';
    stream.on('data', (d: unknown) => (body += String(d)));
    stream.on('end', () => {
      out[h.name] = h.type === 'symlink' ? `-> ${h.linkname}` : h.type === 'directory' ? 'dir' : body;
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    x.on('finish', () => resolve());
    x.on('error', reject);
    tar.pipe(x);
  });
  return out;
}

describe('container paths resolved inside the root', () => {
  it('follows symlinks on the way, as if the root were /, and not the last one', async () => {
    expect((await statInRoot(root, '/srv/sub/up/a.txt')).size).toBe(7);
    expect(await statInRoot(root, '/srv/abs')).toMatchObject({ name: 'abs', linkTarget: '/srv/a.txt', mode: 2 ** 27 + 0o777 });
    expect((await statInRoot(root, '/srv')).mode & 2 ** 31).not.toBe(0);
    expect((await statInRoot(root, '/srv/../../srv/a.txt')).size).toBe(7);
  });

  it('never leaves the root, by an absolute link or by climbing', async () => {
    await expect(statInRoot(root, '/escape/secret')).rejects.toThrow('Could not find the file /escape/secret');
    await expect(statInRoot(root, '/climb/secret')).rejects.toThrow('Could not find the file /climb/secret');
    await expect(statInRoot(root, '/srv/a.txt/x')).rejects.toThrow('is not a directory');
  });

  it('archives a directory under its base name, links kept as links', async () => {
    expect(await entries('/srv')).toEqual({ 'srv/': 'dir', 'srv/a.txt': 'inside\n', 'srv/abs': '-> /srv/a.txt', 'srv/sub/': 'dir', 'srv/sub/b.txt': 'bee\n', 'srv/sub/up': '-> ../../../../../../srv' });
    expect(await entries('/srv/sub/up/a.txt')).toEqual({ 'a.txt': 'inside\n' });
  });
});

describe('the container root itself', () => {
  it('is a directory, archived whole', async () => {
    expect((await statInRoot(root, '/')).mode & 2 ** 31).not.toBe(0);
    expect(Object.keys(await entries('/'))).toEqual(expect.arrayContaining(['./', './srv/a.txt', './escape']));
  });
});
