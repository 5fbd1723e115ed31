// `Idempotency-Key` on creating POSTs: the first request with a key runs and its response is kept;
// a retry with the same key and the same request gets that response again (Idempotent-Replayed:
// true) instead of creating a second resource. The same key with a different request is refused.
import { createMiddleware } from 'hono/factory';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from '../../db/queries/idempotency';
import type { AuthEnv } from '../auth';
import { badRequest, HttpError } from '../core/errors';
import { sha256Hex } from '../core/hash';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * What identifies a request. A JSON body is hashed whole (it is small and limited); an upload is
 * streamed and never held, so it is identified by its length and the fields of its URL instead.
 */
async function hashRequest(req: { method: string; path: string; url: string; header(name: string): string | undefined; text(): Promise<string> }): Promise<string> {
  const type = req.header('content-type') ?? '';
  const body = type.startsWith('application/json') ? await req.text() : `${type.split(';')[0]}:${req.header('content-length') ?? '?'}`;
  return sha256Hex(`${req.method} ${req.url}\n${body}`);
}

export function idempotent() {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (key === undefined) return next();
    if (!KEY_PATTERN.test(key)) throw badRequest('Invalid Idempotency-Key header: use 1 to 255 printable ASCII characters, e.g. a UUID', 'invalid_idempotency_key');
    const db = c.var.platform.db;
    const accountId = c.var.account.id;
    const requestHash = await hashRequest(c.req);
    const claim = await claimIdempotencyKey(db, { accountId, key, method: c.req.method, path: c.req.path, requestHash });
    if (!claim.claimed) {
      const r = claim.record;
      if (r.requestHash !== requestHash || r.method !== c.req.method || r.path !== c.req.path) {
        throw new HttpError(422, 'idempotency_key_reused', `Idempotency-Key "${key}" was already used for a different request: use a new key for a new request`);
      }
      if (r.status === null) throw new HttpError(409, 'idempotency_in_progress', `A request with Idempotency-Key "${key}" is still in progress: retry once it has finished`);
      c.header('idempotent-replayed', 'true');
      return c.json(r.body as object, r.status as 200);
    }
    try {
      await next();
    } catch (err) {
      await releaseIdempotencyKey(db, accountId, key);
      throw err;
    }
    const res = c.res;
    if (c.error || res.status >= 500 || !(res.headers.get('content-type') ?? '').includes('json')) {
      await releaseIdempotencyKey(db, accountId, key);
      return;
    }
    await completeIdempotencyKey(db, accountId, key, res.status, await res.clone().json());
  });
}
