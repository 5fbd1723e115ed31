import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServices } from '../../infra/services';
import { createS3Client, readS3Config } from '../../functions/storage/s3';
import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
const home = mkdtempSync(join(tmpdir(), 'prof-')); chmodSync(home, 0o755);
const services = await startServices({ home, env: { S3_BUCKET: 'bench', BERTH_PG_FSYNC: 'off' }, pgPort: await freePort(), s3Port: await freePort() });
const cfg = readS3Config(services.env); const s3 = createS3Client(cfg);
const s3n = new S3Client({ endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: true, credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
const data = randomBytes(50 << 20);
await s3.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: 'x', Body: data, ContentLength: data.length }));
async function consume(s: ReadableStream) { const r = s.getReader(); let n = 0; for (;;) { const { done, value } = await r.read(); if (done) break; n += value.length; } return n; }
for (let i = 0; i < 4; i++) {
  let t = performance.now();
  let r = await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'x' }));
  await consume(r.Body!.transformToWebStream());
  console.log('fetch handler web', (performance.now() - t).toFixed(0));
  t = performance.now();
  r = await s3n.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'x' }));
  await consume(r.Body!.transformToWebStream());
  console.log('node handler web', (performance.now() - t).toFixed(0));
  t = performance.now();
  const f = await fetch(`${cfg.endpoint}/${cfg.bucket}/x`);
  await consume(f.body!);
  console.log('raw fetch', (performance.now() - t).toFixed(0));
}
await services.stop(); rmSync(home, { recursive: true, force: true });
