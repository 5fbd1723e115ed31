// Build contexts: archives (tar, tar.gz, zip) stored in S3 at contexts/sha256/<hex>, unpacked per
// build into a temporary directory with hostile archives refused, then `.dockerignore` applied the way
// Docker does: ignored files are gone before any COPY looks; the Dockerfile and .dockerignore are
// still read by the builder even when they ignore themselves.
import ignore from '@balena/dockerignore';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { unzipSync } from 'fflate';
import { contextKey, type BlobStore } from '../../functions/storage/blob-store';
import { extractTar, normaliseEntryName, UnsafeArchiveError } from '../image/tar-extract';
import { readTar } from '../image/tar-reader';
import { resolveInRoot } from './root-path';

export interface ContextLimits {
  /** Bytes of files once unpacked. */
  maxBytes: number;
  maxEntries: number;
}

export const DEFAULT_CONTEXT_LIMITS: ContextLimits = { maxBytes: 2 * 1024 ** 3, maxEntries: 200_000 };

export class ContextError extends Error {
  override name = 'ContextError';
}

function sniff(head: Uint8Array): 'gzip' | 'zip' | 'tar' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  return 'tar';
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/** Unpacks an archive stream into dest (empty), refusing what could escape it. */
export async function unpackContextStream(source: AsyncIterable<Buffer>, dest: string, limits: ContextLimits = DEFAULT_CONTEXT_LIMITS): Promise<{ digest: string; bytes: number; entries: number }> {
  const hash = createHash('sha256');
  const it = source[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) throw new ContextError('Cannot unpack build context: the archive is empty');
  const kind = sniff(first.value);
  const hashed = Readable.from(prepend(first.value, it)).pipe(
    new Transform({
      transform(c: Buffer, _e, cb) {
        hash.update(c);
        cb(null, c);
      },
    }),
  );
  let result = { bytes: 0, entries: 0 };
  try {
    if (kind === 'zip') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of hashed) {
        size += (c as Buffer).length;
        if (size > limits.maxBytes) throw new UnsafeArchiveError(`Cannot unpack build context: the zip archive exceeds ${limits.maxBytes} bytes`);
        chunks.push(c as Buffer);
      }
      result = await extractZip(Buffer.concat(chunks), dest, limits);
    } else {
      const stream = kind === 'gzip' ? hashed.pipe(createGunzip()) : hashed;
      await pipeline(stream, async (s: AsyncIterable<Buffer>) => {
        result = await extractTar(readTar(s), dest, { flavour: 'context', maxBytes: limits.maxBytes, maxEntries: limits.maxEntries, what: 'build context' });
      });
    }
  } catch (err) {
    if (err instanceof UnsafeArchiveError) throw new ContextError(err.message);
    throw new ContextError(`Cannot unpack build context: ${(err as Error).message}`);
  }
  return { digest: `sha256:${hash.digest('hex')}`, ...result };
}

async function extractZip(bytes: Buffer, dest: string, limits: ContextLimits): Promise<{ bytes: number; entries: number }> {
  let entries = 0;
  let total = 0;
  const files = unzipSync(bytes, {
    filter: (f) => {
      entries++;
      total += f.originalSize;
      if (entries > limits.maxEntries) throw new UnsafeArchiveError(`Cannot unpack build context: more than ${limits.maxEntries} entries`);
      if (total > limits.maxBytes) throw new UnsafeArchiveError(`Cannot unpack build context: its files exceed ${limits.maxBytes} bytes`);
      return true;
    },
  });
  for (const [name, data] of Object.entries(files)) {
    const rel = normaliseEntryName(name, 'context', 'build context');
    if (!rel) continue;
    const abs = join(dest, rel);
    if (name.endsWith('/')) {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await mkdir(dirname(abs), { recursive: true });
    // A zip may not name a file inside a path it also names as a file: mkdir then fails, as wanted.
    await writeFile(abs, data, { mode: 0o644, flag: 'wx' });
  }
  return { bytes: total, entries };
}

/** Downloads and unpacks a stored context, verifying its digest. */
export async function fetchContext(blobs: BlobStore, digest: string, dest: string, limits: ContextLimits = DEFAULT_CONTEXT_LIMITS): Promise<void> {
  const blob = await blobs.get(contextKey(digest));
  if (!blob) throw new ContextError(`Cannot fetch build context ${digest}: it is missing from storage`);
  await mkdir(dest, { recursive: true });
  const r = await unpackContextStream(Readable.fromWeb(blob.body as NodeReadableStream<Uint8Array>), dest, limits);
  if (r.digest !== digest) throw new ContextError(`Cannot use build context ${digest}: its content has digest ${r.digest}`);
}

export interface PreparedContext {
  dockerfile: string;
}

/**
 * Reads the Dockerfile, then removes every path .dockerignore (or `<Dockerfile>.dockerignore`)
 * excludes. A directory survives when an exception (`!pattern`) keeps something inside it.
 */
export async function prepareContext(dir: string, dockerfilePath = 'Dockerfile'): Promise<PreparedContext> {
  const dfRel = normaliseEntryName(dockerfilePath, 'context', 'Dockerfile path');
  let dockerfile: string;
  try {
    // The Dockerfile may be a symlink; it is followed inside the context only.
    dockerfile = await readFile(await resolveInRoot(dir, dfRel), 'utf8');
  } catch {
    throw new ContextError(`Cannot read the Dockerfile: "${dockerfilePath}" is not in the build context`);
  }
  let patterns: string | undefined;
  for (const candidate of [`${dfRel}.dockerignore`, '.dockerignore']) {
    patterns = await resolveInRoot(dir, candidate).then((p) => readFile(p, 'utf8')).catch(() => undefined);
    if (patterns !== undefined) break;
  }
  if (patterns !== undefined) await applyDockerignore(dir, patterns);
  return { dockerfile };
}

export function parseDockerignore(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export async function applyDockerignore(dir: string, text: string): Promise<number> {
  const ig = ignore().add(parseDockerignore(text));
  let removed = 0;
  async function walk(rel: string): Promise<boolean> {
    const names = await readdir(join(dir, rel));
    let keptAny = false;
    for (const n of names) {
      const childRel = rel ? posix.join(rel, n) : n;
      const abs = join(dir, childRel);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        const keptInside = await walk(childRel);
        if (!keptInside && ig.ignores(childRel)) {
          await rmdir(abs).catch(() => rm(abs, { recursive: true, force: true }));
          removed++;
        } else keptAny = true;
      } else if (ig.ignores(childRel)) {
        await rm(abs, { force: true });
        removed++;
      } else keptAny = true;
    }
    return keptAny;
  }
  await walk('');
  return removed;
}
