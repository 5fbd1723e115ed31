import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { tokens } from '../../../db/schema';
import { sha256Hex } from '../../../functions/core/hash';
import { openTestApp } from './test-client';

const t = openTestApp();
afterAll(() => t.sql.end());

describe('API tokens', () => {
  it('shows a new token once, stores only its hash, lists it without the secret and revokes it', async () => {
    const u = await t.signUp();
    const res = await t.call(u.token, 'POST', '/api/v1/account/tokens', { name: 'ci', scopes: ['read'], expiresInDays: 30 });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created.secret).toMatch(/^berth_/);
    expect(new Date(created.expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * 86400_000);
    const [row] = await t.db.select().from(tokens).where(eq(tokens.id, created.id));
    expect(row!.secretHash).toBe(await sha256Hex(created.secret));
    expect(JSON.stringify(row)).not.toContain(created.secret);
    expect((await t.call(created.secret, 'GET', '/api/v1/account')).status).toBe(200);
    const list = await (await t.call(u.token, 'GET', '/api/v1/account/tokens')).json();
    expect(list.items.map((x: { id: string }) => x.id)).toContain(created.id);
    expect(list.items.find((x: { id: string }) => x.id === created.id).lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(created.secret);

    // read scope: may read, may not write
    expect((await t.call(created.secret, 'GET', '/api/v1/apps')).status).toBe(200);
    const w = await t.call(created.secret, 'POST', '/api/v1/apps', { name: `x-${t.suffix()}` });
    expect(w.status).toBe(403);
    expect((await w.json()).error.code).toBe('insufficient_scope');

    expect((await t.call(u.token, 'DELETE', `/api/v1/account/tokens/${created.id}`)).status).toBe(200);
    expect((await t.call(created.secret, 'GET', '/api/v1/apps')).status).toBe(401);
  });

  it('refuses expired tokens, admin scope for non-admins, and other accounts’ token ids', async () => {
    const u = await t.signUp();
    const created = await (await t.call(u.token, 'POST', '/api/v1/account/tokens', { name: 'short' })).json();
    await t.db.update(tokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(tokens.id, created.id));
    expect((await t.call(created.secret, 'GET', '/api/v1/account')).status).toBe(401);
    expect((await t.call(u.token, 'POST', '/api/v1/account/tokens', { name: 'a', scopes: ['admin'] })).status).toBe(403);
    const v = await t.signUp();
    expect((await t.call(v.token, 'DELETE', `/api/v1/account/tokens/${created.id}`)).status).toBe(404);
    const bad = await t.call(u.token, 'POST', '/api/v1/account/tokens', { name: '', scopes: ['root'] });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/name: must not be empty/);
  });

  it('runners are for administrators only', async () => {
    const u = await t.signUp();
    expect((await t.call(u.token, 'GET', '/api/v1/runners')).status).toBe(403);
    const admin = await t.call(t.stack.adminToken, 'GET', '/api/v1/runners');
    expect(admin.status).toBe(200);
    expect((await t.call(t.stack.adminToken, 'POST', '/api/v1/runners/nope/drain')).status).toBe(404);
  });
});

describe('sign-up and passwords', () => {
  it('refuses a taken name and a short password', async () => {
    const u = await t.signUp();
    const taken = await t.call(undefined, 'POST', '/api/v1/users', { name: u.name, password: 'long enough password' });
    expect(taken.status).toBe(409);
    const short = await t.call(undefined, 'POST', '/api/v1/users', { name: `s-${t.suffix()}`, password: 'short' });
    expect(short.status).toBe(400);
    expect((await short.json()).error.message).toContain('password: must be at least 10 characters');
  });
});
