// A step that makes a layer (RUN, COPY, ADD): mount the parent layers, let the step change the
// filesystem, turn the upper dir into a layer, upload it unless S3 has it, adopt the upper dir into
// the local layer store (it already is the unpacked layer), and record the cache entry.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { recordCacheEntry } from '../../db/queries/build-cache';
import { OCI_LAYER_GZIP } from '../../functions/core/oci/media-types';
import { writeLayer } from '../image/layer-writer';
import { uploadBlob, type BuiltLayer } from '../image/registry-images';
import { toHostId } from '../sandbox/idmap';
import type { BuilderEnv, BuildRequest } from './build-env';
import { resolveInRoot } from './root-path';
import { resolveUser, UserLookupError } from './users';
import { layerDirs, mountStepFs } from './step-overlay';
import type { ContainerConfig } from '../../functions/core/oci/types';
import { lchown, lstat } from 'node:fs/promises';

export interface LayerStepResult {
  /** Undefined when the step changed nothing and `dropEmpty` asked for no layer then. */
  layer?: BuiltLayer;
  uploaded: boolean;
  /** When the cache first recorded this key: the layer's history time. */
  createdAt: Date;
}

/** Creates the WORKDIR inside the mounted rootfs when missing, owned by the USER (as BuildKit). */
export async function ensureWorkdir(env: Pick<BuilderEnv, 'idmap'>, rootfs: string, workdir: string | undefined, userSpec?: string): Promise<void> {
  if (!workdir || workdir === '/') return;
  let owner: { uid: number; gid: number } | undefined;
  let cur = '';
  for (const part of workdir.split('/').filter(Boolean)) {
    cur = `${cur}/${part}`;
    const host = await resolveInRoot(rootfs, cur);
    const st = await lstat(host).catch(() => undefined);
    if (st) continue;
    // BuildKit makes the directory as root when the USER is not (yet) in the image's passwd.
    owner ??= userSpec ? await resolveUser(rootfs, userSpec).catch((err) => {
      if (err instanceof UserLookupError) return { uid: 0, gid: 0 };
      throw err;
    }) : { uid: 0, gid: 0 };
    await mkdir(host, { mode: 0o755 });
    await lchown(host, toHostId(env.idmap, owner.uid), toHostId(env.idmap, owner.gid));
  }
}

export async function runLayerStep(
  env: BuilderEnv,
  req: BuildRequest,
  o: { parents: BuiltLayer[]; name: string; cacheKey: string; config: ContainerConfig; sourceDateEpoch?: number; dropEmpty?: boolean },
  change: (rootfs: string) => Promise<void>,
): Promise<LayerStepResult> {
  const lowers = await layerDirs(env.layers, req.buildId, o.parents);
  const fs = await mountStepFs(join(req.workDir, o.name), lowers, env.idmap);
  try {
    await ensureWorkdir(env, fs.layout.merged, o.config.WorkingDir, o.config.User);
    const t0 = Date.now();
    await change(fs.layout.merged);
    await fs.unmount();
    const t1 = Date.now();
    const blob = await writeLayer(fs.layout.upper, join(req.workDir, `${o.name}.tar.gz`), { idmap: env.idmap, sourceDateEpoch: o.sourceDateEpoch });
    const t2 = Date.now();
    if (o.dropEmpty && blob.entries === 0) {
      // Recorded without a layer: a rebuild knows the step is config only and mounts nothing.
      const createdAt = await recordCacheEntry(env.db, { key: o.cacheKey, layerDigest: null, diffId: null, layerSize: null, config: o.config });
      return { uploaded: false, createdAt };
    }
    const uploaded = await uploadBlob(env.db, env.blobs, { digest: blob.digest, size: blob.size, mediaType: OCI_LAYER_GZIP, diffId: blob.diffId, path: blob.path });
    req.log.line(` ---> step ${((t1 - t0) / 1000).toFixed(2)}s, layer ${(blob.size / 1e6).toFixed(1)} MB in ${((t2 - t1) / 1000).toFixed(2)}s, upload ${((Date.now() - t2) / 1000).toFixed(2)}s`, 'system');
    await env.layers.lease(req.buildId, [blob.diffId]);
    await env.layers.adopt(blob.diffId, fs.layout.upper, blob.tarSize);
    const layer: BuiltLayer = { digest: blob.digest, diffId: blob.diffId, size: blob.size };
    const createdAt = await recordCacheEntry(env.db, { key: o.cacheKey, layerDigest: layer.digest, diffId: layer.diffId, layerSize: layer.size, config: o.config });
    return { layer, uploaded, createdAt };
  } finally {
    await fs.remove();
  }
}
