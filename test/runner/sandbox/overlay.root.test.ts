// Overlay rootfs on this kernel: deep layer stacks past the one-page mount option limit (absolute
// paths of ~150 characters fail beyond 26 layers here), copy-up, whiteouts and leak-free removal.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';
import { listMountsUnder, mountOverlay, removeOverlay } from '../../../runner/sandbox/overlay';

let dir: string;
let layers: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-overlay-test-'));
  // Paths as long as a real layer store's: <home>/layers/sha256/<64 hex>.
  const store = join(dir, 'runner-home-with-a-realistic-length', 'layers', 'sha256');
  layers = Array.from({ length: 120 }, (_, i) => {
    const layer = join(store, i.toString(16).padStart(64, '0'));
    mkdirSync(join(layer, 'etc'), { recursive: true });
    writeFileSync(join(layer, 'etc', 'top'), `layer ${i}\n`);
    writeFileSync(join(layer, `only-in-${i}`), '');
    return layer;
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mountOverlay', () => {
  it.each([1, 60, 120])('mounts %i layers with the top one winning, and removes them without a trace', async (count) => {
    const target = join(dir, `rootfs-${count}`);
    expect(layers.slice(0, count).join(':').length).toBeGreaterThan(count > 30 ? 4096 : 0);
    const layout = await mountOverlay(target, layers.slice(0, count), DEFAULT_IDMAP);
    expect(await listMountsUnder(target)).toEqual([layout.merged]);
    expect(readFileSync(join(layout.merged, 'etc', 'top'), 'utf8')).toBe(`layer ${count - 1}\n`);
    expect(statSync(join(layout.merged, 'only-in-0')).isFile()).toBe(true);
    expect(statSync(layout.merged)).toMatchObject({ uid: 100000, gid: 100000 });

    // A change and a deletion land in the upper dir only: new file, and a whiteout (char 0/0).
    writeFileSync(join(layout.merged, 'new-file'), 'x');
    rmSync(join(layout.merged, 'only-in-0'));
    expect(readFileSync(join(layout.upper, 'new-file'), 'utf8')).toBe('x');
    const whiteout = lstatSync(join(layout.upper, 'only-in-0'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    expect(statSync(join(layers[0]!, 'only-in-0')).isFile()).toBe(true);

    await removeOverlay(target);
    expect(await listMountsUnder(target)).toEqual([]);
    expect(() => statSync(target)).toThrow();
    expect(statSync(join(layers[0]!, 'only-in-0')).isFile()).toBe(true);
    await removeOverlay(target); // twice is fine
  });

  it('mounts FROM scratch (no layers) and refuses relative layer paths', async () => {
    const layout = await mountOverlay(join(dir, 'scratch'), [], DEFAULT_IDMAP);
    writeFileSync(join(layout.merged, 'a'), 'a');
    await removeOverlay(join(dir, 'scratch'));
    await expect(mountOverlay(join(dir, 'bad'), ['relative/layer'], DEFAULT_IDMAP)).rejects.toThrow('"relative/layer": layer paths must be absolute');
    await removeOverlay(join(dir, 'bad'));
  });
});
