// Where a service container's files live on the runner, and its persisted description (meta.json),
// written before anything is created so a restarted runner can find and adopt or clean up every
// container its home knows about. The bundle and rootfs use the sandbox's paths, so the sandbox's
// orphan cleanup recognises them too.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PortMapping } from '../sandbox/cni-config';
import { sandboxBundleDir, sandboxRootfsDir } from '../sandbox/cleanup';
import type { Resources } from '../sandbox/spec';
import type { ContainerPlan, HealthPlan } from './config';

export interface ContainerMeta {
  /** The container's id in Postgres (64 hex). */
  key: string;
  /** runc's id: `berth-` and the first 24 hex of the key. */
  runcId: string;
  lowerDirs: string[];
  /** The layers' diff_ids, to lease them in the layer store again after a runner restart. */
  diffIds?: string[];
  plan: ContainerPlan;
  /** Ports as asked; `boundPorts` holds the concrete ones once attached (kept across restarts). */
  ports: PortMapping[];
  boundPorts?: PortMapping[];
  resources: Resources;
  restartPolicy: string;
  autoRemove: boolean;
  stopGraceMs: number;
  /** App config's health check, replacing the image's HEALTHCHECK. */
  health?: HealthPlan;
  restartCount: number;
  shimPid?: number;
  /** Keep stdin open on a FIFO for attach (Docker's `-i`). */
  openStdin?: boolean;
  /** The container's address on the bridge, for health probes after adoption. */
  address?: string;
}

export function runcIdFor(key: string): string {
  if (!/^[0-9a-f]{24,64}$/.test(key)) throw new Error(`Cannot name container "${key}": expected a hex id`);
  return `berth-${key.slice(0, 24)}`;
}

export interface ContainerPaths {
  dir: string;
  meta: string;
  stdout: string;
  stderr: string;
  offsets: string;
  exitFile: string;
  stdin: string;
  bundle: string;
  runcLog: string;
  /** runc's --pid-file: appears once the container's process has started. */
  pidFile: string;
  rootfsDir: string;
}

export function containersDir(home: string): string {
  return join(home, 'containers');
}

export function describeContainerPaths(home: string, runcId: string): ContainerPaths {
  const dir = join(containersDir(home), runcId);
  const bundle = sandboxBundleDir(home, runcId);
  return {
    dir,
    meta: join(dir, 'meta.json'),
    stdout: join(dir, 'stdout.log'),
    stderr: join(dir, 'stderr.log'),
    offsets: join(dir, 'log-offsets.json'),
    exitFile: join(dir, 'exit'),
    stdin: join(dir, 'stdin'),
    bundle,
    runcLog: join(bundle, 'runc.log'),
    pidFile: join(bundle, 'init.pid'),
    rootfsDir: sandboxRootfsDir(home, runcId),
  };
}

export async function writeContainerMeta(home: string, meta: ContainerMeta): Promise<void> {
  const p = describeContainerPaths(home, meta.runcId);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await writeFile(`${p.meta}.tmp`, JSON.stringify(meta));
  await rename(`${p.meta}.tmp`, p.meta);
}

export async function readContainerMeta(home: string, runcId: string): Promise<ContainerMeta | undefined> {
  try {
    return JSON.parse(await readFile(describeContainerPaths(home, runcId).meta, 'utf8')) as ContainerMeta;
  } catch {
    return undefined;
  }
}

/** runc ids with a state dir under this home. */
export async function listContainerDirs(home: string): Promise<string[]> {
  try {
    return (await readdir(containersDir(home))).filter((n) => n.startsWith('berth-'));
  } catch {
    return [];
  }
}

/** The exit status the shim recorded, or undefined while it has not. */
export async function readExitFile(path: string): Promise<number | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return /^\d{1,3}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}
