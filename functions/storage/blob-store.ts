// Blobs in S3, once, by digest: blobs/<algorithm>/<hex>. The registry and the builder write the same
// objects, so an image Berth built is served with no copy.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Digest } from '../core/oci/digest';

export function blobKey(digest: Digest | string): string {
  const i = digest.indexOf(':');
  return `blobs/${digest.slice(0, i)}/${digest.slice(i + 1)}`;
}

/** Build contexts, by the digest of the archive as uploaded. */
export function contextKey(digest: Digest | string): string {
  const i = digest.indexOf(':');
  return `contexts/${digest.slice(0, i)}/${digest.slice(i + 1)}`;
}

export interface BlobBody {
  body: ReadableStream<Uint8Array>;
  /** Bytes in this response (the range's length when a range was asked). */
  contentLength: number;
  /** The whole object's size. */
  size: number;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

type FixedLengthStreamClass = new (length: number) => TransformStream<Uint8Array, Uint8Array>;

/**
 * Workers' fetch sends a stream body chunked, dropping the Content-Length the request was signed
 * with, unless the stream is a FixedLengthStream (a Workers global). AWS S3 refuses chunked PUTs
 * (411 MissingContentLength); the embedded server and R2 take them. Elsewhere the body is as given.
 */
function withKnownLength(body: Uint8Array | ReadableStream<Uint8Array>, size: number): Uint8Array | ReadableStream<Uint8Array> {
  const Fixed = (globalThis as { FixedLengthStream?: FixedLengthStreamClass }).FixedLengthStream;
  return Fixed && body instanceof ReadableStream ? body.pipeThrough(new Fixed(size)) : body;
}

export class BlobStore {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** The object's size, or undefined when absent. */
  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const r = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: Number(r.ContentLength ?? 0) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Streams the object, or a byte range `[start, end]` (inclusive) of it; undefined when absent. */
  async get(key: string, range?: { start: number; end?: number }): Promise<BlobBody | undefined> {
    try {
      const r = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
        }),
      );
      const contentLength = Number(r.ContentLength ?? 0);
      const total = r.ContentRange ? Number(r.ContentRange.split('/')[1]) : contentLength;
      return { body: r.Body!.transformToWebStream() as ReadableStream<Uint8Array>, contentLength, size: total };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const b = await this.get(key);
    if (!b) return undefined;
    return new Uint8Array(await new Response(b.body).arrayBuffer());
  }

  /** Stores bytes whose digest the caller has verified. A stream needs its length (real S3 wants it). */
  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, size: number, contentType?: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: withKnownLength(body, size), ContentLength: size, ContentType: contentType }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
