import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../db/client';
import { createApp } from '../../functions/app';
import { createS3Client, readS3Config } from '../../functions/storage/s3';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 2 });
const s3config = readS3Config(stack.env);

afterAll(() => sql.end());

describe('GET /healthz', () => {
  it('reports Postgres and S3 healthy', async () => {
    const app = createApp(() => ({ db, s3: createS3Client(s3config), bucket: s3config.bucket }));
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ ok: true, postgres: { ok: true }, s3: { ok: true } });
  });

  it('reports 503 naming S3 when the bucket is unreachable', async () => {
    const app = createApp(() => ({ db, s3: createS3Client({ ...s3config, endpoint: 'http://127.0.0.1:1' }), bucket: s3config.bucket }));
    const res = await app.request('/healthz');
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.postgres.ok).toBe(true);
    expect(body.s3.ok).toBe(false);
    expect(body.s3.error).toBeTruthy();
  });
});

describe('GET /api/v1/account', () => {
  const app = createApp(() => ({ db, s3: createS3Client(s3config), bucket: s3config.bucket }));

  it('answers the admin token with the admin account', async () => {
    const res = await app.request('/api/v1/account', { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'admin', isAdmin: true });
  });

  it('refuses a missing or wrong token with the one error shape', async () => {
    const none = await app.request('/api/v1/account');
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const wrong = await app.request('/api/v1/account', { headers: { authorization: 'Bearer berth_nope' } });
    expect(wrong.status).toBe(401);
  });
});
