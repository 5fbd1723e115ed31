// Job handlers for containers: 'run' places and starts one here, 'stop', 'remove', 'exec' and 'signal' act on
// one placed here (their jobs carry this runner's id). Payloads are checked: a job row is input.
import type { Db } from '../../db/client';
import { measureLiveContainersOn, getContainer, markContainerExited, markContainerRemoved, placeContainer, setContainerStopping } from '../../db/queries/container-runs';
import { withLease } from '../../db/queries/jobs';
import { setContainerStatus } from '../../db/queries/containers';
import { RetryableError, type JobHandler } from '../queue/worker';
import { runcIdFor } from './container-files';
import type { ContainerService } from './container-service';
import { teardownContainer } from './teardown';

const MAX_OUTPUT = 64 * 1024;

function readContainerId(payload: unknown): string {
  const id = (payload as { containerId?: unknown } | null)?.containerId;
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) throw new Error(`Cannot handle container job: payload containerId "${String(id)}" is not a container id`);
  return id;
}

function readStringArray(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`Cannot handle container job: ${what} must be a list of strings`);
  return value as string[];
}

export interface ContainerHandlerOptions {
  service: ContainerService;
  runnerId: string;
  home: string;
  /** Containers this runner takes before it lets others place new ones. */
  maxContainers: number;
  /** Memory the runner's containers may reserve in all (their limits; `defaultMemoryMb` for one without). */
  memoryMb: number;
  defaultMemoryMb: number;
  ready: Promise<unknown>;
}

function memoryOf(row: { spec: unknown }): number | undefined {
  const mb = (row.spec as { memoryMb?: unknown } | null)?.memoryMb;
  return typeof mb === 'number' && mb > 0 ? mb : undefined;
}

export function createContainerHandlers(o: ContainerHandlerOptions): Record<string, JobHandler> {
  const { service, runnerId } = o;

  const run: JobHandler = async ({ job, lease, db }) => {
    await o.ready;
    const id = readContainerId(job.payload);
    const row = await getContainer(db, id);
    if (!row) throw new Error(`Cannot run container "${id}": it does not exist`);
    if (row.status === 'removed') return { skipped: 'removed' };
    const held = await measureLiveContainersOn(db, runnerId, o.defaultMemoryMb);
    if (held.count >= o.maxContainers) throw new RetryableError(`Cannot run container "${id}" here: runner ${runnerId} is full (${held.count} containers)`);
    const wantMb = memoryOf(row) ?? o.defaultMemoryMb;
    if (wantMb > o.memoryMb) {
      // No waiting helps (runners of a pool are alike): the container is dead, saying why.
      const reason = `Cannot run container "${id}": it asks for ${wantMb} MiB of memory, more than a runner has (${o.memoryMb} MiB)`;
      await withLease(db, lease, (tx: Db) => setContainerStatus(tx, id, 'dead', { exitReason: reason, finishedAt: new Date() }));
      throw new Error(reason);
    }
    if (held.memoryMb + wantMb > o.memoryMb) throw new RetryableError(`Cannot run container "${id}" here: runner ${runnerId} has ${o.memoryMb - held.memoryMb} MiB of memory free, it asks for ${wantMb}`);
    const placed = await withLease(db, lease, (tx) => placeContainer(tx, id, runnerId));
    if (!placed) throw new Error(`Cannot run container "${id}": it is ${row.status}${row.runnerId ? ` on runner ${row.runnerId}` : ''}`);
    // A start that failed before the process ran (runc or network set-up) is tried once more: start()
    // tears the failed attempt's files down first, and such failures are seen to be transient.
    for (let attempt = 1; ; attempt++) {
      try {
        const info = await service.start(placed);
        return { runnerId, pid: info.pid, address: info.address, ports: info.ports };
      } catch (error) {
        const message = (error as Error).message;
        if (attempt === 1 && !service.supervisor.has(id) && /before the process started/.test(message)) {
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        await withLease(db, lease, (tx: Db) => markContainerExited(tx, id, runnerId, { status: 'dead', exitCode: null, exitReason: message }));
        throw error;
      }
    }
  };

  const stop: JobHandler = async ({ job, db }) => {
    await o.ready;
    const id = readContainerId(job.payload);
    const p = job.payload as { signal?: unknown; graceSeconds?: unknown; remove?: unknown };
    const grace = typeof p.graceSeconds === 'number' && p.graceSeconds >= 0 && p.graceSeconds <= 3600 ? p.graceSeconds * 1000 : undefined;
    if (!service.supervisor.has(id)) {
      await markContainerExited(db, id, runnerId, { status: 'exited', exitCode: null, exitReason: 'stopped' });
      if (p.remove === true) await markContainerRemoved(db, id);
      return { stopped: false };
    }
    await setContainerStopping(db, id, runnerId);
    // SIGTERM is the API's "stop": the image's STOPSIGNAL stands in for it, as in Docker.
    if (p.signal === 'SIGKILL') await service.supervisor.stop(id, { signal: 'SIGKILL', graceMs: 0 });
    else await service.supervisor.stop(id, { graceMs: grace });
    // A deployment retiring its containers removes them once stopped.
    if (p.remove === true) await service.supervisor.remove(id);
    return { stopped: true };
  };

  const remove: JobHandler = async ({ job, db }) => {
    await o.ready;
    const id = readContainerId(job.payload);
    if (service.supervisor.has(id)) await service.supervisor.remove(id);
    else await teardownContainer({ home: o.home, runc: service.options.runc, networkSettings: service.options.networkSettings }, runcIdFor(id));
    await markContainerRemoved(db, id);
    return { removed: true };
  };

  const exec: JobHandler = async ({ job }) => {
    await o.ready;
    const id = readContainerId(job.payload);
    const p = job.payload as { command?: unknown; env?: unknown; user?: unknown; workdir?: unknown };
    const command = readStringArray(p.command, 'command');
    if (!command || command.length === 0) throw new Error(`Cannot exec in container "${id}": no command given`);
    const env = p.env && typeof p.env === 'object' && !Array.isArray(p.env) ? Object.entries(p.env as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`) : readStringArray(p.env, 'env');
    const cwd = typeof p.workdir === 'string' && p.workdir.startsWith('/') ? p.workdir : undefined;
    const user = typeof p.user === 'string' && p.user !== '' ? await service.supervisor.resolveUser(id, p.user) : undefined;
    const r = await service.supervisor.exec(id, command, { env, cwd, user });
    return { exitCode: r.code, output: (r.stdout + r.stderr).slice(0, MAX_OUTPUT) };
  };

  const signal: JobHandler = async ({ job }) => {
    await o.ready;
    const id = readContainerId(job.payload);
    const sig = (job.payload as { signal?: unknown }).signal;
    if (typeof sig !== 'string' || !/^(SIG[A-Z0-9]{2,8}|\d{1,2})$/.test(sig)) throw new Error(`Cannot signal container "${id}": "${String(sig)}" is not a signal`);
    await service.supervisor.signal(id, sig);
    return { signalled: sig };
  };

  return { run, stop, remove, exec, signal };
}
