// Which local files ADD unpacks: Docker's rule is "decompresses to something that starts with a tar
// header". A gzipped text file and an empty tar used to vanish (extracted as zero entries).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectTarArchive, readDecompressed } from '../../../runner/build/local-archive';

const dir = mkdtempSync(join(tmpdir(), 'berth-archive-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sh = (script: string) => execFileSync('sh', ['-c', script], { cwd: dir });
mkdirSync(join(dir, 'payload'));
writeFileSync(join(dir, 'payload/f.txt'), 'f\n');
sh('tar -cf a.tar -C payload . && gzip -k a.tar && bzip2 -k a.tar && xz -k a.tar && zstd -q a.tar -o a.tar.zst');
sh('echo not a tar > text && gzip -k text && tar -cf empty.tar -T /dev/null && head -c 12 a.tar.gz > cut.gz');

describe('detectTarArchive', () => {
  it.each([
    ['a.tar', 'none'],
    ['a.tar.gz', 'gzip'],
    ['a.tar.bz2', 'bzip2'],
    ['a.tar.xz', 'xz'],
    ['a.tar.zst', 'zstd'],
  ])('unpacks %s (%s)', async (name, want) => {
    expect(await detectTarArchive(join(dir, name))).toBe(want);
    const chunks: Buffer[] = [];
    for await (const c of readDecompressed(join(dir, name), want as 'none')) chunks.push(c);
    expect(Buffer.concat(chunks).equals(readFileSync(join(dir, 'a.tar')))).toBe(true);
  });

  it.each(['text', 'text.gz', 'empty.tar', 'cut.gz'])('copies %s as it is', async (name) => {
    expect(await detectTarArchive(join(dir, name))).toBeUndefined();
  });
});
