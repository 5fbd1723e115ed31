import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort, startServices } from '../../infra/services';
import { createS3Client, readS3Config } from '../../functions/storage/s3';
import { PutObjectCommand, GetObjectCommand, UploadPartCommand, CreateMultipartUploadCommand, CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';
const home = mkdtempSync(join(tmpdir(), 'prof-')); chmodSync(home, 0o755);
const services = await startServices({ home, env: { S3_BUCKET: 'bench', BERTH_PG_FSYNC: 'off' }, pgPort: await freePort(), s3Port: await freePort() });
const cfg = readS3Config(services.env); const s3 = createS3Client(cfg);
const data = randomBytes(50 << 20);
for (let i = 0; i < 3; i++) {
  let t = performance.now();
  await s3.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: 'x', Body: data, ContentLength: data.length }));
  console.log('put 50MB', (performance.now() - t).toFixed(0));
  t = performance.now();
  const r = await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'x' }));
  await r.Body!.transformToByteArray();
  console.log('sdk get', (performance.now() - t).toFixed(0));
  t = performance.now();
  execFileSync('curl', ['-s', '-o', '/dev/null', `${services.env.S3_ENDPOINT}/${cfg.bucket}/x`]);
  console.log('curl get', (performance.now() - t).toFixed(0));
  t = performance.now();
  const m = await s3.send(new CreateMultipartUploadCommand({ Bucket: cfg.bucket, Key: 'm' }));
  const parts = [];
  for (let p = 0; p < 3; p++) {
    const body = data.subarray(p * 16 << 20, Math.min(data.length, (p + 1) * 16 << 20));
    const r = await s3.send(new UploadPartCommand({ Bucket: cfg.bucket, Key: 'm', UploadId: m.UploadId, PartNumber: p + 1, Body: body, ContentLength: body.length }));
    parts.push({ PartNumber: p + 1, ETag: r.ETag });
  }
  console.log('parts 48MB', (performance.now() - t).toFixed(0));
  t = performance.now();
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: cfg.bucket, Key: 'm', UploadId: m.UploadId, MultipartUpload: { Parts: parts } }));
  console.log('complete', (performance.now() - t).toFixed(0));
}
await services.stop(); rmSync(home, { recursive: true, force: true });
