import { afterAll, describe, expect, it } from 'vitest';
import { openTestApp } from '../api/test-client';

const t = openTestApp();
afterAll(() => t.sql.end());

function form(fields: Record<string, string>) {
  return new URLSearchParams(fields).toString();
}

async function signInCookie(name: string, password: string, headers: Record<string, string> = {}) {
  return t.app.request('/signin', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost', host: 'localhost', ...headers }, body: form({ name, password }) });
}

function cookieOf(res: Response): string {
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('web sessions', () => {
  it('signs up through the form, sets a HttpOnly SameSite=Lax cookie and shows the dashboard', async () => {
    const name = `w-${t.suffix()}`;
    const res = await t.app.request('/signup', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost', host: 'localhost' }, body: form({ name, password: 'a long password' }) });
    expect(res.status).toBe(303);
    const set = res.headers.get('set-cookie')!;
    expect(set).toMatch(/^berth_session=[^;]+;/);
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Lax');
    expect(set).not.toContain('Secure');
    const home = await t.app.request('/', { headers: { cookie: cookieOf(res) } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain(name);
  });

  it('marks the cookie Secure over https', async () => {
    const u = await t.signUp();
    const res = await t.app.request('https://berth.example/signin', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://berth.example' }, body: form({ name: u.name, password: 'correct horse battery' }) });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toContain('Secure');
  });

  it('refuses a wrong password, a form from another site, and lets the admin sign in with its token', async () => {
    const u = await t.signUp();
    expect((await signInCookie(u.name, 'wrong password!')).status).toBe(401);
    expect((await signInCookie(u.name, 'correct horse battery', { origin: 'https://evil.example' })).status).toBe(403);
    const admin = await signInCookie('admin', t.stack.adminToken);
    expect(admin.status).toBe(303);
    // Another account's token is not this account's password.
    expect((await signInCookie('admin', u.token)).status).toBe(401);
    // A token weaker than a session cannot sign in.
    const readOnly = await (await t.call(u.token, 'POST', '/api/v1/account/tokens', { name: 'ro', scopes: ['read'] })).json();
    expect((await signInCookie(u.name, readOnly.secret)).status).toBe(401);
    expect((await signInCookie(u.name, u.token)).status).toBe(303);
  });

  it('lets the API use the session cookie, with the CSRF token on unsafe requests', async () => {
    const u = await t.signUp();
    const cookie = cookieOf(await signInCookie(u.name, 'correct horse battery'));
    expect((await t.app.request('/api/v1/account', { headers: { cookie } })).status).toBe(200);
    const html = await (await t.app.request('/new', { headers: { cookie } })).text();
    const csrf = /data-csrf="([^"]+)"/.exec(html)![1]!;
    const body = JSON.stringify({ name: `c-${t.suffix()}` });
    const without = await t.app.request('/api/v1/apps', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body });
    expect(without.status).toBe(403);
    expect((await without.json()).error.code).toBe('csrf_failed');
    const withToken = await t.app.request('/api/v1/apps', { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf }, body });
    expect(withToken.status).toBe(201);
    // Sign-out needs the token too, and ends the session.
    expect((await t.app.request('/signout', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: 'nope' }) })).status).toBe(403);
    expect((await t.app.request('/signout', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: csrf }) })).status).toBe(303);
    expect((await t.app.request('/api/v1/account', { headers: { cookie } })).status).toBe(401);
  });

  it('lets a token-only account set a password through the API and sign in with it', async () => {
    const u = await t.signUp();
    expect((await t.call(u.token, 'PUT', '/api/v1/account/password', { password: 'a brand new password' })).status).toBe(204);
    expect((await signInCookie(u.name, 'a brand new password')).status).toBe(303);
  });

  it('redirects signed-out visitors to sign-in, and only to local pages after it', async () => {
    const res = await t.app.request('/new');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/signin?next=/new');
    const html = await (await t.app.request('/signin?next=//evil.example')).text();
    expect(html).toContain('name="next" value="/"');
  });
});
