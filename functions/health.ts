import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv, Platform } from './platform';

export interface Check {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

async function timed(fn: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  const start = Date.now();
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
    ]);
    return { ok: true, latencyMs: Date.now() - start };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - start, error: err instanceof Error ? err.message : String(err) };
  }
}

export async function checkHealth(p: Platform): Promise<{ ok: boolean; postgres: Check; s3: Check }> {
  const [postgres, s3] = await Promise.all([
    timed(() => p.db.execute(sql`SELECT 1`), 3000),
    timed(() => p.s3.send(new HeadBucketCommand({ Bucket: p.bucket })), 3000),
  ]);
  return { ok: postgres.ok && s3.ok, postgres, s3 };
}

export const health = new Hono<AppEnv>().get('/', async (c) => {
  const report = await checkHealth(c.var.platform);
  return c.json(report, report.ok ? 200 : 503);
});
