// Who is calling the registry and what they may do to a repository. Three kinds of caller: nobody,
// an account (Basic `<account>:<token>` or a Berth token as Bearer), or the holder of a registry
// token (the Bearer flow docker, skopeo and podman use), which carries its grants.
import { findAccountByToken } from '../../db/queries/accounts';
import { findNamespaceAccess, findRepositoryByName } from '../../db/queries/registry-access';
import type { Account } from '../../db/schema';
import { readCredentials } from '../auth';
import type { Platform } from '../platform';
import { registryError } from './errors';
import { namespaceOf, parseRepositoryName } from './names';
import { loadTokenSecret, looksLikeRegistryToken, verifyRegistryToken, type RegistryAction, type RegistryClaims } from './token';

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'account'; account: Account; scopes: string[] }
  | { kind: 'token'; claims: RegistryClaims };

export const SERVICE = 'berth';

export function challenge(origin: string, scope?: string, error?: string): string {
  let h = `Bearer realm="${origin}/v2/token",service="${SERVICE}"`;
  if (scope) h += `,scope="${scope}"`;
  if (error) h += `,error="${error}"`;
  return h;
}

export function unauthenticated(origin: string, message: string, scope?: string, error?: string) {
  return registryError(401, 'UNAUTHORIZED', message, undefined, { 'WWW-Authenticate': challenge(origin, scope, error) });
}

/** The account a Basic or Berth-token credential names; throws 401 when the credential is wrong. */
export async function authenticateAccount(platform: Platform, header: string, origin: string): Promise<{ account: Account; scopes: string[] }> {
  const creds = readCredentials(header);
  const found = creds ? await findAccountByToken(platform.db, creds.secret) : undefined;
  if (!creds || !found || (creds.user !== undefined && creds.user !== found.account.name)) {
    throw unauthenticated(origin, 'Authentication failed: the account name or token is wrong, revoked or expired');
  }
  return { account: found.account, scopes: found.token.scopes };
}

export async function resolveCaller(platform: Platform, header: string | undefined, origin: string): Promise<Caller> {
  if (!header) return { kind: 'anonymous' };
  const [scheme, value] = header.split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer' && value && looksLikeRegistryToken(value)) {
    const claims = await verifyRegistryToken(await loadTokenSecret(platform.db, platform.registrySecret), value);
    if (!claims) throw unauthenticated(origin, 'Authentication failed: the registry token is invalid or expired', undefined, 'invalid_token');
    return { kind: 'token', claims };
  }
  const { account, scopes } = await authenticateAccount(platform, header, origin);
  return { kind: 'account', account, scopes };
}

/** The actions an account (or nobody) holds on a repository, by ownership, membership and visibility. */
export async function computeActions(platform: Platform, account: Account | undefined, tokenScopes: string[], name: string): Promise<Set<RegistryAction>> {
  const out = new Set<RegistryAction>();
  const ns = await findNamespaceAccess(platform.db, namespaceOf(name), account?.id);
  if (ns.isOwner) {
    const write = tokenScopes.includes('write') || tokenScopes.includes('admin');
    if (write || tokenScopes.includes('read')) out.add('pull');
    if (write) {
      out.add('push');
      out.add('delete');
    }
    return out;
  }
  const repo = await findRepositoryByName(platform.db, name);
  if (repo?.public) out.add('pull');
  return out;
}

/**
 * Checks the caller may do all of `actions` on the repository. Refusals do not tell an existing
 * private repository from a missing one: nobody and token holders that never asked for this
 * repository get a 401 challenge naming the scope (so a client can fetch a better token); a known
 * caller without the right gets NAME_UNKNOWN for reads and DENIED for writes.
 */
export async function authorizeRepository(platform: Platform, caller: Caller, rawName: string, actions: RegistryAction[], origin: string): Promise<string> {
  const name = parseRepositoryName(rawName);
  const scope = `repository:${name}:${actions.join(',')}`;
  let held: Set<string>;
  if (caller.kind === 'token') {
    const entry = caller.claims.access.find((a) => a.type === 'repository' && a.name === name);
    if (!entry || (!caller.claims.sub && !actions.every((a) => entry.actions.includes(a)))) {
      throw unauthenticated(origin, `Authentication required: the token does not grant "${scope}"`, scope, 'insufficient_scope');
    }
    held = new Set(entry.actions);
  } else if (caller.kind === 'anonymous') {
    held = await computeActions(platform, undefined, [], name);
    if (!actions.every((a) => held.has(a))) throw unauthenticated(origin, `Authentication required to access repository "${name}"`, scope);
  } else {
    held = await computeActions(platform, caller.account, caller.scopes, name);
  }
  // Writes first: refusing a push says nothing about whether the repository exists.
  for (const a of [...actions].sort((x, y) => Number(x === 'pull') - Number(y === 'pull'))) {
    if (held.has(a)) continue;
    if (a === 'pull') throw registryError(404, 'NAME_UNKNOWN', `Repository "${name}" is not known to this registry`, { name });
    throw registryError(403, 'DENIED', `Permission denied: cannot ${a} to repository "${name}" (push only into your own account or your organizations)`, { name });
  }
  return name;
}
