// GET/POST /v2/token: trades Basic credentials (or none) for a short-lived registry token granting,
// of the scopes asked, what the account may do. Wrong credentials are refused; no credentials get
// an anonymous token that can pull public repositories only.
import type { Account } from '../../db/schema';
import { authenticateAccount, computeActions } from './auth';
import type { RegistryContext } from './context';
import { registryError } from './errors';
import { isValidRepositoryName } from './names';
import { loadTokenSecret, parseScope, signRegistryToken, TOKEN_TTL_SECONDS, type AccessEntry } from './token';

async function grant(rc: RegistryContext, account: Account | undefined, scopes: string[], scopesOfToken: string[]): Promise<AccessEntry[]> {
  const out: AccessEntry[] = [];
  for (const raw of scopes) {
    const s = parseScope(raw);
    if (!s) continue;
    if (s.type === 'registry') {
      if (s.name === 'catalog') out.push({ type: 'registry', name: 'catalog', actions: s.actions.includes('*') || account ? ['*'] : [] });
      continue;
    }
    if (!isValidRepositoryName(s.name)) continue;
    const held = await computeActions(rc.platform, account, scopesOfToken, s.name);
    const prev = out.find((e) => e.type === 'repository' && e.name === s.name);
    const actions = s.actions.filter((a) => held.has(a as 'pull'));
    if (prev) prev.actions = [...new Set([...prev.actions, ...actions])];
    else out.push({ type: 'repository', name: s.name, actions });
  }
  return out;
}

export async function issueToken(rc: RegistryContext): Promise<Response> {
  const c = rc.c;
  let header = c.req.header('authorization');
  const scopes = c.req.queries('scope') ?? [];
  if (c.req.method === 'POST') {
    // The OAuth2 password grant some clients use; a form, so a small one.
    if (Number(c.req.header('content-length') ?? 'NaN') > 64 * 1024 || !c.req.header('content-length')) {
      throw registryError(400, 'UNSUPPORTED', 'Token request refused: send a form of at most 64 KiB with a Content-Length');
    }
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    if (typeof form.username === 'string' && typeof form.password === 'string') header = `Basic ${btoa(`${form.username}:${form.password}`)}`;
    if (typeof form.scope === 'string') scopes.push(form.scope);
  }
  const who = header ? await authenticateAccount(rc.platform, header, rc.origin) : undefined;
  const access = await grant(
    rc,
    who?.account,
    // Each scope costs a lookup: a client asks for a handful, never hundreds.
    scopes.flatMap((s) => s.split(' ')).filter(Boolean).slice(0, 32),
    who?.scopes ?? [],
  );
  const now = Math.floor(Date.now() / 1000);
  const token = await signRegistryToken(await loadTokenSecret(rc.platform.db, rc.platform.registrySecret), {
    iss: 'berth',
    aud: 'berth',
    sub: who?.account.id ?? '',
    name: who?.account.name ?? '',
    iat: now,
    exp: now + TOKEN_TTL_SECONDS,
    access,
  });
  return c.json({ token, access_token: token, expires_in: TOKEN_TTL_SECONDS, issued_at: new Date(now * 1000).toISOString() });
}
