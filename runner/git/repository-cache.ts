// The runner's copy of an app's repository: a bare repository under the runner's home, fed the
// packs pushes stored in S3, each once, in push order (so a thin pack's bases are already there).
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../../db/client';
import { listGitPacks } from '../../db/queries/git';
import { packKey } from '../../functions/git/object-store';
import type { BlobStore } from '../../functions/storage/blob-store';
import { runGit } from './run-git';

export interface RepositoryCacheEnv {
  db: Db;
  blobs: BlobStore;
  /** Where bare repositories live, e.g. <runner home>/git. */
  dir: string;
}

const locks = new Map<string, Promise<unknown>>();

/** One update of an app's cache at a time in this process. */
function withAppLock<T>(appId: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(appId) ?? Promise.resolve();
  const next = prev.catch(() => {}).then(fn);
  locks.set(appId, next);
  return next;
}

export function repositoryPath(env: RepositoryCacheEnv, appId: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(appId)) throw new Error(`Cannot use app id "${appId}" as a directory name`);
  return join(env.dir, `${appId}.git`);
}

/** Brings the app's bare repository up to date with its stored packs; returns its path and how many packs it applied. */
export function syncRepository(env: RepositoryCacheEnv, appId: string): Promise<{ gitDir: string; applied: number }> {
  return withAppLock(appId, async () => {
    const gitDir = repositoryPath(env, appId);
    if (!existsSync(join(gitDir, 'HEAD'))) {
      await mkdir(gitDir, { recursive: true });
      await runGit(['init', '--bare', '-q', gitDir]);
    }
    const appliedFile = join(gitDir, 'berth-applied-packs');
    const applied = new Set((await readFile(appliedFile, 'utf8').catch(() => '')).split('\n').filter(Boolean));
    let count = 0;
    for (const pack of await listGitPacks(env.db, appId)) {
      if (applied.has(pack.digest)) continue;
      const bytes = await env.blobs.getBytes(packKey(appId, pack.digest.replace(/^sha256:/, '')));
      if (!bytes) throw new Error(`Cannot update the repository of app ${appId}: pack ${pack.digest} is missing from storage`);
      await runGit(['index-pack', '--stdin', '--fix-thin'], { gitDir, input: bytes });
      await appendFile(appliedFile, `${pack.digest}\n`);
      count++;
    }
    return { gitDir, applied: count };
  });
}

/** Fetches a ref from a forge's http(s) clone URL into the app's repository (a webhook build). */
export async function fetchIntoRepository(env: RepositoryCacheEnv, appId: string, from: { url: string; ref: string }, signal?: AbortSignal): Promise<void> {
  if (!/^https?:\/\//.test(from.url)) throw new Error(`Cannot fetch from "${from.url}": only http and https are fetched`);
  if (!/^refs\/heads\/[A-Za-z0-9._/-]+$/.test(from.ref) || from.ref.includes('..')) throw new Error(`Cannot fetch ref "${from.ref}": not a branch name`);
  const { gitDir } = await syncRepository(env, appId);
  await withAppLock(appId, () =>
    runGit(['fetch', '--no-tags', '-q', from.url, `+${from.ref}:refs/berth/fetched/${from.ref.slice('refs/heads/'.length)}`], { gitDir, signal }).catch((err: Error) => {
      throw new Error(`Cannot fetch ${from.ref} from ${from.url.replace(/\/\/[^@/]*@/, '//')}: ${err.message}`);
    }),
  );
}
