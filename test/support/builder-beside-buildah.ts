// Berth's builder and buildah side by side on one base, for the scripts that compare them (the build
// benchmark, the Dockerfile conformance run): a private Postgres and S3 server, a runner working
// builds, and buildah storage of its own holding Berth's debootstrapped `debian:bookworm` (exported as
// an OCI layout and imported), so both builders start from the same bytes. `stop` removes it all,
// buildah's mounts included.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createDb } from '../../db/client';
import { migrateDatabase } from '../../db/migrate.node.ts';
import { ensureAdminToken } from '../../infra/admin';
import { freePort, startServices } from '../../infra/services';
import { BlobStore } from '../../functions/storage/blob-store';
import { createS3Client, readS3Config } from '../../functions/storage/s3';
import { createBuilder } from '../../runner/build/builder';
import { resolveBaseImage } from '../../runner/image/base-images';
import { exportOciLayout } from '../../runner/image/oci-layout';
import { startQueueWorker } from '../../runner/queue/worker';

export async function startBuilderBesideBuildah(home: string, name: string, o: { leaseMs: number }) {
  const services = await startServices({ home: join(home, 'svc'), env: { S3_BUCKET: name, BERTH_PG_FSYNC: 'off' }, pgPort: await freePort(), s3Port: await freePort() });
  const { db, sql } = createDb(services.env.DATABASE_URL!, { max: 8 });
  const buildahRoot = ['--root', join(home, 'buildah/root'), '--runroot', join(home, 'buildah/run'), '--storage-driver', 'overlay'];
  let worker: ReturnType<typeof startQueueWorker> | undefined;
  const stop = async () => {
    await worker?.stop(5_000);
    await sql.end().catch(() => {});
    await services.stop();
    spawnSync('buildah', [...buildahRoot, 'rm', '--all'], { stdio: 'ignore' });
    spawnSync('buildah', [...buildahRoot, 'rmi', '--all', '--force'], { stdio: 'ignore' });
    spawnSync('umount', ['-R', join(home, 'buildah/root/overlay')], { stdio: 'ignore' });
  };
  try {
    await migrateDatabase(services.env.DATABASE_URL!);
    await ensureAdminToken(services.env.DATABASE_URL!, join(home, 'svc'));
    const s3 = readS3Config(services.env);
    const blobs = new BlobStore(createS3Client(s3), s3.bucket);
    const { handler, makeEnv } = createBuilder({ home: join(home, 'runner'), runnerId: name, env: { ...services.env, BERTH_DEBOOTSTRAP_CACHE: '/var/cache/berth-test/debootstrap' } });
    worker = startQueueWorker({ db, sql, runnerId: name, handlers: { build: handler }, concurrency: 1, leaseMs: o.leaseMs });
    const env = await makeEnv(db);
    const base = await resolveBaseImage(env.base, 'debian:bookworm');
    if (base.kind !== 'image') throw new Error('Cannot compare builders: debian:bookworm did not resolve to an image');
    await exportOciLayout(blobs, base.image, join(home, 'base-layout'), 'bookworm');
    const pulled = spawnSync('buildah', [...buildahRoot, 'pull', '--quiet', `oci:${join(home, 'base-layout')}:bookworm`], { encoding: 'utf8' });
    if (pulled.status !== 0) throw new Error(`buildah pull failed: ${pulled.stderr}`);
    const tagged = spawnSync('buildah', [...buildahRoot, 'tag', pulled.stdout.trim(), 'docker.io/library/debian:bookworm'], { encoding: 'utf8' });
    if (tagged.status !== 0) throw new Error(`buildah tag failed: ${tagged.stderr}`);
    return { services, db, blobs, env, buildahRoot, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
