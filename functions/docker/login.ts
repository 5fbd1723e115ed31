// POST /auth: `docker login <host>` asks the engine to check the credentials before it stores them.
// Berth's registry takes an account name with one of its API tokens (Basic), so the engine checks
// exactly that, for its own registry host only: it cannot vouch for another registry's passwords.
// Served ahead of the bearer-token guard: the credentials are in the body.
import { Hono } from 'hono';
import { findAccountByToken } from '../../db/queries/accounts';
import { touchToken } from '../../db/queries/tokens';
import { registryHost } from '../api/app-address';
import type { AppEnv } from '../platform';
import { dockerError } from './engine-errors';

interface AuthBody {
  username?: unknown;
  password?: unknown;
  serveraddress?: unknown;
  identitytoken?: unknown;
}

/** `https://host:port/v1/`, `host:port` → `host:port`, as the CLI may send either. */
export function hostOfServerAddress(address: string): string {
  return address.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

export const login = new Hono<AppEnv>();

login.post('/auth', async (c) => {
  const text = await c.req.text();
  if (text.length > 64 * 1024) throw dockerError(413, 'Cannot log in: the request body is larger than 64 KiB');
  let body: AuthBody;
  try {
    body = JSON.parse(text || '{}') as AuthBody;
  } catch {
    throw dockerError(400, 'Cannot log in: the body is not JSON');
  }
  if (typeof body !== 'object' || body === null) throw dockerError(400, 'Cannot log in: the body is not an object');
  const host = registryHost(c.var.platform);
  const server = typeof body.serveraddress === 'string' && body.serveraddress !== '' ? hostOfServerAddress(body.serveraddress) : host;
  if (server !== host.toLowerCase()) {
    throw dockerError(400, `Cannot log in to "${String(body.serveraddress)}": this engine logs in to Berth's registry only; use "docker login ${host}"`);
  }
  const secret = typeof body.password === 'string' && body.password !== '' ? body.password : typeof body.identitytoken === 'string' ? body.identitytoken : '';
  if (typeof body.username !== 'string' || body.username === '' || secret === '') {
    throw dockerError(400, 'Cannot log in: a username (your Berth account name) and a password (one of its API tokens) are required');
  }
  const found = await findAccountByToken(c.var.platform.db, secret);
  if (!found || found.account.name !== body.username) {
    throw dockerError(401, `Login to ${host} failed: unauthorized: the account name or API token is wrong, revoked or expired`);
  }
  await touchToken(c.var.platform.db, found.token.id);
  return c.json({ Status: 'Login Succeeded', IdentityToken: '' });
});
