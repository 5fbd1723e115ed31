// The session socket's one-answer requests (attach.ts): `top` and `stats` of a container running here.
import type { Readable } from 'node:stream';
import type { IdMap } from '../sandbox/idmap';
import type { QueryRequest, SessionRequest } from './attach';
import { archiveFromRoot, PathNotFound, statInRoot, type PathStat } from './container-archive';
import { checkExtractDestination, extractIntoRoot } from './container-extract';
import { listContainerProcesses, readContainerStats } from './container-stats';
import type { Supervisor } from './supervisor';

export async function answerQuery(supervisor: Pick<Supervisor, 'runningRuncId'>, req: QueryRequest): Promise<unknown> {
  const runcId = supervisor.runningRuncId(req.containerId);
  if (!runcId) throw new Error(`Container ${req.containerId} is not running`);
  return req.kind === 'top' ? listContainerProcesses(runcId, req.psArgs) : readContainerStats(runcId);
}

/** `docker cp` out of a container placed here (running or exited, not yet removed). */
export async function answerArchive(supervisor: Pick<Supervisor, 'rootfsOf'>, idmap: IdMap, req: Extract<SessionRequest, { kind: 'archive' }>): Promise<{ stat: PathStat; tar?: Readable }> {
  const rootfs = supervisor.rootfsOf(req.containerId);
  if (!rootfs) throw new Error(`No such container: ${req.containerId} has no files on this runner`);
  try {
    if (req.statOnly) return { stat: await statInRoot(rootfs, req.path) };
    return await archiveFromRoot(rootfs, req.path, idmap);
  } catch (e) {
    if (e instanceof PathNotFound) throw new Error(`${e.message} (container ${req.containerId.slice(0, 12)})`);
    throw e;
  }
}

/** `docker cp` into a container placed here: the destination is checked before any byte is read. */
export async function prepareExtract(supervisor: Pick<Supervisor, 'rootfsOf'>, idmap: IdMap, req: Extract<SessionRequest, { kind: 'extract' }>): Promise<(tar: Readable) => Promise<unknown>> {
  const rootfs = supervisor.rootfsOf(req.containerId);
  if (!rootfs) throw new Error(`No such container: ${req.containerId} has no files on this runner`);
  await checkExtractDestination(rootfs, req.path);
  return (tar) => extractIntoRoot({ rootfs, dest: req.path, idmap, copyUidGid: req.copyUidGid, noOverwriteDirNonDir: req.noOverwriteDirNonDir }, tar);
}
