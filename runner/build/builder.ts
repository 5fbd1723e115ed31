// The runner's builder: its settings from the environment, the shared layer store, crash clean-up on
// start, and the `build` job handler.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../../db/client';
import { BlobStore } from '../../functions/storage/blob-store';
import { readS3Config } from '../../functions/storage/s3';
import { createNodeS3Client } from '../../functions/storage/s3-client.node.ts';
import { LayerStore } from '../image/layer-store';
import { createUpstreamPuller } from '../image/upstream-registry';
import { buildResolvConf } from '../sandbox/cni-config';
import { parseDiskLimit } from '../sandbox/disk-watch';
import { DEFAULT_IDMAP } from '../sandbox/idmap';
import type { JobHandler } from '../queue/worker';
import type { BuilderEnv } from './build-env';
import { cleanBuildDirs, createBuildHandler } from './build-job';

export interface BuilderSettings {
  home: string;
  runnerId: string;
  env: Record<string, string | undefined>;
  log?: (line: string) => void;
}

function hostsOf(url: string | undefined): string[] {
  if (!url) return [];
  try {
    return [new URL(url).host];
  } catch {
    return [];
  }
}

/** Berth's own registry hosts: references to them are local repositories. */
export function ownRegistryHosts(env: Record<string, string | undefined>): string[] {
  const port = env.BERTH_PORT ?? '8080';
  return [...new Set([...hostsOf(env.BERTH_PUBLIC_URL), `127.0.0.1:${port}`, `localhost:${port}`, ...(env.BERTH_REGISTRY_HOSTS ?? '').split(',').filter(Boolean)])];
}

/** A numeric limit from the environment; `0` or unset-with-no-default means none. */
function limit(value: string | undefined, fallback: number | undefined): number | undefined {
  const n = value === undefined ? fallback : Number(value);
  return n && n > 0 ? n : undefined;
}

export function createBuilder(s: BuilderSettings): { handler: JobHandler; makeEnv: (db: Db) => Promise<BuilderEnv> } {
  const blobs = new BlobStore(createNodeS3Client(readS3Config(s.env)), readS3Config(s.env).bucket);
  const layers = new LayerStore({
    root: join(s.home, 'layers'),
    blobs,
    idmap: DEFAULT_IDMAP,
    budgetBytes: Number(s.env.BERTH_LAYER_BUDGET_BYTES ?? 50 * 1024 ** 3),
  });
  let ready: Promise<void> | undefined;
  const open = () =>
    (ready ??= (async () => {
      await mkdir(s.home, { recursive: true, mode: 0o711 });
      await cleanBuildDirs(join(s.home, 'builds'));
      await layers.open();
    })());
  const resolv = (() => {
    try {
      return readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      return '';
    }
  })();
  const makeEnv = async (db: Db): Promise<BuilderEnv> => {
    await open();
    return {
      db,
      blobs,
      layers,
      idmap: DEFAULT_IDMAP,
      home: s.home,
      base: {
        db,
        blobs,
        ownHosts: ownRegistryHosts(s.env),
        upstream: createUpstreamPuller({
          db,
          blobs,
          dockerHubUrl: s.env.BERTH_UPSTREAM_REGISTRY,
          insecureHosts: (s.env.BERTH_INSECURE_REGISTRIES ?? '').split(',').filter(Boolean),
        }),
        bootstrap: { workDir: join(s.home, 'bootstrap'), cacheDir: s.env.BERTH_DEBOOTSTRAP_CACHE, mirrors: { debian: s.env.BERTH_DEBIAN_MIRROR, ubuntu: s.env.BERTH_UBUNTU_MIRROR } },
        log: s.log,
      },
      sandbox: {
        networkSettings: { cniPath: s.env.BERTH_CNI_PATH ?? '/usr/lib/cni', bridge: s.env.BERTH_BRIDGE ?? 'berth0', subnet: s.env.BERTH_SUBNET ?? '10.213.0.0/16', stateDir: join(s.home, 'cni') },
        resolvConf: buildResolvConf(resolv, ['1.1.1.1', '9.9.9.9']),
        resources: {
          memoryBytes: limit(s.env.BERTH_BUILD_MEMORY_BYTES, 4 * 1024 ** 3),
          cpus: limit(s.env.BERTH_BUILD_CPUS, undefined),
          pidsLimit: limit(s.env.BERTH_BUILD_PIDS, 4096),
        },
      },
      runTimeoutMs: s.env.BERTH_RUN_TIMEOUT_MS ? Number(s.env.BERTH_RUN_TIMEOUT_MS) : undefined,
      diskLimitBytes: parseDiskLimit(s.env.BERTH_BUILD_DISK_GB, 20),
    };
  };
  const handler = createBuildHandler(makeEnv, { runnerId: s.runnerId, timeoutMs: Number(s.env.BERTH_BUILD_TIMEOUT_MS ?? 3_600_000) });
  return { handler, makeEnv };
}
