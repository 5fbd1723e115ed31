import { Hono } from 'hono';
import { requireAuth, type AuthEnv } from '../auth';

export const account = new Hono<AuthEnv>().get('/', requireAuth('read'), (c) => {
  const a = c.var.account;
  return c.json({ id: a.id, name: a.name, kind: a.kind, isAdmin: a.isAdmin, createdAt: a.createdAt });
});
