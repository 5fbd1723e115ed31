// Builds: created under an app (the image goes to <registry>/<owner>/<app>:latest), then read,
// listed, cancelled and followed by anyone who may see the app. The Builder runs them: a build is a
// builds row plus a queued job of kind 'build' with payload { buildId } (db/queries/builds.ts).
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { cancelBuild, createBuild } from '../../db/queries/builds';
import { findBuildFor, listBuildsFor, type BuildWithApp } from '../../db/queries/build-listing';
import { requireAuthByMethod, type AuthEnv } from '../auth';
import { badRequest, HttpError, notFound } from '../core/errors';
import type { Platform } from '../platform';
import { pullableImageRef, registryHost } from './app-address';
import { requireApp } from './apps';
import { JsonBuildSchema, readMultipartBuild, type BuildUpload } from './build-upload';
import { idempotent } from './idempotency';
import { followLogs, logText, SSE_HEADERS, wantsEvents } from './log-stream';
import { PageQuery, pageSchema, parseCursor, toPage } from './pagination';
import { errors, json, Name, security } from './schemas';
import { describeIssues } from './validation';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export const BuildSchema = z
  .object({
    id: z.string(),
    app: z.string().nullable(),
    status: z.enum(STATUSES),
    source: z.string(),
    imageRef: z.string().nullable().openapi({ description: 'Set once the build succeeded.' }),
    digest: z.string().nullable().openapi({ description: 'The image manifest digest.' }),
    tags: z.array(z.string()),
    error: z.string().nullable(),
    contextDigest: z.string().nullable(),
    dockerfilePath: z.string(),
    target: z.string().nullable(),
    noCache: z.boolean(),
    buildArgs: z.record(z.string(), z.string()),
    deployOnSuccess: z.boolean(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Build');

export function renderBuild(b: BuildWithApp, platform: Pick<Platform, 'publicUrl'>): z.infer<typeof BuildSchema> {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: b.id,
    app: b.appName,
    status: b.status,
    source: b.source,
    imageRef: pullableImageRef(platform, b.imageRef),
    digest: b.manifestDigest,
    tags: b.tags,
    error: b.error,
    contextDigest: b.contextDigest,
    dockerfilePath: b.dockerfilePath,
    target: b.target,
    noCache: b.noCache,
    buildArgs: b.buildArgs as Record<string, string>,
    deployOnSuccess: b.deployOnSuccess,
    createdAt: b.createdAt.toISOString(),
    startedAt: iso(b.startedAt),
    finishedAt: iso(b.finishedAt),
  };
}

export async function requireBuild(c: Context<AuthEnv>, id: string): Promise<BuildWithApp> {
  const b = await findBuildFor(c.var.platform.db, c.var.actingAccountIds, id);
  if (!b) throw notFound(`Build "${id}" not found: list yours with GET /api/v1/builds`);
  return b;
}

const AppParam = z.object({ app: Name.openapi({ param: { name: 'app', in: 'path' }, example: 'web' }) });
const BuildParam = z.object({ id: z.string().max(100).openapi({ param: { name: 'id', in: 'path' }, example: 'bld_…' }) });
const ListQuery = PageQuery.extend({ status: z.enum(STATUSES).optional() });

export const builds = new OpenAPIHono<AuthEnv>();
// Mounted at the API's root: guard only this sub-app's own paths.
for (const path of ['/builds', '/builds/*', '/apps/*']) builds.use(path, requireAuthByMethod());

// Documented here, handled by a plain route below: the OpenAPI validator would read the whole
// multipart body into memory, and an upload must stream.
builds.openAPIRegistry.registerPath({
  method: 'post',
  path: '/apps/{app}/builds',
  tags: ['builds'],
  summary: 'Start a build',
  description:
    'multipart/form-data: a `dockerfile` part (file or text) and a `context` part (tar, tar.gz or zip), or the files of a folder as parts whose filenames are their relative paths (packed into a tar), or both; fields `buildArgs` (JSON object), `buildArg` (NAME=value, repeatable), `target`, `noCache`, `dockerfilePath`, `deploy`. Or application/json with the Dockerfile text alone. The upload streams to storage and is refused with 413 at the byte that crosses the size limit.',
  security,
  request: {
    params: AppParam,
    headers: z.object({ 'idempotency-key': z.string().optional() }),
    body: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: z.object({
            dockerfile: z.string().optional().openapi({ format: 'binary' }),
            context: z.string().optional().openapi({ format: 'binary' }),
            buildArgs: z.string().optional(),
            buildArg: z.array(z.string()).optional(),
            target: z.string().optional(),
            noCache: z.string().optional(),
            dockerfilePath: z.string().optional(),
            deploy: z.string().optional(),
          }),
        },
        'application/json': { schema: JsonBuildSchema },
      },
    },
  },
  responses: {
    202: json(BuildSchema, 'Queued; follow it at /api/v1/builds/{id}.'),
    400: errors[400],
    401: errors[401],
    404: errors[404],
    413: errors[413],
    415: { description: 'The context is not a tar, tar.gz or zip archive.', content: { 'application/json': { schema: errors[400].content['application/json'].schema } } },
    422: errors[422],
  },
});

builds.post('/apps/:app/builds', idempotent(), async (c) => {
  const name = c.req.param('app');
  const app = await requireApp(c, name);
  const type = c.req.header('content-type') ?? '';
  let upload: BuildUpload;
  if (type.startsWith('multipart/form-data')) {
    upload = await readMultipartBuild(c.var.platform, c.req.raw);
  } else if (type.startsWith('application/json')) {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw badRequest('Invalid JSON body: it does not parse', 'invalid_json');
    }
    const parsed = JsonBuildSchema.safeParse(raw);
    if (!parsed.success) throw badRequest(`Invalid request body: ${describeIssues('body', parsed.error.issues)}`, 'validation_failed');
    const { dockerfile, ...options } = parsed.data;
    upload = { options, dockerfile };
  } else {
    throw new HttpError(415, 'unsupported_media_type', `Unsupported Content-Type "${type}": send multipart/form-data or application/json`);
  }
  const tag = `${registryHost(c.var.platform)}/${app.owner}/${app.name}:latest`;
  const build = await createBuild(c.var.platform.db, {
    accountId: app.accountId,
    appId: app.id,
    source: c.var.session ? 'form' : 'api',
    contextDigest: upload.context?.digest ?? null,
    contextMediaType: upload.context?.mediaType ?? null,
    dockerfilePath: upload.options.dockerfilePath,
    dockerfile: upload.dockerfile ?? null,
    buildArgs: upload.options.buildArgs,
    target: upload.options.target ?? null,
    noCache: upload.options.noCache,
    tags: [tag],
    deployOnSuccess: upload.options.deploy,
  });
  c.header('location', `/api/v1/builds/${build.id}`);
  return c.json(renderBuild({ ...build, appName: app.name }, c.var.platform), 202);
});

builds.openapi(
  createRoute({
    method: 'get',
    path: '/builds',
    tags: ['builds'],
    summary: 'List your builds, newest first',
    security,
    request: { query: ListQuery },
    responses: { 200: json(pageSchema(BuildSchema, 'BuildPage'), 'A page of builds.'), 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const rows = await listBuildsFor(c.var.platform.db, c.var.actingAccountIds, { status: q.status, limit: q.limit + 1, cursorId: parseCursor(q.cursor) });
    return c.json(toPage(rows, q.limit, (b) => renderBuild(b, c.var.platform)), 200);
  },
);

builds.openapi(
  createRoute({
    method: 'get',
    path: '/apps/{app}/builds',
    tags: ['builds'],
    summary: "List an app's builds, newest first",
    security,
    request: { params: AppParam, query: ListQuery },
    responses: { 200: json(pageSchema(BuildSchema, 'BuildPage'), 'A page of builds.'), 400: errors[400], 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    const q = c.req.valid('query');
    const rows = await listBuildsFor(c.var.platform.db, c.var.actingAccountIds, { appId: app.id, status: q.status, limit: q.limit + 1, cursorId: parseCursor(q.cursor) });
    return c.json(toPage(rows, q.limit, (b) => renderBuild(b, c.var.platform)), 200);
  },
);

builds.openapi(
  createRoute({
    method: 'get',
    path: '/builds/{id}',
    tags: ['builds'],
    summary: 'Get a build: status, image reference and digest',
    security,
    request: { params: BuildParam },
    responses: { 200: json(BuildSchema, 'The build.'), 401: errors[401], 404: errors[404] },
  }),
  async (c) => c.json(renderBuild(await requireBuild(c, c.req.valid('param').id), c.var.platform), 200),
);

builds.openapi(
  createRoute({
    method: 'post',
    path: '/builds/{id}/cancel',
    tags: ['builds'],
    summary: 'Cancel a build',
    description: 'A queued build is cancelled at once; a running one is stopped by its runner, which then marks it cancelled.',
    security,
    request: { params: BuildParam },
    responses: { 202: json(BuildSchema, 'The build as it is now.'), 401: errors[401], 404: errors[404], 409: errors[409] },
  }),
  async (c) => {
    const b = await requireBuild(c, c.req.valid('param').id);
    if (TERMINAL.has(b.status)) throw new HttpError(409, 'build_finished', `Cannot cancel build "${b.id}": it has already ${b.status === 'cancelled' ? 'been cancelled' : b.status}`);
    const after = await cancelBuild(c.var.platform.db, b.id);
    return c.json(renderBuild({ ...(after ?? b), appName: b.appName }, c.var.platform), 202);
  },
);

builds.openapi(
  createRoute({
    method: 'get',
    path: '/builds/{id}/logs',
    tags: ['builds'],
    summary: "A build's log",
    description:
      'text/plain: the lines so far. With `Accept: text/event-stream` (what EventSource sends) or `?follow=true`: Server-Sent Events — `log` events ({stream, line, at}, id = line id) until the build ends, then one `end` event with its status, image reference and digest. Resumes after `Last-Event-ID`.',
    security,
    request: {
      params: BuildParam,
      query: z.object({ follow: z.enum(['true', 'false', '1', '0']).optional() }),
      headers: z.object({ 'last-event-id': z.string().regex(/^\d{0,18}$/, 'must be a log line id').optional() }),
    },
    responses: {
      200: { description: 'The log.', content: { 'text/plain': { schema: z.string() }, 'text/event-stream': { schema: z.string() } } },
      401: errors[401],
      404: errors[404],
    },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const b = await requireBuild(c, id);
    const db = c.var.platform.db;
    const subject = { kind: 'build' as const, id: b.id };
    if (!wantsEvents(c.req.header('accept'), c.req.valid('query').follow)) {
      return new Response(logText(db, subject), { headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    const accountIds = c.var.actingAccountIds;
    const platform = c.var.platform;
    const stream = followLogs(db, subject, {
      afterId: Number(c.req.valid('header')['last-event-id'] || 0),
      checkEnded: async () => {
        const now = await findBuildFor(db, accountIds, id);
        if (!now || !TERMINAL.has(now.status)) return undefined;
        return { status: now.status, imageRef: pullableImageRef(platform, now.imageRef), digest: now.manifestDigest, error: now.error };
      },
    });
    return new Response(stream, { headers: SSE_HEADERS });
  },
);
