// The local S3-compatible server (s3rver) as its own process: `tsx infra/s3-server.ts DIR PORT BUCKET`.
// Any credentials are accepted; requests are path-style.
import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';

export async function serveS3(directory: string, port: number, bucket: string): Promise<{ close(): Promise<void> }> {
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    directory,
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: bucket }],
  });
  await server.run();
  return { close: () => server.close() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, port, bucket] = process.argv.slice(2);
  if (!dir || !port || !bucket) {
    console.error('usage: s3-server.ts DIR PORT BUCKET');
    process.exit(2);
  }
  const s = await serveS3(dir, Number(port), bucket);
  console.log(`s3 ready on http://127.0.0.1:${port}`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
