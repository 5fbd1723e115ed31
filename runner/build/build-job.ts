// The `build` job (payload { buildId }): fetch the context, run the executor, record the outcome on
// the build row under the job's lease, and leave nothing behind — mounts, temp dirs, layer leases —
// whatever happened.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { finishBuildRun, startBuildRun } from '../../db/queries/build-runs';
import { deployBuildIfRequested } from '../../db/queries/deployments';
import { accounts } from '../../db/schema';
import { parseReference } from '../../functions/core/oci/reference';
import { berthRepositoryFor } from '../image/base-images';
import { listMountsUnder, removeOverlay } from '../sandbox/overlay';
import type { JobContext, JobHandler } from '../queue/worker';
import { BuildCancelledError, BuildStepError, type BuilderEnv } from './build-env';
import { createBuildLog } from './build-log';
import { ContextError, fetchContext, prepareContext } from './context';
import { executeBuild } from './execute';

export interface BuildJobOptions {
  runnerId: string;
  /** The whole build's time limit. */
  timeoutMs?: number;
  echo?: (line: string) => void;
}

/** Where one attempt works; a crash leaves it for cleanBuildDirs. */
function workDirFor(env: BuilderEnv, buildId: string, attempt: number): string {
  return join(env.home, 'builds', `${buildId}-${attempt}`);
}

/** Unmounts and removes every build work dir under the runner's home (start after a crash, or after a build). */
export async function cleanBuildDirs(dir: string): Promise<void> {
  for (const m of (await listMountsUnder(dir)).reverse()) {
    await removeOverlay(m.replace(/\/merged$/, '')).catch(() => {});
  }
  if ((await listMountsUnder(dir)).length === 0) await rm(dir, { recursive: true, force: true });
}

/** The repository and tags a build's references name; each must be in the account's namespace. */
export function buildTargets(tags: string[], accountName: string, ownHosts: string[]): { repository: string; tags: string[]; imageRef: string | null } {
  if (tags.length === 0) return { repository: `${accountName}/builds`, tags: [], imageRef: null };
  let repository: string | undefined;
  const names: string[] = [];
  for (const t of tags) {
    const ref = parseReference(t);
    const repo = ref.registry === 'docker.io' && !t.startsWith('docker.io/') ? ref.repository.replace(/^library\//, '') : berthRepositoryFor(ref, ownHosts);
    if (!repo.startsWith(`${accountName}/`)) throw new BuildStepError(`Cannot tag "${t}": repositories of account "${accountName}" start with "${accountName}/"`);
    if (repository && repo !== repository) throw new BuildStepError(`Cannot tag "${t}": all tags of one build must name the same repository ("${repository}")`);
    repository = repo;
    names.push(ref.tag ?? 'latest');
  }
  return { repository: repository!, tags: names, imageRef: `${repository}:${names[0]}` };
}

export function createBuildHandler(makeEnv: (db: JobContext['db']) => Promise<BuilderEnv>, o: BuildJobOptions): JobHandler {
  return async (ctx: JobContext) => {
    const env = await makeEnv(ctx.db);
    const buildId = String((ctx.job.payload as { buildId?: unknown }).buildId ?? '');
    if (!buildId) throw new Error('Cannot run build job: payload has no buildId');
    const build = await startBuildRun(ctx.db, ctx.lease, buildId, o.runnerId);
    if (!build) return { skipped: 'build is no longer queued' };
    const log = createBuildLog(ctx.db, buildId, o.echo);
    const workDir = workDirFor(env, buildId, ctx.job.attempts);
    const signal = o.timeoutMs ? AbortSignal.any([ctx.signal, AbortSignal.timeout(o.timeoutMs)]) : ctx.signal;
    const started = Date.now();
    try {
      await mkdir(workDir, { recursive: true });
      // The sandbox's root (a shifted uid) walks through here to its rootfs.
      await chmod(workDir, 0o711);
      const [account] = await ctx.db.select().from(accounts).where(eq(accounts.id, build.accountId));
      if (!account) throw new BuildStepError(`Cannot build: account ${build.accountId} no longer exists`);
      const targets = buildTargets(build.tags, account.name, env.base.ownHosts);
      let dockerfile = build.dockerfile ?? undefined;
      let contextDir: string | undefined;
      if (build.contextDigest) {
        contextDir = join(workDir, 'context');
        await fetchContext(env.blobs, build.contextDigest, contextDir);
        const prepared = await prepareContext(contextDir, build.dockerfilePath).catch((err) => {
          if (dockerfile !== undefined && err instanceof ContextError) return { dockerfile };
          throw err;
        });
        dockerfile ??= prepared.dockerfile;
      }
      if (dockerfile === undefined) throw new BuildStepError('Cannot build: the build has neither a Dockerfile nor a context holding one');
      const outcome = await executeBuild(env, {
        buildId,
        accountId: build.accountId,
        dockerfile,
        contextDir,
        buildArgs: (build.buildArgs ?? {}) as Record<string, string>,
        target: build.target ?? undefined,
        noCache: build.noCache,
        cacheFrom: build.cacheFrom,
        repository: targets.repository,
        tags: targets.tags,
        labels: (build.labels ?? {}) as Record<string, string>,
        signal,
        log,
        workDir,
      });
      log.line(`Build finished in ${((Date.now() - started) / 1000).toFixed(2)}s`, 'system');
      await log.flush();
      const finished = await finishBuildRun(ctx.db, ctx.lease, buildId, { status: 'succeeded', imageRef: targets.imageRef, manifestDigest: outcome.manifestDigest, configDigest: outcome.configDigest });
      // A git push or a form upload may ask for the image to go live; the deployment is its own job.
      if (finished !== false) {
        const deployment = await deployBuildIfRequested(ctx.db, buildId);
        if (deployment) log.line(`Deploying as deployment #${deployment.number}`, 'system');
        await log.flush();
      }
      return { manifestDigest: outcome.manifestDigest, uploaded: outcome.uploaded, executed: outcome.executed, cached: outcome.cached };
    } catch (err) {
      const cancelled = ctx.signal.aborted && ctx.signal.reason === 'cancelled';
      const timedOut = !ctx.signal.aborted && signal.aborted;
      const message = timedOut
        ? `Build timed out after ${Math.round((o.timeoutMs ?? 0) / 1000)}s`
        : cancelled || err instanceof BuildCancelledError
          ? 'Build cancelled'
          : (err as Error).message;
      log.line(`ERROR: ${message}`, 'stderr');
      await log.flush();
      if (ctx.signal.aborted && ctx.signal.reason !== 'cancelled') throw err; // lease lost or shutdown: another attempt owns the build
      await finishBuildRun(ctx.db, ctx.lease, buildId, { status: cancelled ? 'cancelled' : 'failed', error: message }).catch(() => false);
      throw new Error(message);
    } finally {
      await log.close();
      await env.layers.release(buildId);
      await cleanBuildDirs(workDir).catch(() => {});
    }
  };
}
