// Deployments of an app, from a build or an image reference. Recorded here, carried out by a runner:
// each creates a deployments row (the app's configuration frozen into it) and a job of kind 'deploy'
// with payload { deploymentId }. The runner moves the status pending → deploying → active | failed,
// marks the one it replaces superseded, and sets apps.current_deployment_id.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { findBuildFor } from '../../db/queries/build-listing';
import { createDeployment, findDeployment, findRollbackTarget, listDeployments } from '../../db/queries/deployments';
import type { Deployment } from '../../db/schema';
import { requireAuthByMethod, type AuthEnv } from '../auth';
import { conflict, notFound } from '../core/errors';
import type { Platform } from '../platform';
import { pullableImageRef } from './app-address';
import { readAppConfig } from './app-config';
import { requireApp } from './apps';
import { idempotent } from './idempotency';
import { normaliseImageReference } from './image-ref';
import { PageQuery, pageSchema, parseCursor, toPage } from './pagination';
import { errors, idempotencyHeader, json, Name, security } from './schemas';

const DeploymentSchema = z
  .object({
    id: z.string(),
    number: z.number(),
    status: z.enum(['pending', 'deploying', 'active', 'failed', 'superseded', 'rolled_back']),
    buildId: z.string().nullable(),
    imageRef: z.string(),
    digest: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Deployment');
const CreateDeployment = z
  .object({
    buildId: z.string().max(100).optional().openapi({ description: 'A succeeded build of this app.' }),
    image: z.string().max(512).optional().openapi({ description: 'An image reference, e.g. nginx:1.27 or 127.0.0.1:8080/alice/web@sha256:…', example: 'nginx:1.27' }),
  })
  .strict()
  .refine((b) => (b.buildId === undefined) !== (b.image === undefined), { message: 'give exactly one of "buildId" or "image"' })
  .openapi('CreateDeployment');
const AppParam = z.object({ app: Name.openapi({ param: { name: 'app', in: 'path' }, example: 'web' }) });

function renderDeployment(d: Deployment, platform: Pick<Platform, 'publicUrl'>): z.infer<typeof DeploymentSchema> {
  return {
    id: d.id,
    number: d.number,
    status: d.status,
    buildId: d.buildId,
    imageRef: pullableImageRef(platform, d.imageRef)!,
    digest: d.manifestDigest,
    error: d.error,
    createdAt: d.createdAt.toISOString(),
    finishedAt: d.finishedAt ? d.finishedAt.toISOString() : null,
  };
}

export const deploymentsApi = new OpenAPIHono<AuthEnv>();
deploymentsApi.use(requireAuthByMethod());

deploymentsApi.openapi(
  createRoute({
    method: 'post',
    path: '/{app}/deployments',
    tags: ['deployments'],
    summary: 'Deploy a build or an image',
    security,
    middleware: [idempotent()] as const,
    request: { params: AppParam, headers: idempotencyHeader, body: { required: true, content: { 'application/json': { schema: CreateDeployment } } } },
    responses: { 201: json(DeploymentSchema, 'The deployment, pending until a runner takes it.'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409], 422: errors[422] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    const body = c.req.valid('json');
    const db = c.var.platform.db;
    let imageRef: string;
    let digest: string | null = null;
    let buildId: string | null = null;
    if (body.buildId) {
      const b = await findBuildFor(db, c.var.actingAccountIds, body.buildId);
      if (!b || b.appId !== app.id) throw notFound(`Build "${body.buildId}" not found among the builds of app "${app.name}"`);
      if (b.status !== 'succeeded' || !b.imageRef) throw conflict(`Cannot deploy build "${b.id}": it is ${b.status}, and only a succeeded build has an image`, 'build_not_succeeded');
      imageRef = b.imageRef;
      digest = b.manifestDigest;
      buildId = b.id;
    } else {
      imageRef = normaliseImageReference(body.image!);
      digest = imageRef.includes('@') ? imageRef.slice(imageRef.indexOf('@') + 1) : null;
    }
    const d = await createDeployment(db, { appId: app.id, buildId, imageRef, manifestDigest: digest, config: readAppConfig(app.config) });
    return c.json(renderDeployment(d, c.var.platform), 201);
  },
);

deploymentsApi.openapi(
  createRoute({
    method: 'get',
    path: '/{app}/deployments',
    tags: ['deployments'],
    summary: "List an app's deployments, newest first",
    security,
    request: { params: AppParam, query: PageQuery },
    responses: { 200: json(pageSchema(DeploymentSchema, 'DeploymentPage'), 'A page of deployments.'), 400: errors[400], 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    const q = c.req.valid('query');
    const rows = await listDeployments(c.var.platform.db, app.id, { limit: q.limit + 1, cursorId: parseCursor(q.cursor) });
    return c.json(toPage(rows, q.limit, (d) => renderDeployment(d, c.var.platform)), 200);
  },
);

deploymentsApi.openapi(
  createRoute({
    method: 'get',
    path: '/{app}/deployments/{id}',
    tags: ['deployments'],
    summary: 'Get a deployment',
    security,
    request: { params: AppParam.extend({ id: z.string().max(100).openapi({ param: { name: 'id', in: 'path' } }) }) },
    responses: { 200: json(DeploymentSchema, 'The deployment.'), 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const { app: name, id } = c.req.valid('param');
    const app = await requireApp(c, name);
    const d = await findDeployment(c.var.platform.db, app.id, id);
    if (!d) throw notFound(`Deployment "${id}" not found in app "${name}"`);
    return c.json(renderDeployment(d, c.var.platform), 200);
  },
);

deploymentsApi.openapi(
  createRoute({
    method: 'post',
    path: '/{app}/rollback',
    tags: ['deployments'],
    summary: 'Roll back to an earlier deployment',
    description: 'Deploys again the image and configuration of `deploymentId`, or of the newest earlier deployment that went live when omitted.',
    security,
    middleware: [idempotent()] as const,
    request: {
      params: AppParam,
      headers: idempotencyHeader,
      body: { required: false, content: { 'application/json': { schema: z.object({ deploymentId: z.string().max(100).optional() }).strict().openapi('Rollback') } } },
    },
    responses: { 201: json(DeploymentSchema, 'The new deployment.'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409] },
  }),
  async (c) => {
    const app = await requireApp(c, c.req.valid('param').app);
    const db = c.var.platform.db;
    const wanted = (c.req.header('content-type') ?? '').includes('json') ? c.req.valid('json').deploymentId : undefined;
    const target = wanted ? await findDeployment(db, app.id, wanted) : await findRollbackTarget(db, app.id, app.currentDeploymentId);
    if (!target) {
      throw wanted ? notFound(`Deployment "${wanted}" not found in app "${app.name}"`) : conflict(`Cannot roll back app "${app.name}": it has no earlier deployment that went live`, 'nothing_to_roll_back');
    }
    const d = await createDeployment(db, { appId: app.id, buildId: target.buildId, imageRef: target.imageRef, manifestDigest: target.manifestDigest, config: target.config });
    return c.json(renderDeployment(d, c.var.platform), 201);
  },
);
