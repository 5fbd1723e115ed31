// The runner's git job kinds, for runner/main.ts's handler table.
import { join } from 'node:path';
import type { BlobStore } from '../../functions/storage/blob-store';
import type { JobHandler } from '../queue/worker';
import { createGitContextHandler } from './git-context-job';

/** `home` is the runner's home: app repositories are cached under <home>/git. */
export function createGitHandlers(o: { blobs: BlobStore; home: string }): Record<string, JobHandler> {
  return { 'git-context': createGitContextHandler({ blobs: o.blobs, dir: join(o.home, 'git') }) };
}
