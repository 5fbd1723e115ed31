// End to end on a real runner: Dockerfile → runc builds → layers and manifest in S3, tag in Postgres,
// exported to an OCI layout and unpacked by umoci. The debootstrapped base is cached on the machine.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { findAccountByName } from '../../../db/queries/accounts';
import { getBuild } from '../../../db/queries/builds';
import { getJob } from '../../../db/queries/jobs';
import { readLogLines } from '../../../db/queries/logs';
import { buildCache, jobs } from '../../../db/schema';
import { eq, inArray } from 'drizzle-orm';
import { BlobStore } from '../../../functions/storage/blob-store';
import { createS3Client, readS3Config } from '../../../functions/storage/s3';
import { exportOciLayout } from '../../../runner/image/oci-layout';
import { readRegistryImage } from '../../../runner/image/registry-images';
import { createBuilder } from '../../../runner/build/builder';
import { startCliBuild } from '../../../runner/build/cli';
import { startQueueWorker, type QueueWorker } from '../../../runner/queue/worker';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 6 });
const s3 = readS3Config(stack.env);
const blobs = new BlobStore(createS3Client(s3), s3.bucket);
const suffix = Math.random().toString(36).slice(2, 8);
const home = mkdtempSync(join(tmpdir(), `berth-build-test-${suffix}-`));
chmodSync(home, 0o711);
let worker: QueueWorker;
let multiDigest = '';

beforeAll(async () => {
  const { handler } = createBuilder({
    home,
    runnerId: `run_test_${suffix}`,
    env: {
      ...stack.env,
      BERTH_DEBOOTSTRAP_CACHE: '/var/cache/berth-test/debootstrap',
    },
  });
  worker = startQueueWorker({ db, sql, runnerId: `run_test_${suffix}`, handlers: { build: handler }, concurrency: 1, leaseMs: 30_000 });
});

afterAll(async () => {
  await worker?.stop(5_000);
  rmSync(home, { recursive: true, force: true });
  await sql.end();
});

function writeContext(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), `berth-ctx-${suffix}-`));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
  }
  return dir;
}

async function waitForBuild(id: string, timeoutMs = 240_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const b = await getBuild(db, id);
    // The build row settles inside the handler; the job's result is written once it returns.
    const [job] = await db.select().from(jobs).where(eq(jobs.subjectId, id));
    const jobDone = job && ['succeeded', 'failed', 'cancelled'].includes(job.status);
    if (b && ['succeeded', 'failed', 'cancelled'].includes(b.status) && jobDone) {
      const log = (await readLogLines(db, { kind: 'build', id }, 0, 10_000)).map((l) => l.line);
      return { build: b, job: job ? await getJob(db, job.id) : undefined, log };
    }
    if (Date.now() > end) throw new Error(`build ${id} did not finish`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function build(files: Record<string, string | Buffer>, opts: { tag: string; buildArgs?: Record<string, string>; target?: string; noCache?: boolean; cacheFrom?: string[] }) {
  const context = writeContext(files);
  try {
    const id = await startCliBuild(db, blobs, { account: 'admin', tags: [opts.tag], context, file: 'Dockerfile', target: opts.target, buildArgs: opts.buildArgs ?? {}, noCache: opts.noCache ?? false, cacheFrom: opts.cacheFrom, runnerId: `run_test_${suffix}` });
    return await waitForBuild(id);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

function umociUnpack(image: NonNullable<Awaited<ReturnType<typeof readRegistryImage>>>) {
  const dir = mkdtempSync(join(tmpdir(), `berth-oci-${suffix}-`));
  return {
    dir,
    async unpack() {
      await exportOciLayout(blobs, image, join(dir, 'layout'), 'latest');
      execFileSync('umoci', ['unpack', '--image', `${join(dir, 'layout')}:latest`, join(dir, 'bundle')], { stdio: 'pipe' });
      return join(dir, 'bundle');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const MULTI_STAGE = {
  Dockerfile: `ARG BASE=debian:bookworm
FROM \${BASE} AS build
ARG GREETING=hello
WORKDIR /src
COPY app.sh .
RUN echo "$GREETING from build" > /src/out.txt

FROM debian:bookworm
RUN useradd -u 1234 -m app
USER app
WORKDIR /home/app
COPY --from=build /src/out.txt /src/app.sh ./
ENV MODE=prod
EXPOSE 8080
ENTRYPOINT ["/home/app/app.sh"]
CMD ["--serve"]
`,
  'app.sh': '#!/bin/sh\necho "app $MODE $*"\n',
  '.dockerignore': 'secret.txt\n',
  'secret.txt': 'nope',
};

describe('building on a runner', () => {
  it('builds a multi-stage Dockerfile whose config matches Docker and which umoci unpacks', async () => {
    const { build: b, log } = await build(MULTI_STAGE, { tag: 'admin/multi:latest', buildArgs: { GREETING: 'hi' } });
    expect(b.error, log.join('\n')).toBeNull();
    expect(b.status).toBe('succeeded');
    expect(b.imageRef).toBe('admin/multi:latest');
    expect(log).toContain('Step 1/14 : FROM debian:bookworm AS build');
    const image = (await readRegistryImage(db, blobs, 'admin/multi', 'latest'))!;
    expect(image.manifestDigest).toBe(b.manifestDigest);
    multiDigest = b.manifestDigest!;
    // What `docker build` gives for this Dockerfile (written from the Dockerfile reference).
    expect(image.config.config).toEqual({
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'MODE=prod'],
      Cmd: ['--serve'],
      Entrypoint: ['/home/app/app.sh'],
      User: 'app',
      WorkingDir: '/home/app',
      ExposedPorts: { '8080/tcp': {} },
    });
    expect(image.config).toMatchObject({ architecture: 'amd64', os: 'linux' });
    // base layer + useradd + COPY --from; ENV/USER/WORKDIR/EXPOSE/ENTRYPOINT/CMD add none
    expect(image.layers).toHaveLength(3);
    expect(image.config.history!.filter((h) => !h.empty_layer)).toHaveLength(3);
    expect(image.config.history!.at(-1)).toMatchObject({ created_by: 'CMD ["--serve"]', empty_layer: true });

    const oci = umociUnpack(image);
    try {
      const bundle = await oci.unpack();
      expect(readFileSync(join(bundle, 'rootfs/home/app/out.txt'), 'utf8')).toBe('hi from build\n');
      const app = statSync(join(bundle, 'rootfs/home/app/app.sh'));
      expect(app.mode & 0o777).toBe(0o755);
      expect(app.uid).toBe(0); // COPY without --chown gives root, even for USER app
      expect(statSync(join(bundle, 'rootfs/home/app')).uid).toBe(1234);
      expect(existsSync(join(bundle, 'rootfs/secret.txt'))).toBe(false);
      // Neither the host's resolver and name (debootstrap copies them) nor the RUN's injected files land in the image.
      for (const f of ['etc/resolv.conf', 'etc/hostname', 'etc/hosts']) expect(existsSync(join(bundle, 'rootfs', f)), f).toBe(false);
      const runtime = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
      expect(runtime.process.args).toEqual(['/home/app/app.sh', '--serve']);
      expect(runtime.process.user.uid).toBe(1234);
      expect(runtime.process.cwd).toBe('/home/app');
    } finally {
      oci.remove();
    }
  });

  it('rebuilds with nothing changed from the cache: nothing runs, nothing is uploaded, same digest', async () => {
    const { build: b, job, log } = await build(MULTI_STAGE, { tag: 'admin/multi:latest', buildArgs: { GREETING: 'hi' } });
    expect(b.status, log.join('\n')).toBe('succeeded');
    expect(job!.result).toMatchObject({ uploaded: 0, executed: 0 });
    // COPY, RUN, useradd, COPY --from, and both WORKDIRs (/src made a layer, /home/app existed)
    expect(log.filter((l) => l === ' ---> Using cache')).toHaveLength(6);
    expect(b.manifestDigest).toBe(multiDigest);
  });

  it('takes layers from a --cache-from image when the shared cache has lost their keys', async () => {
    const image = (await readRegistryImage(db, blobs, 'admin/multi', 'latest'))!;
    const keys = (JSON.parse(image.manifest.annotations!['org.berth.cache.keys']!) as (string | null)[]).filter((k): k is string => k !== null);
    expect(keys).toHaveLength(2);
    await db.delete(buildCache).where(inArray(buildCache.key, keys));
    const { build: b, job, log } = await build(MULTI_STAGE, { tag: 'admin/multi:again', buildArgs: { GREETING: 'hi' }, cacheFrom: ['127.0.0.1:8080/admin/multi:latest'] });
    expect(b.status, log.join('\n')).toBe('succeeded');
    // The first stage still hits the shared cache; the final stage's layers come from the image.
    expect(job!.result).toMatchObject({ executed: 0 });
  });

  it('gives the same manifest digest twice with SOURCE_DATE_EPOCH, even without the cache', async () => {
    const files = { Dockerfile: 'FROM debian:bookworm\nCOPY a.txt /a.txt\nRUN echo built > /b.txt && mkdir -p /opt/x\n', 'a.txt': 'a' };
    const args = { SOURCE_DATE_EPOCH: '1700000000' };
    const one = await build(files, { tag: 'admin/repro:1', buildArgs: args, noCache: true });
    const two = await build(files, { tag: 'admin/repro:2', buildArgs: args, noCache: true });
    expect(one.build.status, one.log.join('\n')).toBe('succeeded');
    expect(two.build.status, two.log.join('\n')).toBe('succeeded');
    expect(two.job!.result).toMatchObject({ executed: 2 });
    expect(two.build.manifestDigest).toBe(one.build.manifestDigest);
  });

  it('builds an apt-get based image through the NAT', async () => {
    const files = { Dockerfile: 'FROM debian:bookworm\nRUN apt-get update -q && apt-get install -y -q --no-install-recommends hello && rm -rf /var/lib/apt/lists/*\nCMD ["hello"]\n' };
    const { build: b, log } = await build(files, { tag: 'admin/hello:latest' });
    expect(b.status, log.join('\n')).toBe('succeeded');
    const image = (await readRegistryImage(db, blobs, 'admin/hello', 'latest'))!;
    const oci = umociUnpack(image);
    try {
      const bundle = await oci.unpack();
      expect(existsSync(join(bundle, 'rootfs/usr/bin/hello'))).toBe(true);
    } finally {
      oci.remove();
    }
  });

  it('makes each WORKDIR when it runs, owned by the USER then, even with no step after it (as BuildKit)', async () => {
    const files = { Dockerfile: 'FROM debian:bookworm\nRUN useradd -u 2000 u2000\nUSER u2000\nWORKDIR /owned/by/user\nUSER root\nWORKDIR /tmp\nWORKDIR /final/empty\n' };
    const { build: b, log } = await build(files, { tag: 'admin/workdir:latest' });
    expect(b.status, log.join('\n')).toBe('succeeded');
    const image = (await readRegistryImage(db, blobs, 'admin/workdir', 'latest'))!;
    expect(image.config.config?.WorkingDir).toBe('/final/empty');
    // base, useradd, /owned/by/user, /final/empty: /tmp existed and adds none
    expect(image.layers).toHaveLength(4);
    expect(image.config.history!.map((h) => [h.created_by, h.empty_layer ?? false]).slice(-5)).toEqual([
      ['USER u2000', true],
      ['WORKDIR /owned/by/user', false],
      ['USER root', true],
      ['WORKDIR /tmp', true],
      ['WORKDIR /final/empty', false],
    ]);
    const oci = umociUnpack(image);
    try {
      const rootfs = join(await oci.unpack(), 'rootfs');
      for (const d of ['owned', 'owned/by', 'owned/by/user']) expect(statSync(join(rootfs, d)).uid, d).toBe(2000);
      expect(statSync(join(rootfs, 'final/empty')).isDirectory()).toBe(true);
      expect(statSync(join(rootfs, 'final/empty')).uid).toBe(0);
      expect(statSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    } finally {
      oci.remove();
    }
  });

  it('keeps owners above 65535 from RUN, COPY --chown and ADD archives, as Docker does', async () => {
    const tar = execFileSync('sh', ['-c', 'd=$(mktemp -d) && echo t > $d/t && tar --numeric-owner --owner=1000680000 --group=100001 -cf - -C $d t && rm -rf $d']);
    const files = { Dockerfile: 'FROM debian:bookworm\nRUN useradd -u 100500 big && touch /big && chown big:100600 /big\nCOPY --chown=70000:70001 a.txt /a.txt\nADD t.tar /\n', 'a.txt': 'a', 't.tar': tar };
    const { build: b, log } = await build(files, { tag: 'admin/bigids:latest' });
    expect(b.status, log.join('\n')).toBe('succeeded');
    const oci = umociUnpack((await readRegistryImage(db, blobs, 'admin/bigids', 'latest'))!);
    try {
      const rootfs = join(await oci.unpack(), 'rootfs');
      const owner = (p: string) => [statSync(join(rootfs, p)).uid, statSync(join(rootfs, p)).gid];
      expect([owner('big'), owner('a.txt'), owner('t')]).toEqual([[100500, 100600], [70000, 70001], [1000680000, 100001]]);
    } finally {
      oci.remove();
    }
  });

  it('leaves no --mount stubs in the layer, and gives FROM scratch BuildKit\'s PATH and WORKDIR', async () => {
    const files = {
      Dockerfile: `FROM debian:bookworm AS stage
RUN echo s > /s.txt
FROM debian:bookworm
RUN --mount=type=cache,target=/var/cache/x --mount=type=bind,target=/ctx --mount=type=tmpfs,target=/scratch/deep \\
    --mount=type=bind,from=stage,source=/s.txt,target=/data/s.txt cat /data/s.txt /ctx/in.txt > /out.txt && touch /data/keep
FROM scratch
COPY --from=1 /out.txt /data /
`,
      'in.txt': 'ctx\n',
    };
    const { build: b, log } = await build(files, { tag: 'admin/stubs:latest' });
    expect(b.status, log.join('\n')).toBe('succeeded');
    const image = (await readRegistryImage(db, blobs, 'admin/stubs', 'latest'))!;
    expect(image.config.config).toMatchObject({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' });
    const oci = umociUnpack(image);
    try {
      const rootfs = join(await oci.unpack(), 'rootfs');
      expect(readdirSync(rootfs).sort()).toEqual(['keep', 'out.txt']);
      expect(readFileSync(join(rootfs, 'out.txt'), 'utf8')).toBe('s\nctx\n');
    } finally {
      oci.remove();
    }
  });

  it('gives stages BuildKit\'s automatic platform args (multi-arch Dockerfiles use them)', async () => {
    const files = {
      Dockerfile: `FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETOS TARGETARCH BUILDPLATFORM
RUN echo "$TARGETOS/$TARGETARCH from $BUILDPLATFORM" > /p.txt
FROM debian:bookworm
ARG TARGETPLATFORM
COPY --from=build /p.txt /p.txt
RUN echo "$TARGETPLATFORM" >> /p.txt && echo "[$TARGETARCH$TARGETVARIANT]" >> /p.txt
`,
    };
    const { build: b, log } = await build(files, { tag: 'admin/platform:latest' });
    expect(b.status, log.join('\n')).toBe('succeeded');
    const oci = umociUnpack((await readRegistryImage(db, blobs, 'admin/platform', 'latest'))!);
    try {
      expect(readFileSync(join(await oci.unpack(), 'rootfs/p.txt'), 'utf8')).toBe('linux/amd64 from linux/amd64\nlinux/amd64\n[]\n');
    } finally {
      oci.remove();
    }
  });

  it('fails a build whose RUN fails, naming the command and code, and leaves no mounts', async () => {
    const { build: b, log } = await build({ Dockerfile: 'FROM debian:bookworm\nRUN echo about to fail && exit 3\n' }, { tag: 'admin/fails:latest' });
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/^Dockerfile:2: The command .* returned a non-zero code: 3/);
    expect(log).toContain('about to fail');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(home);
  });

  it('runs ONBUILD triggers, heredoc COPY, --parents, --exclude, ADD of a local tar.gz, --chown by name and RUN --mount from a stage', async () => {
    const tarDir = mkdtempSync(join(tmpdir(), `berth-tar-${suffix}-`));
    mkdirSync(join(tarDir, 'pkg'));
    writeFileSync(join(tarDir, 'pkg/inside.txt'), 'from the archive\n');
    execFileSync('tar', ['-czf', join(tarDir, 'bundle.tar.gz'), '-C', tarDir, 'pkg']);
    const bundle = readFileSync(join(tarDir, 'bundle.tar.gz'));
    rmSync(tarDir, { recursive: true, force: true });
    const files = {
      Dockerfile: `FROM debian:bookworm AS base
ONBUILD RUN echo triggered > /onbuild.txt
FROM base AS main
ARG WHO=world
RUN useradd -u 2000 web
COPY <<EOF /etc/greeting
hello \${WHO}
EOF
COPY --parents src/*/conf.txt /cfg/
COPY --exclude=*.tmp files/ /files/
ADD bundle.tar.gz /opt/
COPY --chown=web:web --chmod=600 secret.conf /home/secret.conf
FROM debian:bookworm AS side
RUN echo from-side > /side.txt
FROM main
RUN --mount=type=bind,from=side,source=/side.txt,target=/mnt/side.txt cp /mnt/side.txt /copied.txt
`,
      'src/a/conf.txt': 'a',
      'src/b/conf.txt': 'b',
      'files/keep.txt': 'keep',
      'files/drop.tmp': 'drop',
      'bundle.tar.gz': bundle,
      'secret.conf': 's',
    };
    const { build: b, log } = await build(files, { tag: 'admin/breadth:latest' });
    expect(b.status, log.join('\n')).toBe('succeeded');
    const image = (await readRegistryImage(db, blobs, 'admin/breadth', 'latest'))!;
    expect(image.config.config?.OnBuild ?? null).toBeNull();
    const oci = umociUnpack(image);
    try {
      const root = join(await oci.unpack(), 'rootfs');
      expect(readFileSync(join(root, 'onbuild.txt'), 'utf8')).toBe('triggered\n');
      expect(readFileSync(join(root, 'copied.txt'), 'utf8')).toBe('from-side\n');
      expect(existsSync(join(root, 'side.txt'))).toBe(false);
      expect(readFileSync(join(root, 'etc/greeting'), 'utf8')).toBe('hello world\n');
      expect(readFileSync(join(root, 'cfg/src/a/conf.txt'), 'utf8')).toBe('a');
      expect(readFileSync(join(root, 'cfg/src/b/conf.txt'), 'utf8')).toBe('b');
      expect(existsSync(join(root, 'files/keep.txt'))).toBe(true);
      expect(existsSync(join(root, 'files/drop.tmp'))).toBe(false);
      expect(readFileSync(join(root, 'opt/pkg/inside.txt'), 'utf8')).toBe('from the archive\n');
      const secret = statSync(join(root, 'home/secret.conf'));
      expect([secret.uid, secret.gid, secret.mode & 0o777]).toEqual([2000, 2000, 0o600]);
    } finally {
      oci.remove();
    }
  });

  it('account is seeded', async () => {
    expect(await findAccountByName(db, 'admin')).toBeTruthy();
  });
});
