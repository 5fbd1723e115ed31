import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureDiskUse, parseDiskLimit, parseDuBytes, watchDiskUse } from '../../../runner/sandbox/disk-watch';

describe('disk watch', () => {
  it('reads du and configured limits', () => {
    expect(parseDuBytes('12345\t/x\n')).toBe(12345);
    expect(parseDuBytes('du: cannot access')).toBeUndefined();
    expect(parseDiskLimit(undefined, 10)).toBe(10 * 1024 ** 3);
    expect(parseDiskLimit('0.5', 10)).toBe(512 * 1024 ** 2);
    expect(parseDiskLimit('-1', 10)).toBe(10 * 1024 ** 3);
    expect(parseDiskLimit('lots', 10)).toBe(10 * 1024 ** 3);
  });

  it('calls back once a directory grows past its limit, and not before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-diskwatch-'));
    try {
      writeFileSync(join(dir, 'a'), Buffer.alloc(64 * 1024, 1));
      expect(await measureDiskUse(dir)).toBeGreaterThanOrEqual(64 * 1024);
      let seen: number | undefined;
      const w = watchDiskUse(dir, 1024 * 1024, (b) => (seen = b), 50);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen).toBeUndefined();
      writeFileSync(join(dir, 'b'), Buffer.alloc(2 * 1024 * 1024, 1));
      for (let i = 0; i < 40 && seen === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toBeGreaterThan(1024 * 1024);
      w.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
