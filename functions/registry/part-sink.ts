// Streams bytes into an S3 multipart upload: cuts them into parts of `partSize`, keeps up to
// `concurrency` part uploads in flight, and holds back what does not fill a part for the caller.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { UploadPart } from '../../db/queries/registry-uploads';

export class PartSink {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private inflight: Promise<void>[] = [];
  private failure: unknown;
  private creating?: Promise<string>;
  /** True when this sink created the multipart upload (the caller aborts it if the request fails). */
  createdHere = false;
  readonly parts: UploadPart[];

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    readonly key: string,
    public s3UploadId: string | null,
    parts: UploadPart[],
    private readonly partSize: number,
    private readonly concurrency: number,
  ) {
    this.parts = [...parts];
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds bytes; full parts go to S3 while the caller reads on. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= this.partSize) await this.sendPart(this.take(this.partSize));
  }

  /** The bytes not yet sent, leaving the sink empty. */
  take(n = this.buffered): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        out.set(c, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        out.set(c.subarray(0, want), filled);
        this.chunks[0] = c.subarray(want);
        filled += want;
      }
    }
    this.buffered -= n;
    return out;
  }

  /** Uploads `body` as the next part (any size for the last one), waiting while too many are in flight. */
  async sendPart(body: Uint8Array): Promise<void> {
    const partNumber = this.parts.reduce((m, p) => Math.max(m, p.partNumber), 0) + 1;
    const placeholder = { partNumber, etag: '', size: body.length };
    this.parts.push(placeholder);
    while (this.inflight.length >= this.concurrency) await this.inflight.shift();
    if (this.failure) throw this.failure;
    const uploadId = await this.ensureMultipart();
    const p = this.s3
      .send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }))
      .then((r) => {
        placeholder.etag = r.ETag ?? '';
      })
      .catch((err) => {
        this.failure ??= err;
      });
    this.inflight.push(p);
  }

  private ensureMultipart(): Promise<string> {
    if (this.s3UploadId) return Promise.resolve(this.s3UploadId);
    this.creating ??= this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key })).then((r) => {
      this.s3UploadId = r.UploadId!;
      this.createdHere = true;
      return this.s3UploadId;
    });
    return this.creating;
  }

  /** Waits for every part in flight; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inflight.length) await this.inflight.shift();
    if (this.failure) throw this.failure;
  }

  async complete(): Promise<void> {
    await this.drain();
    const parts = [...this.parts].sort((a, b) => a.partNumber - b.partNumber);
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.s3UploadId!,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
    );
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.inflight);
    if (this.s3UploadId) await abortMultipart(this.s3, this.bucket, this.key, this.s3UploadId);
  }
}

export async function abortMultipart(s3: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {});
}
