// The registry's limits and tunables, with defaults that suit Workers (128 MB of memory) and Node.
export interface RegistryOptions {
  /** Size of the S3 parts an upload is cut into; at least S3's minimum of 5 MiB. */
  partSize: number;
  /** Parts uploaded at once per request. Memory per upload is about partSize × (concurrency + 1). */
  partConcurrency: number;
  /**
   * Largest manifest accepted. The spec asks registries to take at least 4 MiB; Berth takes 16 MiB
   * (the manifest is read into memory to be checked).
   */
  maxManifestBytes: number;
  /** Largest blob accepted: 5 GiB, S3's single-request copy limit (a finished upload is copied once). */
  maxBlobBytes: number;
  /** Bytes of manifests kept in memory (see manifest-cache.ts); Workers isolates want less. */
  manifestCacheBytes: number;
  /** Default and maximum page sizes for the tag list, catalog and referrers. */
  defaultPageSize: number;
  maxPageSize: number;
}

export const S3_MIN_PART = 5 * 1024 * 1024;

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = {
  partSize: 16 * 1024 * 1024,
  partConcurrency: 3,
  maxManifestBytes: 16 * 1024 * 1024,
  maxBlobBytes: 5 * 1024 * 1024 * 1024,
  manifestCacheBytes: 32 * 1024 * 1024,
  defaultPageSize: 1000,
  maxPageSize: 10000,
};

export function resolveRegistryOptions(o: Partial<RegistryOptions> | undefined): RegistryOptions {
  const r = { ...DEFAULT_REGISTRY_OPTIONS, ...o };
  r.partSize = Math.max(S3_MIN_PART, r.partSize);
  r.partConcurrency = Math.max(1, r.partConcurrency);
  return r;
}
