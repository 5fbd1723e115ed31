// The distribution spec's error body, `{"errors":[{"code","message","detail"}]}`, and its codes.
// Only the registry speaks this format; the rest of Berth renders `{error:{code,message}}`.
import { HttpError } from '../core/errors';

export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'RANGE_INVALID'
  | 'TOOMANYREQUESTS';

/** An HttpError whose code is one of the spec's, rendered in the spec's shape by the registry. */
export class RegistryError extends HttpError {
  constructor(status: number, code: RegistryErrorCode, message: string, options: { detail?: unknown; headers?: Record<string, string> } = {}) {
    super(status, code, message, { details: options.detail, headers: options.headers });
    this.name = 'RegistryError';
  }
}

export function registryError(status: number, code: RegistryErrorCode, message: string, detail?: unknown, headers?: Record<string, string>): RegistryError {
  return new RegistryError(status, code, message, { detail, headers });
}

export interface RegistryErrorBody {
  errors: { code: string; message: string; detail?: unknown }[];
}

/** Any error as the spec's body. HttpErrors from shared code keep their status; the rest are 500s. */
export function renderRegistryError(err: unknown): { status: number; body: RegistryErrorBody; headers: Record<string, string> } {
  if (err instanceof HttpError) {
    const code = err instanceof RegistryError ? err.code : mapCode(err.status);
    const entry: RegistryErrorBody['errors'][number] = { code, message: err.message };
    if (err.details !== undefined) entry.detail = err.details;
    return { status: err.status, body: { errors: [entry] }, headers: err.headers ?? {} };
  }
  return { status: 500, body: { errors: [{ code: 'UNKNOWN', message: 'Internal error: the registry failed to handle the request' }] }, headers: {} };
}

function mapCode(status: number): string {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 413) return 'SIZE_INVALID';
  if (status === 429) return 'TOOMANYREQUESTS';
  return 'UNSUPPORTED';
}
