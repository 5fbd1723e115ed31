// The Cloudflare Workers entry. A postgres.js client cannot be shared across requests in workerd,
// so each request gets its own (max 1, no type fetch) and the request's end closes it.
import { createDb } from '../db/client';
import { createApp } from './app';
import { blobRedirectOf, readFunctionsConfig } from './config';
import { createS3Client } from './storage/s3';
import type { S3Client } from '@aws-sdk/client-s3';

let s3: { key: string; client: S3Client } | undefined;

const app = createApp((env) => {
  const config = readFunctionsConfig(env as Record<string, unknown>);
  const key = JSON.stringify(config.s3);
  if (!s3 || s3.key !== key) s3 = { key, client: createS3Client(config.s3) };
  const { db } = createDb(config.databaseUrl, { max: 1, fetchTypes: false });
  return {
    db,
    s3: s3.client,
    bucket: config.s3.bucket,
    publicUrl: config.publicUrl,
    appsDomain: config.appsDomain,
    limits: { contextBytes: config.contextBytes },
    registrySecret: config.registrySecret,
    blobRedirect: blobRedirectOf(config, 'off'),
    // An isolate has 128 MB and may serve several uploads at once: smaller parts, fewer in flight,
    // fewer manifests kept in memory.
    registry: { partSize: 8 * 1024 * 1024, partConcurrency: 2, manifestCacheBytes: 8 * 1024 * 1024 },
  };
});

export default app;
