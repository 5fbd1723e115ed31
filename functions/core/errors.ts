/**
 * The one HTTP error: a 4xx is the caller's fault and carries a stable code and a message a person
 * can act on. Anything that is not an HttpError is a bug and renders as 500 internal_error.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  readonly headers?: Record<string, string>;

  constructor(status: number, code: string, message: string, options: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function renderError(err: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof HttpError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details !== undefined) body.error.details = err.details;
    return { status: err.status, body, headers: err.headers ?? {} };
  }
  return { status: 500, body: { error: { code: 'internal_error', message: 'Internal error: the server failed to handle the request' } }, headers: {} };
}

export const badRequest = (message: string, code = 'bad_request', details?: unknown) => new HttpError(400, code, message, { details });
export const unauthorized = (message = 'Authentication required: send Authorization: Bearer <token>') =>
  new HttpError(401, 'unauthorized', message);
export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const conflict = (message: string, code = 'conflict') => new HttpError(409, code, message);
export const payloadTooLarge = (message: string) => new HttpError(413, 'payload_too_large', message);
