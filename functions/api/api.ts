// /api/v1: every resource, one OpenAPI 3.1 document generated from the route schemas.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { AuthEnv } from '../auth';
import { payloadTooLarge } from '../core/errors';
import { account } from './account';
import { apps } from './apps';
import { builds } from './builds';
import { containerExec } from './container-exec';
import { containersApi } from './containers';
import { deploymentsApi } from './deployments';
import { images } from './images';
import { runnersApi } from './runners';
import { renderDocsPage } from './docs-page';
import { DEFAULT_JSON_BYTES } from './limits';
import { addOperationIds } from './operation-ids';
import { users } from './users';
import { rejectInvalid } from './validation';

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Berth API',
    version: '1',
    description:
      'Build Dockerfiles into OCI images and run them. Authenticate with `Authorization: Bearer <token>`; errors are `{ "error": { "code", "message" } }` with a stable code; lists are cursor-paginated (`limit`, `cursor` → `nextCursor`); creating POSTs accept `Idempotency-Key`.\n\nError codes: `validation_failed`, `invalid_json`, `invalid_cursor`, `invalid_multipart`, `invalid_path`, `invalid_image_reference`, `invalid_idempotency_key`, `field_too_large`, `dockerfile_missing` (400); `unauthorized` (401); `insufficient_scope`, `csrf_failed`, `forbidden` (403); `not_found` (404); `name_taken`, `build_finished`, `build_not_succeeded`, `container_not_running`, `container_running`, `nothing_to_roll_back`, `idempotency_in_progress` (409); `payload_too_large` (413); `unsupported_media_type`, `unsupported_context` (415); `idempotency_key_reused` (422); `internal_error` (500).',
  },
  servers: [{ url: '/api/v1' }],
};

/** JSON bodies are small; an upload route reads its own body under its own limit. */
function limitJsonBodies() {
  const limit = bodyLimit({
    maxSize: DEFAULT_JSON_BYTES,
    onError: () => {
      throw payloadTooLarge(`Request refused: a JSON body may be at most ${DEFAULT_JSON_BYTES} bytes`);
    },
  });
  return (c: Parameters<typeof limit>[0], next: Parameters<typeof limit>[1]) =>
    (c.req.header('content-type') ?? '').startsWith('multipart/form-data') ? next() : limit(c, next);
}

export function createApi(): OpenAPIHono<AuthEnv> {
  const api = new OpenAPIHono<AuthEnv>({ defaultHook: rejectInvalid });
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'An API token (berth_…).' });
  api.openAPIRegistry.registerComponent('securitySchemes', 'session', { type: 'apiKey', in: 'cookie', name: 'berth_session', description: 'The web session; unsafe methods also need X-CSRF-Token.' });
  api.use(limitJsonBodies());
  api.route('/account', account);
  api.route('/users', users);
  api.route('/apps', apps);
  api.route('/', builds);
  api.route('/apps', deploymentsApi);
  api.route('/images', images);
  api.route('/containers', containersApi);
  api.route('/containers', containerExec);
  api.route('/runners', runnersApi);
  const document = () => addOperationIds(api.getOpenAPI31Document(OPENAPI_INFO));
  api.get('/openapi.json', (c) => c.json(document()));
  api.get('/docs', (c) => c.html(renderDocsPage(document() as unknown as Parameters<typeof renderDocsPage>[0])));
  return api;
}
