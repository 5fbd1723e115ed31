// The local S3-compatible server as its own process: `tsx infra/s3-server.ts DIR PORT BUCKET`.
// Requests are path-style and must be signed with LOCAL_S3_CREDENTIALS (see infra/s3/).
import { mkdirSync } from 'node:fs';
import { LOCAL_S3_CREDENTIALS } from './s3/credentials';
import { createS3Server } from './s3/server';
import type { Credentials } from './s3/sigv4';

export async function serveS3(
  directory: string,
  port: number,
  bucket: string,
  credentials: Credentials[] = [LOCAL_S3_CREDENTIALS],
): Promise<{ port: number; close(): Promise<void> }> {
  mkdirSync(directory, { recursive: true });
  const server = await createS3Server({ root: directory, credentials, buckets: [bucket] });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, port, bucket] = process.argv.slice(2);
  if (!dir || !port || !bucket) {
    console.error('usage: s3-server.ts DIR PORT BUCKET');
    process.exit(2);
  }
  const s = await serveS3(dir, Number(port), bucket);
  console.log(`s3 ready on http://127.0.0.1:${s.port}`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
