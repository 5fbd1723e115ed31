// Repositories as handlers meet them: looked up by name, or created on first push in the account
// (or organization) that owns the namespace.
import { findAccountByName } from '../../db/queries/accounts';
import { ensureRepository, findRepository } from '../../db/queries/registry';
import type { Repository } from '../../db/schema';
import type { RegistryContext } from './context';
import { registryError } from './errors';
import { namespaceOf } from './names';

/** The error for a repository that does not exist (or that the caller may not know exists). */
export function unknownRepository(name: string) {
  return registryError(404, 'NAME_UNKNOWN', `Repository "${name}" is not known to this registry`, { name });
}

export async function repositoryOr404(rc: RegistryContext, name: string): Promise<Repository> {
  const repo = await findRepository(rc.platform.db, name);
  if (!repo) throw unknownRepository(name);
  return repo;
}

/** The repository a push writes to; the caller's push right was checked, so the namespace exists. */
export async function ensurePushRepository(rc: RegistryContext, name: string): Promise<Repository> {
  const existing = await findRepository(rc.platform.db, name);
  if (existing) return existing;
  const owner = await findAccountByName(rc.platform.db, namespaceOf(name));
  if (!owner) throw registryError(404, 'NAME_UNKNOWN', `Repository "${name}" cannot be created: no account "${namespaceOf(name)}"`, { name });
  return ensureRepository(rc.platform.db, owner.id, name);
}
