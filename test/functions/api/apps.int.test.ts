import { afterAll, describe, expect, it } from 'vitest';
import { openTestApp } from './test-client';

const t = openTestApp();
afterAll(() => t.sql.end());

describe('apps', () => {
  it('creates (201), gets, lists and deletes an app', async () => {
    const u = await t.signUp();
    const name = `web-${t.suffix()}`;
    const created = await t.call(u.token, 'POST', '/api/v1/apps', { name });
    expect(created.status).toBe(201);
    const app = await created.json();
    expect(app).toMatchObject({ name, owner: u.name, address: `http://${name}.localhost:8080`, config: { instances: 1, restartPolicy: 'on-failure', ports: [] } });
    expect((await t.call(u.token, 'GET', `/api/v1/apps/${name}`)).status).toBe(200);
    const list = await (await t.call(u.token, 'GET', '/api/v1/apps')).json();
    expect(list.items.map((a: { name: string }) => a.name)).toContain(name);
    expect((await t.call(u.token, 'DELETE', `/api/v1/apps/${name}`)).status).toBe(204);
    expect((await t.call(u.token, 'GET', `/api/v1/apps/${name}`)).status).toBe(404);
  });

  it('refuses a taken name with 409 name_taken', async () => {
    const a = await t.signUp();
    const b = await t.signUp();
    const name = await t.createAppNamed(a.token);
    const res = await t.call(b.token, 'POST', '/api/v1/apps', { name });
    expect(res.status).toBe(409);
    expect((await res.json()).error.code).toBe('name_taken');
  });

  it('explains invalid input field by field', async () => {
    const u = await t.signUp();
    const res = await t.call(u.token, 'POST', '/api/v1/apps', { name: 'Bad_Name' });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toMatch(/^Invalid request body: name: must be 1 to 63 characters/);
    const cfg = await t.call(u.token, 'PATCH', `/api/v1/apps/${await t.createAppNamed(u.token)}/config`, { instances: 99, ports: [{ containerPort: 0 }] });
    expect(cfg.status).toBe(400);
    expect((await cfg.json()).error.message).toMatch(/instances: must be 0 to 20/);
    const unknown = await t.call(u.token, 'PATCH', `/api/v1/apps/x-${t.suffix()}/config`, { instances: 2 });
    expect(unknown.status).toBe(404);
  });

  it('answers malformed JSON and a wrong Content-Type with the one error shape, not a 500', async () => {
    const u = await t.signUp();
    const send = (body: string, type: string) => t.app.request('/api/v1/apps', { method: 'POST', headers: { authorization: `Bearer ${u.token}`, 'content-type': type }, body });
    const bad = await send('{"name":', 'application/json');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'invalid_json', message: 'Invalid JSON body for POST /api/v1/apps: it does not parse' });
    const text = await send('name=x', 'text/plain');
    expect(text.status).toBe(415);
    expect((await text.json()).error.code).toBe('unsupported_media_type');
  });

  it('updates configuration and keeps secrets write-only', async () => {
    const u = await t.signUp();
    const name = await t.createAppNamed(u.token);
    const res = await t.call(u.token, 'PATCH', `/api/v1/apps/${name}/config`, {
      ports: [{ containerPort: 80 }, { containerPort: 443, protocol: 'tcp' }],
      env: { MODE: 'prod' },
      resources: { memoryMb: 256 },
      healthCheck: { type: 'http', path: '/healthz' },
      instances: 2,
      imageVisibility: 'public',
    });
    expect(res.status).toBe(200);
    const cfg = await (await t.call(u.token, 'GET', `/api/v1/apps/${name}/config`)).json();
    expect(cfg).toMatchObject({ instances: 2, resources: { cpus: 1, memoryMb: 256 }, env: { MODE: 'prod' }, imageVisibility: 'public', healthCheck: { intervalSeconds: 30 } });
    expect(cfg.ports).toEqual([
      { containerPort: 80, protocol: 'http', public: true },
      { containerPort: 443, protocol: 'tcp', public: true },
    ]);
    const set = await t.call(u.token, 'PATCH', `/api/v1/apps/${name}/secrets`, { secrets: { DB_PASSWORD: 'hunter2', OTHER: 'x' } });
    expect(set.status).toBe(200);
    const del = await t.call(u.token, 'PATCH', `/api/v1/apps/${name}/secrets`, { secrets: { OTHER: null } });
    const listed = await del.json();
    expect(listed.items.map((s: { name: string }) => s.name)).toEqual(['DB_PASSWORD']);
    expect(JSON.stringify(listed)).not.toContain('hunter2');
    expect(JSON.stringify(await (await t.call(u.token, 'GET', `/api/v1/apps/${name}`)).json())).not.toContain('hunter2');
  });

  it('pages through apps with a cursor, without repeats or gaps', async () => {
    const u = await t.signUp();
    const names: string[] = [];
    for (let i = 0; i < 5; i++) names.push(await t.createAppNamed(u.token, `p${i}`));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await (await t.call(u.token, 'GET', `/api/v1/apps${q}`)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((a: { name: string }) => a.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...names].reverse());
    const bad = await t.call(u.token, 'GET', '/api/v1/apps?cursor=nonsense');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_cursor');
    expect((await t.call(u.token, 'GET', '/api/v1/apps?limit=500')).status).toBe(400);
  });

  it('replays a create with the same Idempotency-Key and refuses the key for another request', async () => {
    const u = await t.signUp();
    const name = `idem-${t.suffix()}`;
    const key = crypto.randomUUID();
    const first = await t.call(u.token, 'POST', '/api/v1/apps', { name }, { 'idempotency-key': key });
    const second = await t.call(u.token, 'POST', '/api/v1/apps', { name }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect((await second.json()).id).toBe((await first.json()).id);
    const other = await t.call(u.token, 'POST', '/api/v1/apps', { name: `${name}-2` }, { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect((await other.json()).error.code).toBe('idempotency_key_reused');
  });
});

describe('the API document', () => {
  it('is served without a token', async () => {
    expect((await t.call(undefined, 'GET', '/api/v1/openapi.json')).status).toBe(200);
    expect((await t.call(undefined, 'GET', '/api/v1/docs')).status).toBe(200);
  });
});
