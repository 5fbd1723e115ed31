// Wires containers into the runner: the service (supervisor + Postgres), reconciliation before the
// first container job, the job handlers, and a loop that moves the containers of runners declared
// dead (no heartbeat) back to the queue so live runners start them again.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:net';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { createDb } from '../../db/client';
import { rescheduleContainersOfDeadRunners } from '../../db/queries/container-runs';
import { readS3Config } from '../../functions/storage/s3';
import { createNodeS3Client } from '../../functions/storage/s3-client.node.ts';
import { BlobStore } from '../../functions/storage/blob-store';
import { LayerStore } from '../image/layer-store';
import { buildResolvConf } from '../sandbox/cni-config';
import { DEFAULT_IDMAP } from '../sandbox/idmap';
import { DEFAULT_RUNC } from '../sandbox/runc';
import type { JobHandler } from '../queue/worker';
import { parseDiskLimit } from '../sandbox/disk-watch';
import { serveAttach } from './attach';
import { ContainerService } from './container-service';
import { answerArchive, answerQuery, prepareExtract } from './container-query';
import { createDeployHandler } from './deploy';
import { createContainerHandlers } from './handlers';
import { resolveImage } from './image-resolve';

export interface ContainerRuntimeConfig {
  databaseUrl: string;
  home: string;
  id: string;
}

export function createContainerRuntime(config: ContainerRuntimeConfig, env: NodeJS.ProcessEnv, log = (m: string) => console.log(`[containers] ${m}`)): { handlers: Record<string, JobHandler>; service: ContainerService; ready: Promise<unknown>; stop(): Promise<void> } {
  const { db, sql } = createDb(config.databaseUrl, { max: 4 });
  const blobs = new BlobStore(createNodeS3Client(readS3Config(env)), readS3Config(env).bucket);
  const layers = new LayerStore({ root: join(config.home, 'layers'), blobs, idmap: DEFAULT_IDMAP, budgetBytes: Number(env.BERTH_LAYER_BUDGET_BYTES ?? 50 * 1024 ** 3) });
  let hostResolv = '';
  try {
    hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolver configured: the fallbacks below apply
  }
  const service = new ContainerService({
    db,
    home: config.home,
    runnerId: config.id,
    runc: DEFAULT_RUNC,
    idmap: DEFAULT_IDMAP,
    networkSettings: {
      cniPath: env.BERTH_CNI_PATH ?? '/usr/lib/cni',
      bridge: env.BERTH_BRIDGE ?? 'berth0',
      subnet: env.BERTH_SUBNET ?? '10.213.0.0/16',
      stateDir: join(config.home, 'cni'),
    },
    resolvConf: buildResolvConf(hostResolv, ['1.1.1.1', '9.9.9.9']),
    diskLimitBytes: parseDiskLimit(env.BERTH_CONTAINER_DISK_GB, 10),
    ...(env.BERTH_CONTAINER_LOG_LINES ? { keepLogLines: Math.max(100, Number(env.BERTH_CONTAINER_LOG_LINES) || 20_000) } : {}),
    resolveImage: async (ref, digest, holder) => {
      const image = await resolveImage({ db, blobs, layers }, ref, digest);
      // Eviction skips layers under a lease; the lease lives until the container is removed.
      await layers.lease(holder, image.diffIds);
      return image;
    },
    onRemoved: (runcId) => layers.release(runcId),
    onAdopted: (runcId, diffIds) => layers.lease(runcId, diffIds),
    log,
  });
  let attachServer: Server | undefined;
  const ready = (async () => {
    await mkdir(config.home, { recursive: true, mode: 0o711 });
    await layers.open();
    const report = await service.reconcile();
    attachServer = await serveAttach(join(config.home, 'attach.sock'), {
      attach: (req, gone) => service.supervisor.attach(req, gone),
      resize: (req) => service.supervisor.resize(req),
      exec: (req) => service.supervisor.execSession(req),
      query: (req) => answerQuery(service.supervisor, req),
      archive: (req) => answerArchive(service.supervisor, DEFAULT_IDMAP, req),
      extract: (req) => prepareExtract(service.supervisor, DEFAULT_IDMAP, req),
    });
    log(`reconciled: adopted ${report.adopted.length}, restarted ${report.restarted.length}, exited ${report.exited.length}, cleaned ${report.cleaned.length}, lost ${report.lost.length}${report.errors.length ? `; errors: ${report.errors.join('; ')}` : ''}`);
  })();
  ready.catch((e: unknown) => log(`reconcile failed: ${(e as Error).message}`));
  const timer = setInterval(() => {
    void rescheduleContainersOfDeadRunners(db)
      .then((r) => {
        if (r.rescheduled.length || r.lost.length) log(`dead runners: ${r.rescheduled.length} container(s) rescheduled, ${r.lost.length} lost`);
      })
      .catch(() => {});
  }, Number(env.BERTH_RESCHEDULE_MS ?? 5_000));
  timer.unref();
  const handlers = {
    ...createContainerHandlers({
      service,
      runnerId: config.id,
      home: config.home,
      maxContainers: Number(env.BERTH_RUNNER_MAX_CONTAINERS ?? 50),
      // Memory for containers: what the machine has, less 512 MiB for the runner and the system.
      memoryMb: Number(env.BERTH_RUNNER_MEMORY_MB ?? Math.max(256, Math.floor(totalmem() / 1024 / 1024) - 512)),
      defaultMemoryMb: Number(env.BERTH_CONTAINER_DEFAULT_MEMORY_MB ?? 256),
      ready,
    }),
    deploy: createDeployHandler(),
  };
  return {
    handlers,
    service,
    ready,
    async stop() {
      clearInterval(timer);
      attachServer?.close();
      // The containers keep running under their shims; the next runner process adopts them.
      await service.supervisor.detachAll();
      await sql.end({ timeout: 5 });
    },
  };
}
