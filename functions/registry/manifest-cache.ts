// Manifest bytes kept in memory by digest, so a pull by tag costs a Postgres lookup and no S3 read.
// Safe because the bytes at a digest never change: callers consult it only after Postgres has said
// the manifest exists in the repository asked about, so the cache decides nothing about access or
// existence. Bounded in total bytes and evicting the least recently used; one per process (Node) or
// isolate (Workers).

export interface ManifestCacheLimits {
  /** Total bytes held. */
  maxBytes: number;
  /** Larger manifests are not kept (an index of thousands of platforms would crowd out the rest). */
  maxEntryBytes: number;
}

const MAX_ENTRY_BYTES = 1024 * 1024;

export class ManifestCache {
  // A Map iterates in insertion order: re-inserting on each hit keeps the least recent first.
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(readonly limits: ManifestCacheLimits) {}

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(digest: string): Uint8Array | undefined {
    const hit = this.#entries.get(digest);
    if (hit) {
      this.#entries.delete(digest);
      this.#entries.set(digest, hit);
    }
    return hit;
  }

  /** Keeps `bytes`, which the caller knows to be the manifest at `digest`, and no longer changes. */
  set(digest: string, bytes: Uint8Array): void {
    if (bytes.length > this.limits.maxEntryBytes || bytes.length > this.limits.maxBytes) return;
    this.delete(digest);
    this.#entries.set(digest, bytes);
    this.#bytes += bytes.length;
    for (const [oldest, b] of this.#entries) {
      if (this.#bytes <= this.limits.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= b.length;
    }
  }

  delete(digest: string): void {
    const old = this.#entries.get(digest);
    if (!old) return;
    this.#entries.delete(digest);
    this.#bytes -= old.length;
  }
}

let shared: ManifestCache | undefined;

/** The cache the registry's handlers share, holding at most `maxBytes` (the entry's setting). */
export function sharedManifestCache(maxBytes: number): ManifestCache {
  if (shared?.limits.maxBytes !== maxBytes) shared = new ManifestCache({ maxBytes, maxEntryBytes: Math.min(MAX_ENTRY_BYTES, maxBytes) });
  return shared;
}
