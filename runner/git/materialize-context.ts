// A git build's context: the commit's tree (or its configured subdirectory) as a tar, stored at
// contexts/sha256/<hex> like an uploaded context, and recorded on the build row.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { eq } from 'drizzle-orm';
import { apps, builds, type Build } from '../../db/schema';
import { contextKey } from '../../functions/storage/blob-store';
import { syncRepository, type RepositoryCacheEnv } from './repository-cache';
import { runGit } from './run-git';

export interface GitContext {
  contextDigest: string;
  contextMediaType: string;
  dockerfilePath: string;
  /** Set when the Dockerfile lies outside the context directory. */
  dockerfile: string | null;
}

/** Normalises a repository-relative path; '' is the root. Refuses escapes. */
export function repoPath(value: string, what: string): string {
  const p = posix.normalize(value.replace(/^\/+/, ''));
  if (p === '.' || p === '') return '';
  if (p.startsWith('../') || p === '..') throw new Error(`Cannot use ${what} "${value}": it leaves the repository`);
  return p.replace(/\/+$/, '');
}

/** Materialises the build's commit; the build must carry gitCommit and an app. */
export async function materializeGitContext(env: RepositoryCacheEnv, build: Build, signal?: AbortSignal): Promise<GitContext> {
  if (!build.gitCommit || !build.appId) throw new Error(`Cannot materialise build ${build.id}: it has no git commit or app`);
  if (!/^[0-9a-f]{40}$/.test(build.gitCommit)) throw new Error(`Cannot materialise build ${build.id}: "${build.gitCommit}" is not a commit id`);
  const commit = build.gitCommit;
  const [app] = await env.db.select().from(apps).where(eq(apps.id, build.appId));
  if (!app) throw new Error(`Cannot materialise build ${build.id}: its app no longer exists`);
  const { gitDir } = await syncRepository(env, app.id);
  await runGit(['cat-file', '-e', `${commit}^{commit}`], { gitDir }).catch(() => {
    throw new Error(`Cannot build commit ${commit}: it is not in the pushed repository`);
  });
  const context = repoPath(app.contextPath, 'context path');
  // The app's Dockerfile path is relative to the repository root, as on the push's build row.
  const dockerfileInRepo = repoPath(build.dockerfilePath || app.dockerfilePath, 'Dockerfile path');
  await runGit(['cat-file', '-e', `${commit}:${dockerfileInRepo}`], { gitDir }).catch(() => {
    throw new Error(`Cannot build commit ${commit.slice(0, 12)}: it has no "${dockerfileInRepo}"`);
  });
  const treeish = context ? `${commit}:${context}` : commit;
  const tar = await runGit(['archive', '--format=tar', treeish], { gitDir, signal }).catch((err: Error) => {
    throw new Error(`Cannot build commit ${commit.slice(0, 12)}: context path "${app.contextPath}" is not a directory in it (${err.message})`);
  });
  const hex = createHash('sha256').update(tar).digest('hex');
  const digest = `sha256:${hex}`;
  if (!(await env.blobs.stat(contextKey(digest)))) await env.blobs.put(contextKey(digest), tar, tar.length, 'application/x-tar');
  let dockerfile: string | null = null;
  let dockerfilePath = posix.relative(context || '.', dockerfileInRepo);
  if (dockerfilePath.startsWith('..')) {
    dockerfile = (await runGit(['show', `${commit}:${dockerfileInRepo}`], { gitDir })).toString('utf8');
    dockerfilePath = posix.basename(dockerfileInRepo);
  }
  const result: GitContext = { contextDigest: digest, contextMediaType: 'application/x-tar', dockerfilePath, dockerfile };
  await env.db.update(builds).set(result).where(eq(builds.id, build.id));
  return result;
}
