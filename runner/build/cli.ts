// Starts a build from the runner side, without the REST API: uploads the context, creates the build
// (which queues its job) and follows its log until it ends.
//   npx tsx runner/build/cli.ts --account admin --tag admin/web:latest --context DIR \
//     [--file Dockerfile] [--target x] [--build-arg K=V] [--no-cache] [--cache-from REF] [--runner ID]
// Needs DATABASE_URL and the S3_* settings of the stack (a runner must be running to take the job).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, type Db } from '../../db/client';
import { findAccountByName } from '../../db/queries/accounts';
import { createBuild, getBuild } from '../../db/queries/builds';
import { readLogLines } from '../../db/queries/logs';
import { jobs } from '../../db/schema';
import { and, eq } from 'drizzle-orm';
import { BlobStore } from '../../functions/storage/blob-store';
import { readS3Config } from '../../functions/storage/s3';
import { createNodeS3Client } from '../../functions/storage/s3-client.node.ts';
import { writeLayer } from '../image/layer-writer';
import { uploadContextFile } from './context-upload';

export interface CliOptions {
  account: string;
  tags: string[];
  context: string;
  file: string;
  target?: string;
  buildArgs: Record<string, string>;
  noCache: boolean;
  cacheFrom?: string[];
  /** Only this runner may take the build (tests, or debugging one machine). */
  runnerId?: string;
}

export function parseCliArgs(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      account: { type: 'string' },
      tag: { type: 'string', multiple: true },
      context: { type: 'string' },
      file: { type: 'string', default: 'Dockerfile' },
      target: { type: 'string' },
      'build-arg': { type: 'string', multiple: true },
      'no-cache': { type: 'boolean', default: false },
      'cache-from': { type: 'string', multiple: true },
      runner: { type: 'string' },
    },
  });
  if (!values.account) throw new Error('Cannot start a build: --account is required');
  if (!values.context) throw new Error('Cannot start a build: --context DIR is required');
  const buildArgs: Record<string, string> = {};
  for (const kv of values['build-arg'] ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`Invalid --build-arg "${kv}": expected KEY=VALUE`);
    buildArgs[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { account: values.account, tags: values.tag ?? [], context: values.context, file: values.file!, target: values.target, buildArgs, noCache: values['no-cache']!, cacheFrom: values['cache-from'] ?? [], runnerId: values.runner };
}

/** Packs DIR, stores it, creates the build; returns its id. */
export async function startCliBuild(db: Db, blobs: BlobStore, o: CliOptions): Promise<string> {
  const account = await findAccountByName(db, o.account);
  if (!account) throw new Error(`Cannot start a build: no account named "${o.account}"`);
  const tmp = mkdtempSync(join(tmpdir(), 'berth-context-'));
  try {
    const packed = await writeLayer(o.context, join(tmp, 'context.tar.gz'), { sourceDateEpoch: 0 });
    await uploadContextFile(blobs, packed.digest, packed.path, packed.size);
    // Pinning happens in the same transaction as the enqueue, so no other runner sees the job first.
    const build = await db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const b = await createBuild(t, {
      accountId: account.id,
      source: 'runner',
      contextDigest: packed.digest,
      contextMediaType: 'application/x-tar+gzip',
      dockerfilePath: o.file,
      buildArgs: o.buildArgs,
      target: o.target ?? null,
      noCache: o.noCache,
      cacheFrom: o.cacheFrom ?? [],
      tags: o.tags,
      });
      if (o.runnerId) await t.update(jobs).set({ runnerId: o.runnerId }).where(and(eq(jobs.subjectId, b.id), eq(jobs.kind, 'build')));
      return b;
    });
    return build.id;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Prints the build's log as it grows; resolves with its final status. */
export async function followBuild(db: Db, buildId: string, print: (line: string) => void, pollMs = 200): Promise<string> {
  let after = 0;
  for (;;) {
    const build = await getBuild(db, buildId);
    for (;;) {
      const lines = await readLogLines(db, { kind: 'build', id: buildId }, after);
      for (const l of lines) print(l.line);
      if (lines.length > 0) after = lines[lines.length - 1]!.id;
      if (lines.length < 1000) break;
    }
    if (!build || ['succeeded', 'failed', 'cancelled'].includes(build.status)) return build?.status ?? 'missing';
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseCliArgs(process.argv.slice(2));
  if (!process.env.DATABASE_URL) throw new Error('Cannot start a build: DATABASE_URL is not set');
  const { db, sql } = createDb(process.env.DATABASE_URL, { max: 2 });
  const s3 = readS3Config(process.env);
  const blobs = new BlobStore(createNodeS3Client(s3), s3.bucket);
  const id = await startCliBuild(db, blobs, o);
  console.log(`build ${id} queued`);
  const status = await followBuild(db, id, (l) => console.log(l));
  const b = await getBuild(db, id);
  console.log(status === 'succeeded' ? `${b?.imageRef ?? ''} ${b?.manifestDigest}` : `build ${status}: ${b?.error ?? ''}`);
  await sql.end();
  process.exit(status === 'succeeded' ? 0 : 1);
}
