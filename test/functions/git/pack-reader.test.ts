import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zlibSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { applyDelta } from '../../../functions/git/delta';
import { readPack } from '../../../functions/git/pack-reader';
import { writePack } from '../../../functions/git/pack-writer';
import { inflateZlibAt } from '../../../functions/git/zlib-inflate';

const dir = mkdtempSync(join(tmpdir(), 'berth-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
const run = (args: string[], input?: Buffer | string) => execFileSync('git', args, { cwd: dir, env, input, maxBuffer: 64 << 20 });

describe('zlib streams inside a buffer', () => {
  it('finds where each stream ends, whatever follows it', () => {
    for (const size of [0, 1, 100, 70_000]) {
      const data = new Uint8Array(size).map((_, i) => (i * 7) % 251);
      const z = zlibSync(data);
      const buf = new Uint8Array(z.length + 50).fill(0x78);
      buf.set(z);
      const r = inflateZlibAt(buf, 0, size);
      expect(r.end).toBe(z.length);
      expect(r.data).toEqual(data);
    }
  });

  it('refuses truncated streams and size mismatches', () => {
    const z = zlibSync(new TextEncoder().encode('hello world, hello world'));
    expect(() => inflateZlibAt(z.subarray(0, z.length - 6), 0, 24)).toThrow('truncated');
    expect(() => inflateZlibAt(z, 0, 10)).toThrow(/more than the 10 bytes|holds 24 bytes/);
    expect(() => inflateZlibAt(new Uint8Array([1, 2, 3, 4]), 0, 1)).toThrow('not a zlib stream');
  });
});

describe('deltas', () => {
  it('refuses copies outside the base', () => {
    // base size 3, result size 4, copy offset 0 size 4
    expect(() => applyDelta(new Uint8Array(3), new Uint8Array([3, 4, 0x90, 4]))).toThrow('out of bounds');
    expect(() => applyDelta(new Uint8Array(2), new Uint8Array([3, 4]))).toThrow('expects a base of 3 bytes');
    // result size 2^35 declared: refused before any allocation
    expect(() => applyDelta(new Uint8Array(3), new Uint8Array([3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 1024)).toThrow('over the 1024-byte object limit');
  });
});

describe('readPack and writePack', () => {
  it('reads what git pack-objects writes (with deltas) to the ids git computes, and git reads what writePack writes', async () => {
    run(['init', '-q', '-b', 'main']);
    for (let i = 1; i <= 4; i++) {
      writeFileSync(join(dir, 'f.txt'), Array.from({ length: 400 * i }, (_, n) => `line ${n}`).join('\n'));
      run(['add', '-A']);
      run(['commit', '-q', '-m', `c${i}`]);
    }
    const expected = run(['rev-list', '--objects', '--all']).toString().split('\n').filter(Boolean).map((l) => l.slice(0, 40)).sort();
    const pack = run(['pack-objects', '--stdout', '-q', '--revs', '--delta-base-offset'], 'main\n');
    const objects = await readPack(new Uint8Array(pack));
    expect(objects.map((o) => o.id).sort()).toEqual(expected);
    const verify = run(['index-pack', '--stdin', '-v'], Buffer.from(await writePack(objects))).toString();
    expect(verify).toMatch(/^pack\t[0-9a-f]{40}/);
    await expect(readPack(new Uint8Array(pack), { maxInflatedBytes: 1000 })).rejects.toThrow('inflate to more than 1000 bytes');
    await expect(readPack(new Uint8Array(pack), { maxObjectBytes: 100 })).rejects.toThrow('object limit');
    const bad = new Uint8Array(pack);
    bad[20] = bad[20]! ^ 0xff;
    await expect(readPack(bad)).rejects.toThrow('SHA-1 trailer');
  });
});
