import { createMiddleware } from 'hono/factory';
import { findAccountByToken, type TokenScope } from '../db/queries/accounts';
import type { Account, Token } from '../db/schema';
import { HttpError, unauthorized } from './core/errors';
import type { AppEnv } from './platform';

export type AuthEnv = AppEnv & { Variables: AppEnv['Variables'] & { account: Account; token: Token } };

/** The token secret from `Authorization: Bearer <secret>` or Basic `<account>:<secret>`. */
export function readCredentials(header: string | undefined): { user?: string; secret: string } | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return { secret: value };
  if (scheme.toLowerCase() === 'basic') {
    let decoded: string;
    try {
      decoded = atob(value);
    } catch {
      return undefined;
    }
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    return { user: decoded.slice(0, i), secret: decoded.slice(i + 1) };
  }
  return undefined;
}

export function requireAuth(scope: TokenScope = 'read') {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const creds = readCredentials(c.req.header('authorization'));
    if (!creds) throw unauthorized();
    const found = await findAccountByToken(c.var.platform.db, creds.secret);
    if (!found || (creds.user !== undefined && creds.user !== found.account.name)) {
      throw unauthorized('Authentication failed: the token is unknown, revoked or expired');
    }
    const scopes = found.token.scopes;
    const granted = scopes.includes('admin') || scopes.includes(scope) || (scope === 'read' && scopes.includes('write'));
    if (!granted) throw new HttpError(403, 'insufficient_scope', `Permission denied: this token lacks the '${scope}' scope`);
    c.set('account', found.account);
    c.set('token', found.token);
    await next();
  });
}
