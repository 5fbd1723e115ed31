// Faults a build must survive with the runner healthy: cancel stops it within seconds, the build
// timeout, the memory limit and the disk cap of a step fail it with that reason, and nothing is left
// mounted.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { cancelBuild, getBuild } from '../../../db/queries/builds';
import { readLogLines } from '../../../db/queries/logs';
import { BlobStore } from '../../../functions/storage/blob-store';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';
import { createBuilder } from '../../../runner/build/builder';
import { startCliBuild } from '../../../runner/build/cli';
import { layerDirs } from '../../../runner/build/step-overlay';
import { resolveBaseImage } from '../../../runner/image/base-images';
import { startQueueWorker, type QueueWorker } from '../../../runner/queue/worker';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 6 });
const s3 = readS3Config(stack.env);
const blobs = new BlobStore(createS3Client(s3), s3.bucket);
const suffix = Math.random().toString(36).slice(2, 8);
const home = mkdtempSync(join(tmpdir(), `berth-faults-test-${suffix}-`));
chmodSync(home, 0o711);
let worker: QueueWorker;

beforeAll(async () => {
  const { handler, makeEnv } = createBuilder({
    home,
    runnerId: `run_faults_${suffix}`,
    env: { ...stack.env, BERTH_DEBOOTSTRAP_CACHE: '/var/cache/berth-test/debootstrap', BERTH_BUILD_TIMEOUT_MS: '12000', BERTH_BUILD_MEMORY_BYTES: String(96 * 1024 * 1024), BERTH_BUILD_DISK_GB: '0.05' },
  });
  // The base unpacked before the clock of any build starts.
  const env = await makeEnv(db);
  const base = await resolveBaseImage(env.base, 'debian:bookworm');
  if (base.kind === 'image') await layerDirs(env.layers, 'warm-up', base.image.layers);
  await env.layers.release('warm-up');
  worker = startQueueWorker({ db, sql, runnerId: `run_faults_${suffix}`, handlers: { build: handler }, concurrency: 1, leaseMs: 15_000, heartbeatMs: 1_000 });
});

afterAll(async () => {
  await worker?.stop(5_000);
  rmSync(home, { recursive: true, force: true });
  await sql.end();
});

async function start(dockerfile: string): Promise<string> {
  const ctx = mkdtempSync(join(tmpdir(), `berth-faults-ctx-${suffix}-`));
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  try {
    return await startCliBuild(db, blobs, { account: 'admin', tags: [`admin/faults:${suffix}`], context: ctx, file: 'Dockerfile', buildArgs: {}, noCache: true, runnerId: `run_faults_${suffix}` });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const finished = (id: string) => async () => {
  const b = await getBuild(db, id);
  return b && ['succeeded', 'failed', 'cancelled'].includes(b.status) ? b : undefined;
};

describe('build faults', () => {
  it('cancels a running build within seconds', async () => {
    const id = await start('FROM debian:bookworm\nRUN echo started && sleep 300\n');
    await until(async () => ((await readLogLines(db, { kind: 'build', id })).some((l) => l.line === 'started') ? true : undefined), 30_000);
    const asked = Date.now();
    await cancelBuild(db, id);
    const b = await until(finished(id), 15_000);
    expect(b.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(8_000);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(home);
  });

  it('fails a build that outlives its timeout, saying so', async () => {
    const id = await start('FROM debian:bookworm\nRUN sleep 300\n');
    const b = await until(finished(id), 60_000);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/timed out after 12s/);
  });

  it('fails a step that writes more than its disk cap, quickly or without end', async () => {
    const quick = await start('FROM debian:bookworm\nRUN head -c 80m /dev/zero > /big\n');
    const b = await until(finished(quick), 60_000);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/^The command .* wrote 0\.0[0-9] GiB to the image, more than the 0\.05 GiB a step may write/);
    const endless = await start('FROM debian:bookworm\nRUN yes > /filler\n');
    const e = await until(finished(endless), 60_000);
    expect(e.status).toBe('failed');
    expect(e.error).toMatch(/more than the 0\.05 GiB a step may write/);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(home);
  });

  it('fails a memory bomb with the memory limit as the reason', async () => {
    const id = await start('FROM debian:bookworm\nRUN head -c 1000m /dev/zero | tail\n');
    const b = await until(finished(id), 60_000);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/memory/i);
  });
});
