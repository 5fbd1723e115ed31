// The session socket's one-answer requests (attach.ts): `top` and `stats` of a container running here.
import type { QueryRequest } from './attach';
import { listContainerProcesses, readContainerStats } from './container-stats';
import type { Supervisor } from './supervisor';

export async function answerQuery(supervisor: Pick<Supervisor, 'runningRuncId'>, req: QueryRequest): Promise<unknown> {
  const runcId = supervisor.runningRuncId(req.containerId);
  if (!runcId) throw new Error(`Container ${req.containerId} is not running`);
  return req.kind === 'top' ? listContainerProcesses(runcId, req.psArgs) : readContainerStats(runcId);
}
