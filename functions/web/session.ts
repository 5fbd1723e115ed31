// The web side of sessions: reading the cookie, setting it, and checking form posts.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { findSession, SESSION_TTL_MS, type Session } from '../../db/queries/sessions';
import type { Account } from '../../db/schema';
import { SESSION_COOKIE } from '../auth';
import type { AppEnv } from '../platform';

export type WebEnv = AppEnv & { Variables: AppEnv['Variables'] & { viewer: { account: Account; session: Session } | undefined } };

/** Secure cookies when the page was reached over https (directly or through a TLS proxy). */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

export function setSessionCookie(c: Context, secret: string): void {
  setCookie(c, SESSION_COOKIE, secret, { httpOnly: true, sameSite: 'Lax', secure: isHttps(c), path: '/', maxAge: Math.floor(SESSION_TTL_MS / 1000) });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttps(c) });
}

export const loadViewer = createMiddleware<WebEnv>(async (c, next) => {
  const secret = getCookie(c, SESSION_COOKIE);
  c.set('viewer', secret ? await findSession(c.var.platform.db, secret) : undefined);
  await next();
});

/**
 * A form post without a session (sign-in, sign-up) must come from a page of this origin: browsers
 * send Origin on every POST, so a mismatch is another site submitting the form.
 */
export function isSameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return origin === undefined;
  const host = c.req.header('x-forwarded-host') ?? c.req.header('host') ?? new URL(c.req.url).host;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
