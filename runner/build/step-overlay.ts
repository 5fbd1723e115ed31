// The filesystem a build step works on: an overlay of the parent layers (from the local layer store)
// with a fresh upper dir that becomes the step's layer. Also read-only views of a stage for COPY --from.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerStore } from '../image/layer-store';
import type { BuiltLayer } from '../image/registry-images';
import { runCommand } from '../sandbox/exec';
import type { IdMap } from '../sandbox/idmap';
import { buildUnmountArgv, mountOverlay, removeOverlay, type OverlayLayout } from '../sandbox/overlay';

export interface StepFs {
  layout: OverlayLayout;
  /** Unmounts; the upper dir stays for the layer writer. */
  unmount(): Promise<void>;
  /** Unmounts if needed and removes everything. */
  remove(): Promise<void>;
}

/** Lower dirs for the layers, pulled into the store when missing, leased to holder. */
export async function layerDirs(store: LayerStore, holder: string, layers: BuiltLayer[]): Promise<string[]> {
  await store.lease(holder, layers.map((l) => l.diffId));
  const dirs: string[] = [];
  for (const l of layers) dirs.push(l.path ? await store.importFile(l, l.path) : await store.ensure(l));
  return dirs;
}

export async function mountStepFs(dir: string, lowerDirs: string[], idmap: IdMap): Promise<StepFs> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  let layout: OverlayLayout;
  try {
    layout = await mountOverlay(dir, lowerDirs, idmap);
  } catch (err) {
    await removeOverlay(dir).catch(() => {});
    throw err;
  }
  let mounted = true;
  return {
    layout,
    async unmount() {
      if (!mounted) return;
      const r = await runCommand(buildUnmountArgv(layout.merged, false));
      if (r.code !== 0) throw new Error(`Cannot unmount "${layout.merged}": ${r.stderr.trim()}`);
      mounted = false;
    },
    async remove() {
      mounted = false;
      await removeOverlay(dir);
    },
  };
}

export function stepDir(workDir: string, name: string): string {
  return join(workDir, name);
}
