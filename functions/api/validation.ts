// Turns a failed zod validation into the one error shape, naming each field and what it must be.
import type { Context } from 'hono';
import type { z } from 'zod';
import { HttpError } from '../core/errors';

export function describeIssues(target: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      const where = i.path.length > 0 ? i.path.join('.') : target;
      return `${where}: ${i.message}`;
    })
    .join('; ');
}

/** The default hook of every OpenAPI route: a 400 `validation_failed` listing what to fix. */
export function rejectInvalid(result: { success: boolean; error?: z.ZodError; target?: string }, _c: Context): void {
  if (result.success || !result.error) return;
  const target = result.target ?? 'request';
  const what = target === 'json' ? 'body' : target === 'param' ? 'path' : target;
  throw new HttpError(400, 'validation_failed', `Invalid request ${what}: ${describeIssues(what, result.error.issues)}`, {
    details: result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
  });
}
