import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { findAccountByToken, type TokenScope } from '../db/queries/accounts';
import { listActingAccountIds } from '../db/queries/memberships';
import { findSession, type Session } from '../db/queries/sessions';
import { touchToken } from '../db/queries/tokens';
import type { Account, Token } from '../db/schema';
import { HttpError, unauthorized } from './core/errors';
import type { AppEnv } from './platform';

export const SESSION_COOKIE = 'berth_session';

export type AuthEnv = AppEnv & {
  Variables: AppEnv['Variables'] & {
    account: Account;
    /** The token the request came with; undefined when it came with a session cookie. */
    token: Token | undefined;
    session: Session | undefined;
    scopes: TokenScope[];
    /** The account itself and the organisations it is a member of: whose resources it may see. */
    actingAccountIds: string[];
  };
};

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

export function hasScope(scopes: readonly string[], scope: TokenScope): boolean {
  return scopes.includes('admin') || scopes.includes(scope) || (scope === 'read' && scopes.includes('write'));
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates by token (Authorization header) or by the browser's session cookie. A cookie is sent
 * by the browser on its own, so an unsafe request authenticated by it must also carry the session's
 * CSRF token in `X-CSRF-Token`, which a page of another origin cannot read.
 */
export function requireAuth(scope: TokenScope = 'read') {
  return createMiddleware<AuthEnv>(async (c, next) => {
    // Sub-apps mounted on overlapping paths each guard their routes; authenticate once per request.
    if (c.var.account) {
      if (!hasScope(c.var.scopes, scope) || (scope === 'admin' && !c.var.account.isAdmin)) {
        throw new HttpError(403, 'insufficient_scope', `Permission denied: this token lacks the '${scope}' scope`);
      }
      return next();
    }
    const db = c.var.platform.db;
    const creds = readCredentials(c.req.header('authorization'));
    let account: Account;
    let scopes: TokenScope[];
    if (creds) {
      const found = await findAccountByToken(db, creds.secret);
      if (!found || (creds.user !== undefined && creds.user !== found.account.name)) {
        throw unauthorized('Authentication failed: the token is unknown, revoked or expired');
      }
      account = found.account;
      scopes = found.token.scopes as TokenScope[];
      await touchToken(db, found.token.id);
      c.set('token', found.token);
      c.set('session', undefined);
    } else {
      const cookie = getCookie(c, SESSION_COOKIE);
      const found = cookie ? await findSession(db, cookie) : undefined;
      if (!found) throw unauthorized();
      if (!SAFE_METHODS.has(c.req.method) && c.req.header('x-csrf-token') !== found.session.csrfToken) {
        throw new HttpError(403, 'csrf_failed', 'Request refused: a request authenticated by the session cookie must send the X-CSRF-Token header of the page');
      }
      account = found.account;
      scopes = account.isAdmin ? ['read', 'write', 'admin'] : ['read', 'write'];
      c.set('token', undefined);
      c.set('session', found.session);
    }
    if (!hasScope(scopes, scope)) throw new HttpError(403, 'insufficient_scope', `Permission denied: this token lacks the '${scope}' scope`);
    if (scope === 'admin' && !account.isAdmin) throw new HttpError(403, 'forbidden', 'Permission denied: only an administrator may do this');
    c.set('account', account);
    c.set('scopes', scopes);
    c.set('actingAccountIds', await listActingAccountIds(db, account));
    await next();
  });
}

/** Read scope for safe methods, write scope for the rest. */
export function requireAuthByMethod() {
  const read = requireAuth('read');
  const write = requireAuth('write');
  return createMiddleware<AuthEnv>((c, next) => (SAFE_METHODS.has(c.req.method) ? read : write)(c, next));
}
