// Schemas shared by several resources: the error shape, names, and the standard error responses.
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string().openapi({ example: 'not_found' }), message: z.string(), details: z.unknown().optional() }) })
  .openapi('Error');

const errorContent = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

export const errors = {
  400: errorContent('The request is invalid; the message names what to fix.'),
  401: errorContent('No valid token or session.'),
  403: errorContent('The token lacks the scope, or the CSRF token is missing.'),
  404: errorContent('No such resource among those the caller may see.'),
  409: errorContent('The request conflicts with the resource’s state.'),
  413: errorContent('The body exceeds its size limit.'),
  422: errorContent('The Idempotency-Key was used for another request.'),
} as const;

export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$/;

/** Names that become DNS labels and registry path segments. */
export const Name = z
  .string()
  .regex(NAME_PATTERN, 'must be 1 to 63 characters: lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen');

export const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

export const idempotencyHeader = z.object({
  'idempotency-key': z.string().optional().openapi({ description: 'Send the same key to retry a create safely: the first response is replayed.' }),
});

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
