import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createAppRow, deleteAppRow, findAppFor, listAppsFor, listSecretNames, updateAppConfig, writeSecrets } from '../../db/queries/apps';
import { findAccountByName } from '../../db/queries/accounts';
import { cancelQueuedRun, enqueueContainerJob, listContainersOfApp, markContainerRemoved } from '../../db/queries/containers';
import { setRepositoryVisibility } from '../../db/queries/images';
import type { App } from '../../db/schema';
import { requireAuthByMethod, type AuthEnv } from '../auth';
import { conflict, notFound } from '../core/errors';
import type { Platform } from '../platform';
import { appAddress } from './app-address';
import { AppConfigPatchSchema, AppConfigSchema, readAppConfig } from './app-config';
import { idempotent } from './idempotency';
import { PageQuery, pageSchema, parseCursor, toPage } from './pagination';
import { errors, idempotencyHeader, json, Name, security } from './schemas';

export const AppSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string().openapi({ description: 'The account (user or organisation) that owns the app.' }),
    address: z.string().openapi({ example: 'http://web.localhost:8080' }),
    config: AppConfigSchema,
    currentDeploymentId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('App');

export function renderApp(platform: Platform, a: App & { owner: string }): z.infer<typeof AppSchema> {
  return {
    id: a.id,
    name: a.name,
    owner: a.owner,
    address: appAddress(platform, a.name),
    config: readAppConfig(a.config),
    currentDeploymentId: a.currentDeploymentId,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

/** The caller's app by name, or 404 — also when it exists but belongs to someone else. */
export async function requireApp(c: Context<AuthEnv>, name: string): Promise<App & { owner: string }> {
  const app = await findAppFor(c.var.platform.db, c.var.actingAccountIds, name);
  if (!app) throw notFound(`App "${name}" not found: check the name with GET /api/v1/apps`);
  return app;
}

const AppParam = z.object({ app: Name.openapi({ param: { name: 'app', in: 'path' }, example: 'web' }) });
const CreateApp = z
  .object({
    name: Name.openapi({ example: 'web' }),
    owner: Name.optional().openapi({ description: 'An organisation you belong to; yourself when omitted.' }),
    config: AppConfigSchema.optional(),
  })
  .strict()
  .openapi('CreateApp');
const SecretsBody = z
  .object({
    secrets: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'secret names are letters, digits and _, not starting with a digit'), z.string().max(32768).nullable())
      .refine((s) => Object.keys(s).length > 0 && Object.keys(s).length <= 100, 'give 1 to 100 secrets'),
  })
  .openapi('SecretsUpdate');
const SecretList = z.object({ items: z.array(z.object({ name: z.string(), updatedAt: z.string() })) }).openapi('SecretList');

export const apps = new OpenAPIHono<AuthEnv>();

apps.use(requireAuthByMethod());

apps.openapi(
  createRoute({
    method: 'post',
    path: '/',
    tags: ['apps'],
    summary: 'Create an app',
    security,
    middleware: [idempotent()] as const,
    request: { headers: idempotencyHeader, body: { required: true, content: { 'application/json': { schema: CreateApp } } } },
    responses: { 201: json(AppSchema, 'The app.'), 400: errors[400], 401: errors[401], 409: errors[409], 422: errors[422] },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const db = c.var.platform.db;
    let accountId = c.var.account.id;
    if (body.owner && body.owner !== c.var.account.name) {
      const owner = await findAccountByName(db, body.owner);
      if (!owner || !c.var.actingAccountIds.includes(owner.id)) throw notFound(`Owner "${body.owner}" not found among the organisations you belong to`);
      accountId = owner.id;
    }
    const row = await createAppRow(db, { accountId, name: body.name, config: AppConfigSchema.parse(body.config ?? {}) });
    if (!row) throw conflict(`Cannot create app "${body.name}": the name is taken, choose another`, 'name_taken');
    const app = await requireApp(c, row.name);
    return c.json(renderApp(c.var.platform, app), 201);
  },
);

apps.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags: ['apps'],
    summary: 'List your apps, newest first',
    security,
    request: { query: PageQuery },
    responses: { 200: json(pageSchema(AppSchema, 'AppPage'), 'A page of apps.'), 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const rows = await listAppsFor(c.var.platform.db, c.var.actingAccountIds, { limit: q.limit + 1, cursorId: parseCursor(q.cursor) });
    return c.json(toPage(rows, q.limit, (a) => renderApp(c.var.platform, a)), 200);
  },
);

apps.openapi(
  createRoute({
    method: 'get',
    path: '/{app}',
    tags: ['apps'],
    summary: 'Get an app',
    security,
    request: { params: AppParam },
    responses: { 200: json(AppSchema, 'The app.'), 401: errors[401], 404: errors[404] },
  }),
  async (c) => c.json(renderApp(c.var.platform, await requireApp(c, c.req.valid('param').app)), 200),
);

apps.openapi(
  createRoute({
    method: 'delete',
    path: '/{app}',
    tags: ['apps'],
    summary: 'Delete an app',
    description: 'Its containers are stopped and removed; its builds stay (without the app); its deployments, secrets and git refs go with it.',
    security,
    request: { params: AppParam },
    responses: { 204: { description: 'Deleted.' }, 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    const db = c.var.platform.db;
    // Its containers would outlive it otherwise: stop and remove each ('stop' { remove: true }),
    // or, for one no runner has taken yet, cancel its run.
    for (const ctr of await listContainersOfApp(db, app.id)) {
      if (!ctr.runnerId && (await cancelQueuedRun(db, ctr.id))) await markContainerRemoved(db, ctr.id);
      else if (ctr.runnerId) await enqueueContainerJob(db, ctr, 'stop', { signal: 'SIGTERM', graceSeconds: 10, remove: true });
    }
    await deleteAppRow(db, app.id);
    return c.body(null, 204);
  },
);

apps.openapi(
  createRoute({
    method: 'get',
    path: '/{app}/config',
    tags: ['apps'],
    summary: "Get an app's configuration",
    security,
    request: { params: AppParam },
    responses: { 200: json(AppConfigSchema, 'The configuration, defaults filled in.'), 401: errors[401], 404: errors[404] },
  }),
  async (c) => c.json(readAppConfig((await requireApp(c, c.req.valid('param').app)).config), 200),
);

apps.openapi(
  createRoute({
    method: 'patch',
    path: '/{app}/config',
    tags: ['apps'],
    summary: "Change an app's configuration",
    description: 'Fields given replace the stored ones whole; the next deployment uses the result.',
    security,
    request: { params: AppParam, body: { required: true, content: { 'application/json': { schema: AppConfigPatchSchema } } } },
    responses: { 200: json(AppConfigSchema, 'The new configuration.'), 400: errors[400], 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    const patch = c.req.valid('json');
    const current = readAppConfig(app.config);
    const next = AppConfigSchema.parse({ ...current, ...patch, resources: { ...current.resources, ...(patch.resources ?? {}) } });
    await updateAppConfig(c.var.platform.db, app.id, next);
    // The registry serves a public repository to anyone: keep it in step with the app.
    if (patch.imageVisibility) await setRepositoryVisibility(c.var.platform.db, app.accountId, `${app.owner}/${app.name}`, patch.imageVisibility === 'public');
    return c.json(next, 200);
  },
);

apps.openapi(
  createRoute({
    method: 'get',
    path: '/{app}/secrets',
    tags: ['apps'],
    summary: "List an app's secret names",
    description: 'Secrets are write-only: their values are never returned.',
    security,
    request: { params: AppParam },
    responses: { 200: json(SecretList, 'Names and when each was last set.'), 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    const rows = await listSecretNames(c.var.platform.db, app.id);
    return c.json({ items: rows.map((r) => ({ name: r.name, updatedAt: r.updatedAt.toISOString() })) }, 200);
  },
);

apps.openapi(
  createRoute({
    method: 'patch',
    path: '/{app}/secrets',
    tags: ['apps'],
    summary: 'Set or delete secrets',
    description: 'A string sets a secret, null deletes it. Values are never returned.',
    security,
    request: { params: AppParam, body: { required: true, content: { 'application/json': { schema: SecretsBody } } } },
    responses: { 200: json(SecretList, 'The names after the change.'), 400: errors[400], 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    await writeSecrets(c.var.platform.db, app.id, c.req.valid('json').secrets);
    const rows = await listSecretNames(c.var.platform.db, app.id);
    return c.json({ items: rows.map((r) => ({ name: r.name, updatedAt: r.updatedAt.toISOString() })) }, 200);
  },
);
