// Docker's error shape is {"message": "..."}; the CLI prints the message as is.
import { HttpError } from '../core/errors';

export function dockerError(status: number, message: string): HttpError {
  return new HttpError(status, 'docker', message);
}

export function renderDockerError(err: unknown): { status: number; body: { message: string } } {
  if (err instanceof HttpError) return { status: err.status, body: { message: err.message } };
  return { status: 500, body: { message: 'Internal error: Berth failed to handle the request' } };
}
