// A Berth app over the test stack's real Postgres and S3, and a way to make fresh accounts on it.
import { inject } from 'vitest';
import { createDb } from '../../../db/client';
import { createApp } from '../../../functions/app';
import type { Platform } from '../../../functions/platform';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';

export function openTestApp(overrides: Partial<Platform> = {}) {
  const stack = inject('stack');
  const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 4 });
  const s3config = readS3Config(stack.env);
  const platform: Platform = { db, s3: createS3Client(s3config), bucket: s3config.bucket, publicUrl: 'http://127.0.0.1:8080', ...overrides };
  const app = createApp(() => platform);
  const suffix = () => Math.random().toString(36).slice(2, 8);

  async function call(token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData || typeof body === 'string') payload = body as BodyInit;
    else if (body !== undefined) {
      h['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return app.request(path, { method, headers: h, body: payload });
  }

  /** A new user with a unique name and its first token. */
  async function signUp(prefix = 'u'): Promise<{ name: string; token: string; id: string }> {
    const name = `${prefix}-${suffix()}`;
    const res = await call(undefined, 'POST', '/api/v1/users', { name, password: 'correct horse battery' });
    if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { account: { id: string }; token: string };
    return { name, token: body.token, id: body.account.id };
  }

  async function createAppNamed(token: string, prefix = 'app'): Promise<string> {
    const name = `${prefix}-${suffix()}`;
    const res = await call(token, 'POST', '/api/v1/apps', { name });
    if (res.status !== 201) throw new Error(`app create failed: ${res.status} ${await res.text()}`);
    return name;
  }

  return { app, db, sql, platform, stack, call, signUp, createAppNamed, suffix };
}
