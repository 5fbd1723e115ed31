// What every registry handler works with, built once per request.
import type { Context } from 'hono';
import { BlobStore } from '../storage/blob-store';
import type { AppEnv, Platform } from '../platform';
import type { Caller } from './auth';
import { resolveRegistryOptions, type RegistryOptions } from './options';
import { portableUploadHasher, type UploadHasher } from './upload-hasher';

export interface RegistryContext {
  c: Context<AppEnv>;
  platform: Platform;
  store: BlobStore;
  options: RegistryOptions;
  hasher: UploadHasher;
  caller: Caller;
  /** Origin clients reach the registry at: the configured public URL, else the request's. */
  origin: string;
}

export function createRegistryContext(c: Context<AppEnv>, caller: Caller): RegistryContext {
  const platform = c.var.platform;
  return {
    c,
    platform,
    store: new BlobStore(platform.s3, platform.bucket),
    options: resolveRegistryOptions(platform.registry),
    hasher: platform.uploadHasher ?? portableUploadHasher,
    caller,
    origin: requestOrigin(c),
  };
}

export function requestOrigin(c: Context<AppEnv>): string {
  return (c.var.platform.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
}

/**
 * Lets `task` finish after the response: Workers keep the isolate for it (waitUntil); a Node
 * process outlives its responses anyway. Its failure is the task's own business.
 */
export function afterResponse(rc: RegistryContext, task: Promise<unknown>): void {
  const settled = task.catch(() => {});
  try {
    rc.c.executionCtx.waitUntil(settled);
  } catch {
    // Node: the context has no ExecutionContext.
  }
}
