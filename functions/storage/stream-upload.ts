// Streams bytes of unknown length into S3 and hashes them on the way. Small bodies are one PUT;
// larger ones go up as a multipart upload in parts of PART_BYTES, so at most one part is in memory.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createResumableHash } from '../core/sha2';

/** S3 requires parts of at least 5 MiB, the last excepted. */
export const PART_BYTES = 8 * 1024 * 1024;

export interface StreamedObject {
  /** sha256:<hex> of the bytes. */
  digest: string;
  size: number;
  /** The first bytes, for sniffing the format. */
  head: Uint8Array;
}

/**
 * Uploads to `key(digest)` once the digest is known: small bodies are PUT there directly, large ones
 * are uploaded to `tempKey` and copied (S3 copies server-side), then the temp object is deleted.
 */
export async function uploadStream(
  s3: S3Client,
  bucket: string,
  chunks: AsyncIterable<Uint8Array>,
  opts: { tempKey: string; key: (digest: string) => string; contentType?: string; partBytes?: number },
): Promise<StreamedObject> {
  const partBytes = opts.partBytes ?? PART_BYTES;
  const hash = createResumableHash('sha256');
  let size = 0;
  let head = new Uint8Array(0);
  // The part buffer grows as bytes come, so a small context does not cost a whole part of memory.
  let part = new Uint8Array(Math.min(partBytes, 64 * 1024));
  let fill = 0;
  const room = (n: number) => {
    if (fill + n <= part.length) return;
    let size = part.length;
    while (size < fill + n && size < partBytes) size *= 2;
    const grown = new Uint8Array(Math.min(size, partBytes));
    grown.set(part.subarray(0, fill));
    part = grown;
  };
  let uploadId: string | undefined;
  const parts: { PartNumber: number; ETag: string }[] = [];

  const flushPart = async () => {
    if (!uploadId) {
      const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: opts.tempKey, ContentType: opts.contentType }));
      uploadId = r.UploadId!;
    }
    const n = parts.length + 1;
    const r = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: opts.tempKey, UploadId: uploadId, PartNumber: n, Body: part.subarray(0, fill), ContentLength: fill }),
    );
    parts.push({ PartNumber: n, ETag: r.ETag! });
    fill = 0;
  };

  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      if (head.length < 512) {
        const h = new Uint8Array(Math.min(512, head.length + chunk.length));
        h.set(head);
        h.set(chunk.subarray(0, h.length - head.length), head.length);
        head = h;
      }
      size += chunk.length;
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(partBytes - fill, chunk.length - off);
        room(take);
        part.set(chunk.subarray(off, off + take), fill);
        fill += take;
        off += take;
        if (fill === partBytes) await flushPart();
      }
    }
    const digest = `sha256:${hash.digestHex()}`;
    const key = opts.key(digest);
    if (!uploadId) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: part.subarray(0, fill), ContentLength: fill, ContentType: opts.contentType }));
      return { digest, size, head };
    }
    if (fill > 0) await flushPart();
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: opts.tempKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    uploadId = undefined;
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${opts.tempKey}`, ContentType: opts.contentType }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: opts.tempKey }));
    return { digest, size, head };
  } catch (err) {
    if (uploadId) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: opts.tempKey, UploadId: uploadId })).catch(() => {});
    throw err;
  }
}
