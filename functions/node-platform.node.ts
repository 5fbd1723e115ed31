// The Platform of a Node process: one shared Postgres pool, one S3 client, node:crypto for uploads,
// blob bytes piped socket to socket.
// Both Node entries (the functions and the Docker Engine API) serve from it, so they cannot drift.
import { createDb, type Sql } from '../db/client';
import { blobRedirectOf, type FunctionsConfig } from './config';
import type { Platform } from './platform';
import { createNativeUploadHasher } from './registry/native-hasher.node.ts';
import { createDirectObjectIo } from './storage/direct-object-io.node.ts';
import { createNodeS3Client } from './storage/s3-client.node.ts';

export function createNodePlatform(config: FunctionsConfig): { platform: Platform; sql: Sql } {
  const { db, sql } = createDb(config.databaseUrl, { max: 20 });
  const platform: Platform = {
    db,
    s3: createNodeS3Client(config.s3),
    bucket: config.s3.bucket,
    publicUrl: config.publicUrl,
    registrySecret: config.registrySecret,
    blobRedirect: blobRedirectOf(config, 'local'),
    uploadHasher: createNativeUploadHasher(),
    directObjectIo: createDirectObjectIo(config.s3),
    appsDomain: config.appsDomain,
    limits: { contextBytes: config.contextBytes },
  };
  return { platform, sql };
}
