// node:crypto hashes for uploads on the Node entry: ~10× the pure-TS SHA-256 here. Their state
// cannot be serialised, so it stays in this process keyed by upload and length; a chunk that lands on
// another process finds none and the upload is rehashed from S3 when it finishes.
import { createHash, type Hash } from 'node:crypto';
import { portableUploadHasher, type StreamHash, type UploadHasher } from './upload-hasher';

class NativeHash implements StreamHash {
  length = 0;
  constructor(readonly hash: Hash) {}
  update(data: Uint8Array): void {
    this.hash.update(data);
    this.length += data.length;
  }
  digestHex(): string {
    return this.hash.digest('hex');
  }
}

/** Keeps at most `limit` upload states, evicting the oldest (their uploads rehash at the end). */
export function createNativeUploadHasher(limit = 1000): UploadHasher {
  const instance = crypto.randomUUID();
  const held = new Map<string, NativeHash>();
  return {
    create: (algorithm) => new NativeHash(createHash(algorithm)),
    start: () => new NativeHash(createHash('sha256')),
    resume(uploadId, state) {
      if (!state.startsWith('local:')) return portableUploadHasher.resume(uploadId, state);
      const [, owner, length] = state.split(':');
      const h = held.get(uploadId);
      // Taken out while a request holds it, so two racing chunks never share one state.
      held.delete(uploadId);
      if (owner !== instance || !h || String(h.length) !== length) return undefined;
      return h;
    },
    save(uploadId, hash) {
      if (!(hash instanceof NativeHash)) return portableUploadHasher.save(uploadId, hash);
      held.delete(uploadId);
      held.set(uploadId, hash);
      if (held.size > limit) held.delete(held.keys().next().value!);
      return `local:${instance}:${hash.length}`;
    },
    forget: (uploadId) => void held.delete(uploadId),
  };
}
