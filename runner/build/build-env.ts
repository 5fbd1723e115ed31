// What executing a build needs from the runner (storage, the layer store, sandbox settings) and what
// a build brings (its Dockerfile, context, arguments, log, cancel signal).
import type { Db } from '../../db/client';
import type { BlobStore } from '../../functions/storage/blob-store';
import type { BaseImageOptions } from '../image/base-images';
import type { LayerStore } from '../image/layer-store';
import type { BuiltLayer } from '../image/registry-images';
import type { NetworkSettings } from '../sandbox/cni-config';
import type { IdMap } from '../sandbox/idmap';
import type { Resources } from '../sandbox/spec';
import type { BuildLog } from './build-log';
import type { ImageConfig, History } from '../../functions/core/oci/types';

export interface BuilderEnv {
  db: Db;
  blobs: BlobStore;
  layers: LayerStore;
  idmap: IdMap;
  /** The runner's home; builds work under <home>/builds/<id>. */
  home: string;
  base: BaseImageOptions;
  sandbox: { networkSettings: NetworkSettings; resolvConf: string; resources?: Resources };
  /** Each RUN's time limit (the build's own timeout covers the rest). */
  runTimeoutMs?: number;
  /** What one RUN step may write to its layer, in bytes. */
  diskLimitBytes?: number;
}

export interface BuildRequest {
  buildId: string;
  accountId: string;
  dockerfile: string;
  /** The unpacked context with .dockerignore applied; undefined when the build has none. */
  contextDir?: string;
  isVisible?: (rel: string) => boolean;
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** Images (Berth-built) whose layers may serve as cache, by the keys their manifests carry. */
  cacheFrom?: string[];
  /** Repository in Berth's registry (`<account>/<name>`) and tags to publish (none: untagged). */
  repository: string;
  tags: string[];
  labels?: Record<string, string>;
  signal: AbortSignal;
  log: BuildLog;
  /** Where the build's temporary files live; removed afterwards by the caller. */
  workDir: string;
}

/** A stage's result: what a later FROM, COPY --from or the final image takes. */
export interface StageResult {
  config: ImageConfig;
  layers: BuiltLayer[];
  /** The cache key of each layer (null for layers inherited from an image). */
  layerKeys: (string | null)[];
  history: History[];
  cacheKey: string;
}

export class BuildStepError extends Error {
  override name = 'BuildStepError';
}

export class BuildCancelledError extends Error {
  override name = 'BuildCancelledError';
}

export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new BuildCancelledError('Build cancelled');
}
