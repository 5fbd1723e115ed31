// The 'git-context' job (payload { buildId, fetch? }): fetch from a forge for a webhook build, materialise the pushed commit as the build's context,
// then queue its 'build' job. A commit that cannot become a context fails the build with the reason,
// which the push that is following the build prints.
import { getBuild } from '../../db/queries/builds';
import { enqueueBuildJob, failQueuedBuild } from '../../db/queries/git-builds';
import { appendLogLines } from '../../db/queries/logs';
import type { BlobStore } from '../../functions/storage/blob-store';
import type { JobContext, JobHandler } from '../queue/worker';
import { materializeGitContext } from './materialize-context';
import { fetchIntoRepository } from './repository-cache';

export function createGitContextHandler(o: { blobs: BlobStore; dir: string }): JobHandler {
  return async (ctx: JobContext) => {
    const payload = ctx.job.payload as { buildId?: unknown; fetch?: { url: string; ref: string } };
    const buildId = String(payload.buildId ?? '');
    const build = buildId ? await getBuild(ctx.db, buildId) : undefined;
    if (!build) throw new Error(`Cannot run git-context job: build "${buildId}" does not exist`);
    if (build.status !== 'queued') return { skipped: `build is ${build.status}` };
    const started = Date.now();
    try {
      const env = { db: ctx.db, blobs: o.blobs, dir: o.dir };
      if (payload.fetch && build.appId) await fetchIntoRepository(env, build.appId, payload.fetch, ctx.signal);
      const context = build.contextDigest ? { contextDigest: build.contextDigest } : await materializeGitContext(env, build, ctx.signal);
      await appendLogLines(ctx.db, { kind: 'build', id: buildId }, [
        { stream: 'system', line: `Checked out ${build.gitCommit!.slice(0, 12)} (${build.gitRef ?? 'detached'}) in ${Date.now() - started} ms` },
      ]);
      await enqueueBuildJob(ctx.db, buildId, ctx.job.requiredLabels as Record<string, string>);
      return { contextDigest: context.contextDigest };
    } catch (err) {
      if (ctx.signal.aborted) throw err; // lease lost or shutting down: another attempt will run
      const message = (err as Error).message;
      await appendLogLines(ctx.db, { kind: 'build', id: buildId }, [{ stream: 'stderr', line: `ERROR: ${message}` }]);
      await failQueuedBuild(ctx.db, buildId, message);
      return { failed: message };
    }
  };
}
