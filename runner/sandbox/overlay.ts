// An overlay rootfs: read-only layer dirs below, one upper dir that receives a RUN's changes (or a
// container's writes), a work dir. index=off keeps the upper dir a plain diff of the layers.
//
// mount(2) takes its options in one page (4096 bytes), and a deep image's absolute layer paths pass
// that near 40 layers. Each lower dir therefore gets a short numbered symlink in `<dir>/l`, and the
// mount runs with that directory as its working directory, so `lowerdir=5:4:3:…` stays tiny.
import { spawn } from 'node:child_process';
import { chown, lstat, mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdMap } from './idmap';
import { runCommand } from './exec';

export interface OverlayLayout {
  /** Holds merged/, upper/, work/ and l/. */
  dir: string;
  merged: string;
  upper: string;
  work: string;
  links: string;
}

export function describeOverlay(dir: string): OverlayLayout {
  return { dir, merged: join(dir, 'merged'), upper: join(dir, 'upper'), work: join(dir, 'work'), links: join(dir, 'l') };
}

/**
 * The mount command for `layout`, run with `cwd` as working directory. `lowerCount` lower dirs exist
 * as links `0` (the bottom layer) … `lowerCount-1` (the top one); overlay lists the top one first.
 */
export function buildOverlayMountArgv(layout: OverlayLayout, lowerCount: number): { argv: string[]; cwd: string } {
  if (lowerCount < 1) throw new Error('Cannot mount an overlay: at least one lower dir is needed');
  const lower = Array.from({ length: lowerCount }, (_, i) => String(lowerCount - 1 - i)).join(':');
  const options = `lowerdir=${lower},upperdir=${layout.upper},workdir=${layout.work},index=off`;
  return { argv: ['mount', '-t', 'overlay', 'overlay', '-o', options, layout.merged], cwd: layout.links };
}

export function buildUnmountArgv(target: string, lazy: boolean): string[] {
  return lazy ? ['umount', '-l', target] : ['umount', target];
}

/**
 * Create the layout under `dir` and mount it. `lowerDirs` go bottom (base image) to top; none (FROM
 * scratch) means an empty lower. The upper dir's root belongs to the container's root so `/` is writable.
 */
export async function mountOverlay(dir: string, lowerDirs: string[], idmap: IdMap): Promise<OverlayLayout> {
  const layout = describeOverlay(dir);
  for (const d of [layout.merged, layout.upper, layout.work, layout.links]) await mkdir(d, { recursive: true });
  await chown(layout.upper, idmap.hostBase, idmap.hostBase);
  let lowers = lowerDirs;
  if (lowers.length === 0) {
    lowers = [join(dir, 'empty')];
    await mkdir(lowers[0]!, { recursive: true });
  }
  for (const [i, target] of lowers.entries()) {
    if (!target.startsWith('/')) throw new Error(`Cannot mount an overlay of "${target}": layer paths must be absolute`);
    await rm(join(layout.links, String(i)), { force: true });
    await symlink(target, join(layout.links, String(i)));
  }
  const { argv, cwd } = buildOverlayMountArgv(layout, lowers.length);
  const code = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? 1, stderr }));
  });
  if (code.code !== 0) throw new Error(`Cannot mount overlay at "${layout.merged}": ${code.stderr.trim()}`);
  return layout;
}

/** Mounted overlays whose mount point lies under `prefix`, from /proc/self/mountinfo. */
export async function listMountsUnder(prefix: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const base = prefix.endsWith('/') ? prefix : prefix + '/';
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === prefix || p.startsWith(base)))
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Unmount (lazily if busy) and remove the layout. Safe to call twice, or on a half-made layout. */
export async function removeOverlay(dir: string): Promise<void> {
  const layout = describeOverlay(dir);
  for (const target of (await listMountsUnder(dir)).reverse()) {
    const r = await runCommand(buildUnmountArgv(target, false));
    if (r.code !== 0) {
      const lazy = await runCommand(buildUnmountArgv(target, true));
      if (lazy.code !== 0) throw new Error(`Cannot unmount "${target}": ${lazy.stderr.trim()}`);
    }
  }
  // Refuse to recurse into something still mounted: rm would delete the lower layers' files.
  if ((await listMountsUnder(dir)).length > 0) throw new Error(`Cannot remove overlay "${dir}": still mounted`);
  try {
    await lstat(layout.dir);
  } catch {
    return;
  }
  await rm(layout.dir, { recursive: true, force: true });
}

export async function listOverlayDirs(parent: string): Promise<string[]> {
  try {
    return (await readdir(parent)).map((n) => join(parent, n));
  } catch {
    return [];
  }
}
