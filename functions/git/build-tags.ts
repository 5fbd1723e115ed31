// The image a git build makes: the app's repository in Berth's registry, `latest` (what a deploy
// runs) and the commit's short id (what a rollback can name).
import { registryHost } from '../api/app-address';
import type { Platform } from '../platform';

export function gitBuildTags(platform: Pick<Platform, 'publicUrl'>, owner: string, app: string, commit: string): string[] {
  const repo = `${registryHost(platform)}/${owner}/${app}`;
  return [`${repo}:latest`, `${repo}:git-${commit.slice(0, 12)}`];
}
