import type { RegistryOptions } from './registry/options';
import type { UploadHasher } from './registry/upload-hasher';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Db } from '../db/client';
import type { DirectObjectIo } from './storage/direct-object-io';
import type { S3Config } from './storage/s3';

/** What a request handler may use. Built per request on Workers, once per process on Node. */
export interface Platform {
  db: Db;
  s3: S3Client;
  bucket: string;
  /** The externally visible origin of this deployment, e.g. http://127.0.0.1:8080. */
  publicUrl?: string;
  /** Key for the registry's bearer tokens; when absent one is generated and kept in Postgres. */
  registrySecret?: string;
  /** A faster hash for blob uploads (node:crypto on Node); the pure-TS resumable one otherwise. */
  uploadHasher?: UploadHasher;
  /**
   * When set, blob GETs redirect to presigned URLs of this S3 configuration instead of streaming:
   * all of them, or (`when: 'local'`) those from this machine when S3 is on it too (blob-redirect.ts).
   */
  blobRedirect?: { s3: S3Config; expiresInSeconds: number; when?: 'always' | 'local' };
  /** Socket-to-socket blob transfers to and from S3 (the Node entry); web streams otherwise. */
  directObjectIo?: DirectObjectIo;
  /** Registry tunables (part size, limits); defaults suit both runtimes. */
  registry?: Partial<RegistryOptions>;
  /** Apps are reached at <app name>.<appsDomain>; derived from publicUrl when unset. */
  appsDomain?: string;
  /** Upload limits; defaults in functions/api/limits.ts. */
  limits?: { contextBytes?: number; jsonBytes?: number };
  /** Sessions with the runner's containers (Node entry of the Engine API only): terminal resizes. */
  runnerSessions?: RunnerSessions;
}

export interface RunnerSessions {
  resize(request: { containerId: string; execId?: string; rows: number; cols: number }): Promise<void>;
  /** `top` (with ps options) or `stats` of a running container, as its runner answers them. */
  query?(request: { kind: 'top'; containerId: string; psArgs: string[] } | { kind: 'stats'; containerId: string }): Promise<unknown>;
  /** `docker cp` out: a path's stat and, unless only that is asked, its tar stream. */
  archive?(request: { containerId: string; path: string; statOnly: boolean }): Promise<{ stat: unknown; body?: ReadableStream<Uint8Array> }>;
  /** `docker cp` in: unpacks the tar into a directory of the container. */
  extract?(request: { containerId: string; path: string; copyUidGid: boolean; noOverwriteDirNonDir: boolean }, tar: ReadableStream<Uint8Array> | null): Promise<unknown>;
}

export type PlatformFactory = (env: unknown) => Platform | Promise<Platform>;

export type AppEnv = {
  Variables: { platform: Platform };
};
