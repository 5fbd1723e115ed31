// The Workers entry under `wrangler dev` (workerd), against the test stack's Postgres and S3.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev';

const stack = inject('stack');
let dev: WranglerDev;

beforeAll(async () => {
  dev = await startWranglerDev(stack.env);
}, 120_000);
afterAll(() => dev?.stop());

describe('functions on workerd', () => {
  it('GET /healthz reports Postgres and S3 healthy', async () => {
    const res = await fetch(`${dev.url}/healthz`);
    const body = await res.json();
    expect(body).toMatchObject({ ok: true, postgres: { ok: true }, s3: { ok: true } });
    expect(res.status).toBe(200);
  });

  it('serves a database-backed request, on one request after another', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${dev.url}/api/v1/account`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ name: 'admin' });
    }
    const denied = await fetch(`${dev.url}/api/v1/account`, { headers: { authorization: 'Bearer berth_wrong' } });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });
});
