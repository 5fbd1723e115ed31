// A registry served on a free port by the Node adapter, against the suite's Postgres and S3 server.
import { serve } from '@hono/node-server';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createAccount, createToken } from '../../../db/queries/accounts';
import { createDb } from '../../../db/client';
import { createApp } from '../../../functions/app';
import type { Platform } from '../../../functions/platform';
import { createNativeUploadHasher } from '../../../functions/registry/native-hasher.node.ts';
import type { RegistryOptions } from '../../../functions/registry/options';
import { createDirectObjectIo } from '../../../functions/storage/direct-object-io.node.ts';
import { readS3Config } from '../../../functions/storage/s3';
import { createNodeS3Client } from '../../../functions/storage/s3-client.node.ts';
import type { TestStack } from '../../setup/stack';

export interface TestRegistry {
  url: string;
  host: string;
  platform: Platform;
  close(): Promise<void>;
}

export async function startTestRegistry(stack: TestStack, o: { native?: boolean; direct?: boolean; registry?: Partial<RegistryOptions>; redirect?: boolean | 'local'; publicUrl?: string } = {}): Promise<TestRegistry> {
  const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 4 });
  const s3config = readS3Config(stack.env);
  const platform: Platform = {
    db,
    s3: createNodeS3Client(s3config),
    bucket: s3config.bucket,
    uploadHasher: o.native === false ? undefined : createNativeUploadHasher(),
    // As the Node entry does; `direct: false` takes the portable web-stream path Workers takes.
    directObjectIo: o.direct === false ? undefined : createDirectObjectIo(s3config),
    registry: o.registry,
    blobRedirect: o.redirect ? { s3: s3config, expiresInSeconds: 600, when: o.redirect === 'local' ? 'local' : 'always' } : undefined,
    publicUrl: o.publicUrl,
  };
  const app = createApp(() => platform);
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    platform,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sql.end({ timeout: 5 });
    },
  };
}

/** A fresh user account with a read-write token: names are unique so suites can run side by side. */
export async function createTestAccount(platform: Platform, prefix = 'u'): Promise<{ name: string; id: string; token: string }> {
  const name = `${prefix}${crypto.randomUUID().slice(0, 8)}`;
  const acc = await createAccount(platform.db, { name });
  const { secret } = await createToken(platform.db, acc.id, { name: 'registry-test' });
  return { name, id: acc.id, token: secret };
}

export function basic(user: string, token: string): string {
  return `Basic ${btoa(`${user}:${token}`)}`;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
