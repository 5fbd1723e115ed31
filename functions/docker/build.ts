// POST /build, the legacy builder's protocol: the body is the context (a tar, maybe compressed),
// options are query parameters, and the answer is a stream of JSON messages the CLI prints:
// {"stream": "Step 1/3 : FROM …\n"} per log line, {"aux":{"ID":…}} when the image exists, and
// {"errorDetail":{"message"},"error"} when it fails. The build itself is an ordinary Berth build
// (source 'docker') run by a runner; its log lines are relayed from Postgres as they appear.
import { Hono } from 'hono';
import { createBuild, getBuild } from '../../db/queries/builds';
import { readLogLines } from '../../db/queries/logs';
import type { Build } from '../../db/schema';
import type { AuthEnv } from '../auth';
import { newId } from '../core/ids';
import { registryHost } from '../api/app-address';
import { sniffContextType } from '../api/build-upload';
import { limitBytes } from '../api/byte-limit';
import { DEFAULT_CONTEXT_BYTES } from '../api/limits';
import { contextKey } from '../storage/blob-store';
import { uploadStream } from '../storage/stream-upload';
import type { Platform } from '../platform';
import { dockerError } from './engine-errors';
import { buildTagFor } from './image-names';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
const POLL_MS = 200;

function parseJsonMap(raw: string | undefined, what: string): Record<string, string> {
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw dockerError(400, `Invalid "${what}": expected a JSON object`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw dockerError(400, `Invalid "${what}": expected a JSON object`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val === null) continue; // `--build-arg NAME` without a value and no such variable set
    if (typeof val !== 'string') throw dockerError(400, `Invalid "${what}" value for "${k}": expected a string`);
    out[k] = val;
  }
  return out;
}

export interface DockerBuildOptions {
  tags: string[];
  dockerfile: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
}

export function parseBuildQuery(url: URL, accountName: string, host: string): DockerBuildOptions {
  const q = url.searchParams;
  if (q.get('remote')) throw dockerError(400, 'Cannot build from "remote": Berth builds the context sent in the request body');
  const target = q.get('target') || undefined;
  if (target !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(target)) throw dockerError(400, `Invalid target "${target}": must be a stage name from the Dockerfile`);
  const dockerfile = q.get('dockerfile') || 'Dockerfile';
  if (dockerfile.length > 1024 || dockerfile.includes('\0')) throw dockerError(400, 'Invalid "dockerfile": must be a path of at most 1024 characters');
  const buildArgs = parseJsonMap(q.get('buildargs') ?? undefined, 'buildargs');
  for (const k of Object.keys(buildArgs)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw dockerError(400, `Invalid build argument name "${k}": letters, digits and _`);
  return {
    tags: q.getAll('t').filter(Boolean).map((t) => buildTagFor(t, accountName, host)),
    dockerfile,
    buildArgs,
    labels: parseJsonMap(q.get('labels') ?? undefined, 'labels'),
    target,
    noCache: ['1', 'true'].includes(q.get('nocache') ?? ''),
  };
}

async function* iterate(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/**
 * A plain tar with zero blocks appended. When the Dockerfile is outside the context, the CLI splices
 * it into the tar stream and the result ends without the last entry's padding and the end-of-archive
 * blocks; zeros complete it, and a complete tar reads the same with them.
 */
async function* padTar(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let first = true;
  let isTar = false;
  for await (const c of chunks) {
    if (first) isTar = c.length >= 263 && new TextDecoder().decode(c.subarray(257, 262)) === 'ustar';
    first = false;
    yield c;
  }
  if (isTar) yield new Uint8Array(1536);
}

async function storeContext(platform: Platform, body: ReadableStream<Uint8Array>) {
  const limit = platform.limits?.contextBytes ?? DEFAULT_CONTEXT_BYTES;
  const limited = limitBytes(body, limit, () => dockerError(413, `Upload refused: the build context exceeds the limit of ${limit} bytes; a .dockerignore makes it smaller`));
  const stored = await uploadStream(platform.s3, platform.bucket, padTar(iterate(limited)), { tempKey: `uploads/contexts/${newId('up')}`, key: contextKey });
  const mediaType = sniffContextType(stored.head);
  if (!mediaType) throw dockerError(400, 'Cannot build: the request body is not a tar, tar.gz or zip archive of the context');
  return { digest: stored.digest, mediaType };
}

/** The JSON messages of a build, from its log lines, until it ends. */
function progressStream(platform: Platform, build: Build, shortTags: string[], o: { quiet: boolean; signal: AbortSignal }): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const subject = { kind: 'build' as const, id: build.id };
  let after = 0;
  let lastStep = '';
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (m: unknown) => controller.enqueue(enc.encode(`${JSON.stringify(m)}\r\n`));
      try {
        for (;;) {
          if (o.signal.aborted) break;
          const now = await getBuild(platform.db, build.id);
          const lines = await readLogLines(platform.db, subject, after);
          for (const l of lines) {
            after = l.id;
            if (l.line.startsWith('Step ')) lastStep = l.line;
            // The runner's own last line repeats the error; errorDetail carries it once.
            if (l.stream === 'stderr' && l.line.startsWith('ERROR: ')) continue;
            // Said below in Docker's words (a short ID).
            if (l.line.startsWith('Successfully built sha256:')) continue;
            if (!o.quiet) send({ stream: `${l.line}\n` });
          }
          if (lines.length === 1000) continue;
          if (now && ENDED.has(now.status)) {
            if (now.status === 'succeeded') {
              const id = now.configDigest ?? now.manifestDigest ?? '';
              send({ aux: { ID: id } });
              // Quiet, the CLI prints the stream it was sent: the image ID alone.
              if (o.quiet) send({ stream: `${id}\n` });
              if (!o.quiet) send({ stream: `Successfully built ${id.replace(/^sha256:/, '').slice(0, 12)}\n` });
              if (!o.quiet) for (const t of shortTags) send({ stream: `Successfully tagged ${t}\n` });
            } else {
              const reason = now.error ?? now.status;
              const message = lastStep && !reason.includes(lastStep) ? `${reason} (at ${lastStep})` : reason;
              send({ errorDetail: { message }, error: message });
            }
            break;
          }
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      } catch (err) {
        const message = `Cannot follow build ${build.id}: ${(err as Error).message}`;
        send({ errorDetail: { message }, error: message });
      }
      controller.close();
    },
  });
}

export const buildApi = new Hono<AuthEnv>();

buildApi.post('/build', async (c) => {
  const platform = c.var.platform;
  const host = registryHost(platform);
  const account = c.var.account;
  const url = new URL(c.req.url);
  const opts = parseBuildQuery(url, account.name, host);
  if (!c.req.raw.body) throw dockerError(400, 'Cannot build: the request has no context');
  const context = await storeContext(platform, c.req.raw.body);
  const build = await createBuild(platform.db, {
    accountId: account.id,
    appId: null,
    source: 'docker',
    contextDigest: context.digest,
    contextMediaType: context.mediaType,
    dockerfilePath: opts.dockerfile,
    dockerfile: null,
    buildArgs: opts.buildArgs,
    labels: opts.labels,
    target: opts.target ?? null,
    noCache: opts.noCache,
    tags: opts.tags,
    deployOnSuccess: false,
  });
  const shortTags = url.searchParams.getAll('t').filter(Boolean).map((t) => (/:[^/]*$/.test(t) ? t : `${t}:latest`));
  const quiet = ['1', 'true'].includes(url.searchParams.get('q') ?? '');
  return new Response(progressStream(platform, build, shortTags, { quiet, signal: c.req.raw.signal }), { headers: { 'Content-Type': 'application/json' } });
});

buildApi.post('/build/prune', (c) => c.json({ CachesDeleted: [], SpaceReclaimed: 0 }));
buildApi.post('/session', () => {
  throw dockerError(501, 'POST /session (BuildKit) is not supported by Berth: build with the legacy builder (DOCKER_BUILDKIT=0)');
});
