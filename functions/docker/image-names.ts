// Docker names as the CLI user types them ↔ Berth's registry. An unqualified `web` or `web:v1` is
// the caller's own repository `<account>/web` in Berth's registry; `<account>/web` and
// `<registry host>/<account>/web` name it too. Anything else (debian, ghcr.io/x/y) is an upstream
// image, passed to the runner as is.
import { formatReference, parseReference, type ImageReference } from '../core/oci/reference';
import { dockerError } from './engine-errors';

export interface BerthImageName {
  /** The repository in Berth's registry, e.g. admin/web. */
  repository: string;
  tag: string;
}

function parseDockerReference(input: string): ImageReference {
  try {
    return parseReference(input);
  } catch (err) {
    throw dockerError(400, `invalid reference format: ${(err as Error).message}`);
  }
}

/** The caller's repository a name refers to, or undefined for an upstream image. */
export function toBerthName(input: string, accountName: string, registryHost: string): BerthImageName | undefined {
  const ref = parseDockerReference(input);
  const tag = ref.tag ?? 'latest';
  if (ref.registry === registryHost) return { repository: ref.repository, tag };
  // The CLI sends names fully qualified (docker.io/library/web for `web`), so those count as plain.
  if (ref.registry !== 'docker.io') return undefined;
  const bare = ref.repository.replace(/^library\//, '');
  if (bare.startsWith(`${accountName}/`)) return { repository: bare, tag };
  if (!bare.includes('/')) return { repository: `${accountName}/${bare}`, tag };
  return undefined;
}

/** A build tag (`docker build -t web`) as the reference the builder tags: always the caller's repository. */
export function buildTagFor(input: string, accountName: string, registryHost: string): string {
  const name = toBerthName(input, accountName, registryHost);
  if (!name) throw dockerError(400, `Cannot tag "${input}": Berth builds into your own repositories; use a plain name such as "web" or "${registryHost}/${accountName}/web"`);
  return `${registryHost}/${name.repository}:${name.tag}`;
}

/** What `docker images` shows for a tag of one of the caller's repositories: the short name they typed. */
export function familiarBerthName(repository: string, tag: string, accountName: string): string {
  return `${repository.startsWith(`${accountName}/`) ? repository.slice(accountName.length + 1) : repository}:${tag}`;
}

/** The reference a container runs: the caller's repository when it exists there, else upstream. */
export function runReference(input: string, accountName: string, registryHost: string, exists: (n: BerthImageName) => Promise<boolean>): Promise<string> {
  const name = toBerthName(input, accountName, registryHost);
  const upstream = () => formatReference(parseDockerReference(input));
  if (!name) return Promise.resolve(upstream());
  return exists(name).then((yes) => (yes ? `${registryHost}/${name.repository}:${name.tag}` : upstream()));
}
