// How an upload's running digest survives between requests. The default keeps the pure-TS SHA-256
// state in the upload's row, so any instance continues it. A runtime with a faster hash (node:crypto)
// may keep its state in process memory instead: when a chunk lands where that state is not, hashing
// stops and the finished object is read back from S3 and hashed once at the end.
import { digestFromHex, type Digest, type DigestAlgorithm } from '../core/oci/digest';
import { createResumableHash, resumeHash, type ResumableHash } from '../core/sha2';

export interface StreamHash {
  readonly length: number;
  update(data: Uint8Array): void;
  digestHex(): string;
}

export interface UploadHasher {
  /** A one-off hash (monolithic uploads, rehashing a finished object). */
  create(algorithm: DigestAlgorithm): StreamHash;
  /** The hash of a new upload. Chunked uploads hash SHA-256 as they go; other algorithms rehash. */
  start(uploadId: string): StreamHash;
  /** The hash continued from a stored state; undefined when it cannot be continued here. */
  resume(uploadId: string, state: string): StreamHash | undefined;
  /** The state to store after a chunk. */
  save(uploadId: string, hash: StreamHash): string;
  /** The upload ended (finished or cancelled): drop what is held for it. */
  forget(uploadId: string): void;
}

/** Pure TypeScript, state in Postgres: works on every runtime. */
export const portableUploadHasher: UploadHasher = {
  create: (algorithm) => createResumableHash(algorithm),
  start: () => createResumableHash('sha256'),
  resume(_id, state) {
    try {
      return resumeHash(state);
    } catch {
      return undefined;
    }
  },
  save: (_id, hash) => (hash as ResumableHash).exportState(),
  forget: () => {},
};

/** Hashes a whole stream with `hasher`, e.g. an object read back from S3. */
export async function hashStream(hasher: UploadHasher, algorithm: DigestAlgorithm, body: ReadableStream<Uint8Array>): Promise<Digest> {
  const h = hasher.create(algorithm);
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    h.update(value);
  }
  return digestFromHex(algorithm, h.digestHex());
}
