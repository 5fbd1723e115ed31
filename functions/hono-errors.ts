// Hono's validators throw its own HTTPException (malformed JSON, an undeclared Content-Type). Those
// are the caller's mistakes, not bugs: give them the one error shape with a stable code.
import { HTTPException } from 'hono/http-exception';
import { HttpError } from './core/errors';

export function fromHonoError(err: unknown, method: string, path: string): unknown {
  if (!(err instanceof HTTPException) || err.status >= 500) return err;
  if (err.status === 400 && /malformed json/i.test(err.message)) {
    return new HttpError(400, 'invalid_json', `Invalid JSON body for ${method} ${path}: it does not parse`, { cause: err });
  }
  if (err.status === 415) {
    return new HttpError(415, 'unsupported_media_type', `Unsupported Content-Type for ${method} ${path}: send application/json`, { cause: err });
  }
  if (err.status === 413) return new HttpError(413, 'payload_too_large', err.message || 'Request refused: the body is too large', { cause: err });
  return new HttpError(err.status, 'bad_request', err.message || `Invalid request for ${method} ${path}`, { cause: err });
}
