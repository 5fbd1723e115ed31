import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePidFile, waitForPidFile } from '../../../runner/sandbox/pid-file';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-pidfile-test-'));
  dirs.push(d);
  return d;
}

describe('pid file', () => {
  it('parses a process id and nothing else', () => {
    expect(parsePidFile('4242')).toBe(4242);
    expect(parsePidFile('17\n')).toBe(17);
    for (const bad of ['', '1', '-3', '12abc', '1e3', 'x']) expect(() => parsePidFile(bad)).toThrow('Cannot read pid file');
  });

  it('resolves once the file is renamed into place, as runc writes it', async () => {
    const dir = tempDir();
    const never = new Promise<void>(() => {});
    const waiting = waitForPidFile(join(dir, 'init.pid'), never);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(dir, '.init.pid'), '31337');
    renameSync(join(dir, '.init.pid'), join(dir, 'init.pid'));
    expect(await waiting).toBe(31337);
  });

  it('gives up with undefined when told to and the file never came', async () => {
    const dir = tempDir();
    let giveUp!: () => void;
    const waiting = waitForPidFile(join(dir, 'init.pid'), new Promise<void>((r) => (giveUp = r)));
    giveUp();
    expect(await waiting).toBeUndefined();
  });
});
