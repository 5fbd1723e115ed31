// Reads a build request: multipart with a `dockerfile` part (file or text) and a `context` archive,
// or a folder's files as parts named by their relative paths, which are packed into a tar here; or
// JSON with the Dockerfile text alone. The context streams to S3 as it arrives and the byte that
// crosses the size limit ends the upload with 413.
import { z } from '@hono/zod-openapi';
import { badRequest, HttpError, payloadTooLarge } from '../core/errors';
import { newId } from '../core/ids';
import type { Platform } from '../platform';
import { contextKey } from '../storage/blob-store';
import { uploadStream, type StreamedObject } from '../storage/stream-upload';
import { limitBytes } from './byte-limit';
import { entryHeader, fileKind, padding, parentDirectories, parseRelativePath, TAR_END } from './folder-tar';
import { DEFAULT_CONTEXT_BYTES, MAX_DOCKERFILE_BYTES } from './limits';
import { MultipartReader, parseBoundary } from './multipart';
import { describeIssues } from './validation';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';

export const CONTEXT_MEDIA_TYPES = { tar: 'application/x-tar', gzip: 'application/gzip', zip: 'application/zip' } as const;

export const BuildOptionsSchema = z
  .object({
    dockerfilePath: z.string().min(1).max(1024).default('Dockerfile').openapi({ description: 'Where the Dockerfile is in the context, when no `dockerfile` is sent.' }),
    buildArgs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'build argument names are letters, digits and _'), z.string().max(32768)).default({}),
    target: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a stage name from the Dockerfile').optional(),
    noCache: z.boolean().default(false),
    deploy: z.boolean().default(false).openapi({ description: 'Deploy the app with the image once the build succeeds.' }),
  })
  .openapi('BuildOptions');

export const JsonBuildSchema = BuildOptionsSchema.extend({
  dockerfile: z.string().min(1, 'must not be empty').max(MAX_DOCKERFILE_BYTES, 'must be at most 1 MiB'),
})
  .strict()
  .openapi('JsonBuild');

export interface BuildUpload {
  options: z.infer<typeof BuildOptionsSchema>;
  dockerfile?: string;
  context?: { digest: string; mediaType: string; size: number };
}

export function sniffContextType(head: Uint8Array): string | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return CONTEXT_MEDIA_TYPES.gzip;
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return CONTEXT_MEDIA_TYPES.zip;
  if (head.length >= 263 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') return CONTEXT_MEDIA_TYPES.tar;
  return undefined;
}

function parseOptions(fields: Record<string, string>, buildArgPairs: string[]): z.infer<typeof BuildOptionsSchema> {
  let buildArgs: unknown = {};
  if (fields.buildArgs !== undefined) {
    try {
      buildArgs = JSON.parse(fields.buildArgs);
    } catch {
      throw badRequest(`Invalid field "buildArgs": expected a JSON object such as {"VERSION":"1.2"}`, 'validation_failed');
    }
  }
  const args = { ...(buildArgs as Record<string, unknown>) };
  for (const pair of buildArgPairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw badRequest(`Invalid field "buildArg" "${pair}": expected NAME=value`, 'validation_failed');
    args[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const flag = (v: string | undefined) => (v === undefined ? undefined : ['true', '1', 'on', 'yes'].includes(v.toLowerCase()));
  const parsed = BuildOptionsSchema.safeParse({
    dockerfilePath: fields.dockerfilePath || undefined,
    buildArgs: args,
    target: fields.target || undefined,
    noCache: flag(fields.noCache),
    deploy: flag(fields.deploy),
  });
  if (!parsed.success) throw badRequest(`Invalid build options: ${describeIssues('options', parsed.error.issues)}`, 'validation_failed');
  return parsed.data;
}

async function* iterate(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** A context being uploaded: bytes written in go to S3; close() yields what was stored. */
function openContextSink(platform: Platform) {
  const pipe = new TransformStream<Uint8Array, Uint8Array>(undefined, { highWaterMark: 4 }, { highWaterMark: 4 });
  const writer = pipe.writable.getWriter();
  const upload = uploadStream(platform.s3, platform.bucket, iterate(pipe.readable), { tempKey: `uploads/contexts/${newId('up')}`, key: contextKey });
  upload.catch(() => {});
  return {
    async write(bytes: Uint8Array) {
      try {
        await writer.write(bytes);
      } catch {
        await upload; // the upload's own error explains the failed write
        throw new Error('Cannot store the build context: the upload stopped');
      }
    },
    async close(): Promise<StreamedObject> {
      await writer.close();
      return upload;
    },
    async abort(reason: unknown) {
      await writer.abort(reason).catch(() => {});
      await upload.catch(() => {});
    },
  };
}

export async function readMultipartBuild(platform: Platform, req: Request): Promise<BuildUpload> {
  const limit = platform.limits?.contextBytes ?? DEFAULT_CONTEXT_BYTES;
  const tooLarge = () => payloadTooLarge(`Upload refused: the build request exceeds the limit of ${limit} bytes; make the context smaller (a .dockerignore helps)`);
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge();
  const boundary = parseBoundary(req.headers.get('content-type') ?? undefined);
  if (!req.body) throw badRequest('Invalid build request: the body is empty', 'invalid_multipart');
  const reader = new MultipartReader(limitBytes(req.body, limit, tooLarge), boundary);
  const fields: Record<string, string> = {};
  const buildArgPairs: string[] = [];
  let dockerfile: string | undefined;
  let sink: ReturnType<typeof openContextSink> | undefined;
  let mode: 'archive' | 'folder' | undefined;
  const folderFiles = new Set<string>();
  const folderDirs = new Set<string>();
  let stored: StreamedObject | undefined;
  let parts = 0;
  try {
    for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
      if (++parts > 100_000) throw badRequest('Invalid build request: more than 100000 parts', 'invalid_multipart');
      if (part.name === 'dockerfile') {
        if (dockerfile !== undefined) throw badRequest('Invalid build request: give one "dockerfile" part', 'validation_failed');
        dockerfile = await reader.readText(MAX_DOCKERFILE_BYTES, 'part "dockerfile" (at most 1 MiB)');
      } else if (part.name === 'context') {
        if (mode) throw badRequest('Invalid build request: give one "context" archive, or a folder’s files, not both', 'validation_failed');
        mode = 'archive';
        sink = openContextSink(platform);
        for (let c = await reader.readChunk(); c; c = await reader.readChunk()) await sink.write(c);
        stored = await sink.close();
        sink = undefined;
      } else if (part.filename !== undefined && part.filename !== '') {
        if (mode === 'archive') throw badRequest('Invalid build request: give one "context" archive, or a folder’s files, not both', 'validation_failed');
        const path = parseRelativePath(part.filename);
        if (folderFiles.has(path) || folderDirs.has(path)) throw badRequest(`Invalid build request: the file "${path}" is sent twice`, 'validation_failed');
        if (!sink) {
          mode = 'folder';
          sink = openContextSink(platform);
        }
        for (const dir of parentDirectories(path, folderDirs)) {
          if (folderFiles.has(dir)) throw badRequest(`Invalid build request: "${dir}" is both a file and a folder`, 'validation_failed');
          await sink.write(entryHeader(dir, 0, 'directory'));
        }
        // A tar header holds the size, so one file is read whole before it is written; the total
        // stays under the request's limit.
        const bytes = await reader.readBytes(limit, tooLarge);
        await sink.write(entryHeader(path, bytes.length, fileKind(bytes)));
        await sink.write(bytes);
        await sink.write(padding(bytes.length));
        folderFiles.add(path);
      } else if (part.name === 'buildArg') {
        buildArgPairs.push(await reader.readText(64 * 1024, 'field "buildArg"'));
      } else if (['buildArgs', 'target', 'noCache', 'dockerfilePath', 'deploy'].includes(part.name)) {
        fields[part.name] = await reader.readText(256 * 1024, `field "${part.name}"`);
      } else {
        throw badRequest(
          `Invalid build request: unknown part "${part.name}"; expected dockerfile, context, files with relative paths, buildArgs, buildArg, target, noCache, dockerfilePath or deploy`,
          'validation_failed',
        );
      }
    }
    if (mode === 'folder' && sink) {
      await sink.write(TAR_END);
      stored = await sink.close();
      sink = undefined;
    }
  } catch (err) {
    await sink?.abort(err);
    await reader.cancel(err);
    throw err;
  }

  const options = parseOptions(fields, buildArgPairs);
  if (dockerfile === undefined && !stored) throw badRequest('Invalid build request: send a "dockerfile" part, a "context", or both', 'validation_failed');
  let context: BuildUpload['context'];
  if (stored) {
    const mediaType = mode === 'folder' ? CONTEXT_MEDIA_TYPES.tar : sniffContextType(stored.head);
    if (!mediaType) {
      await platform.s3.send(new DeleteObjectCommand({ Bucket: platform.bucket, Key: contextKey(stored.digest) })).catch(() => {});
      throw new HttpError(415, 'unsupported_context', 'Unsupported build context: the "context" part must be a tar, tar.gz or zip archive');
    }
    context = { digest: stored.digest, mediaType, size: stored.size };
    if (dockerfile === undefined && mode === 'folder' && !folderFiles.has(options.dockerfilePath.replace(/^\.\//, ''))) {
      throw badRequest(`Invalid build request: the folder has no "${options.dockerfilePath}"; send a "dockerfile" part or set dockerfilePath`, 'dockerfile_missing');
    }
  }
  return { options, dockerfile, context };
}
