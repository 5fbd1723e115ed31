// One-off containers. Recorded here, run by runners through jobs (payloads kept minimal):
//   'run'    { containerId }                          — place and start it (row holds image, spec, ports)
//   'stop'   { containerId, signal, graceSeconds }    — SIGTERM then SIGKILL after the grace; kill sends SIGKILL
//   'remove' { containerId }                          — free its rootfs and ports on the runner it ran on
//   'exec'   { containerId, command, env, user, workdir } — see container-exec.ts
// Jobs for a placed container carry its runner id, so only that runner claims them.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { findAppFor } from '../../db/queries/apps';
import {
  cancelQueuedRun,
  createContainer,
  enqueueContainerJob,
  findContainerFor,
  listContainersFor,
  markContainerRemoved,
  setContainerStatus,
} from '../../db/queries/containers';
import type { Container } from '../../db/schema';
import { requireAuthByMethod, type AuthEnv } from '../auth';
import { conflict, notFound } from '../core/errors';
import { idempotent } from './idempotency';
import { normaliseImageReference } from './image-ref';
import { followLogs, logText, SSE_HEADERS, wantsEvents } from './log-stream';
import { PageQuery, pageSchema, parseCursor, toPage } from './pagination';
import { errors, idempotencyHeader, json, Name, security } from './schemas';

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ACTIVE = new Set(['created', 'starting', 'running', 'restarting', 'stopping']);
const ENDED = new Set(['exited', 'dead', 'removed']);

const PortMapping = z
  .object({
    containerPort: z.number().int().min(1, 'must be 1 to 65535').max(65535, 'must be 1 to 65535'),
    hostPort: z.number().int().min(1, 'must be 1 to 65535').max(65535, 'must be 1 to 65535').optional().openapi({ description: 'An ephemeral port when omitted.' }),
    hostIp: z.string().max(45).optional(),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
  })
  .openapi('PortMapping');
const CreateContainer = z
  .object({
    image: z.string().min(1, 'must not be empty').max(512).openapi({ example: 'debian:bookworm' }),
    name: Name.optional().openapi({ description: 'Unique among your containers; generated when omitted.' }),
    command: z.array(z.string().max(65536)).max(1024).optional(),
    entrypoint: z.array(z.string().max(65536)).max(1024).optional(),
    env: z.record(z.string().regex(ENV_NAME, 'environment variable names are letters, digits and _, not starting with a digit'), z.string().max(32768)).default({}),
    workdir: z.string().startsWith('/', 'must be an absolute path').max(4096).optional(),
    user: z.string().max(256).optional(),
    ports: z.array(PortMapping).max(50, 'at most 50 ports').default([]),
    removeOnExit: z.boolean().default(false),
    memoryMb: z.number().int().min(16).max(262144).optional(),
    cpus: z.number().min(0.1).max(64).optional(),
    app: Name.optional().openapi({ description: 'Run with this app’s image visibility and account.' }),
  })
  .strict()
  .openapi('CreateContainer');
const ContainerSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    image: z.string(),
    status: z.enum(['created', 'starting', 'running', 'restarting', 'stopping', 'exited', 'dead', 'removed']),
    command: z.array(z.string()).nullable(),
    ports: z.array(z.record(z.string(), z.unknown())),
    removeOnExit: z.boolean(),
    exitCode: z.number().nullable(),
    exitReason: z.string().nullable(),
    runnerId: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Container');
export const IdParam = z.object({ id: z.string().max(100).openapi({ param: { name: 'id', in: 'path' }, description: 'The container id (64 hex) or name.' }) });

function renderContainer(c: Container): z.infer<typeof ContainerSchema> {
  const spec = c.spec as { cmd?: string[] };
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: c.id,
    name: c.name,
    image: c.imageRef,
    status: c.status,
    command: spec.cmd ?? null,
    ports: c.ports as Record<string, unknown>[],
    removeOnExit: c.autoRemove,
    exitCode: c.exitCode,
    exitReason: c.exitReason,
    runnerId: c.runnerId,
    createdAt: c.createdAt.toISOString(),
    startedAt: iso(c.startedAt),
    finishedAt: iso(c.finishedAt),
  };
}

export async function requireContainer(c: Context<AuthEnv>, id: string): Promise<Container> {
  const found = await findContainerFor(c.var.platform.db, c.var.actingAccountIds, id);
  if (!found) throw notFound(`Container "${id}" not found: list yours with GET /api/v1/containers?all=true`);
  return found;
}

/** Stops a container: a run still queued is cancelled outright; a placed one gets a 'stop' job. */
async function stopContainer(c: Context<AuthEnv>, ctr: Container, signal: 'SIGTERM' | 'SIGKILL', graceSeconds: number): Promise<Container> {
  const db = c.var.platform.db;
  if (!ctr.runnerId && (await cancelQueuedRun(db, ctr.id))) return setContainerStatus(db, ctr.id, 'exited', { exitReason: 'stopped before it started', finishedAt: new Date() });
  await enqueueContainerJob(db, ctr, 'stop', { signal, graceSeconds });
  return ctr.status === 'running' ? setContainerStatus(db, ctr.id, 'stopping') : ctr;
}

export const containersApi = new OpenAPIHono<AuthEnv>();
containersApi.use(requireAuthByMethod());

containersApi.openapi(
  createRoute({
    method: 'post',
    path: '/',
    tags: ['containers'],
    summary: 'Run a one-off container',
    security,
    middleware: [idempotent()] as const,
    request: { headers: idempotencyHeader, body: { required: true, content: { 'application/json': { schema: CreateContainer } } } },
    responses: { 201: json(ContainerSchema, 'Created; a runner starts it.'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409], 422: errors[422] },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const db = c.var.platform.db;
    let accountId = c.var.account.id;
    let appId: string | null = null;
    if (body.app) {
      const app = await findAppFor(db, c.var.actingAccountIds, body.app);
      if (!app) throw notFound(`App "${body.app}" not found: check the name with GET /api/v1/apps`);
      accountId = app.accountId;
      appId = app.id;
    }
    const name = body.name ?? `run-${crypto.randomUUID().slice(0, 8)}`;
    const ctr = await createContainer(db, {
      accountId,
      appId,
      name,
      imageRef: normaliseImageReference(body.image),
      spec: { cmd: body.command, entrypoint: body.entrypoint, env: body.env, workdir: body.workdir, user: body.user, memoryMb: body.memoryMb, cpus: body.cpus },
      ports: body.ports.map((p) => ({ hostIp: p.hostIp ?? '0.0.0.0', hostPort: p.hostPort ?? null, containerPort: p.containerPort, protocol: p.protocol })),
      restartPolicy: 'no',
      autoRemove: body.removeOnExit,
    });
    if (!ctr) throw conflict(`Cannot create container "${name}": you already have a container of that name; remove it or choose another`, 'name_taken');
    return c.json(renderContainer(ctr), 201);
  },
);

containersApi.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags: ['containers'],
    summary: 'List your containers, newest first',
    security,
    request: { query: PageQuery.extend({ all: z.enum(['true', 'false']).default('false').openapi({ description: 'Include exited ones.' }) }) },
    responses: { 200: json(pageSchema(ContainerSchema, 'ContainerPage'), 'A page of containers.'), 400: errors[400], 401: errors[401] },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const rows = await listContainersFor(c.var.platform.db, c.var.actingAccountIds, { limit: q.limit + 1, cursorId: parseCursor(q.cursor), all: q.all === 'true' });
    return c.json(toPage(rows, q.limit, renderContainer), 200);
  },
);

containersApi.openapi(
  createRoute({ method: 'get', path: '/{id}', tags: ['containers'], summary: 'Get a container', security, request: { params: IdParam }, responses: { 200: json(ContainerSchema, 'The container.'), 401: errors[401], 404: errors[404] } }),
  async (c) => c.json(renderContainer(await requireContainer(c, c.req.valid('param').id)), 200),
);

containersApi.openapi(
  createRoute({
    method: 'post',
    path: '/{id}/stop',
    tags: ['containers'],
    summary: 'Stop a container: SIGTERM, then SIGKILL after the grace period',
    security,
    request: { params: IdParam, query: z.object({ graceSeconds: z.coerce.number().int().min(0).max(3600).default(10) }) },
    responses: { 202: json(ContainerSchema, 'Stopping.'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409] },
  }),
  async (c) => {
    const ctr = await requireContainer(c, c.req.valid('param').id);
    if (!ACTIVE.has(ctr.status)) throw conflict(`Cannot stop container "${ctr.name}": it is ${ctr.status}`, 'container_not_running');
    return c.json(renderContainer(await stopContainer(c, ctr, 'SIGTERM', c.req.valid('query').graceSeconds)), 202);
  },
);

containersApi.openapi(
  createRoute({
    method: 'post',
    path: '/{id}/kill',
    tags: ['containers'],
    summary: 'Kill a container at once (SIGKILL)',
    security,
    request: { params: IdParam },
    responses: { 202: json(ContainerSchema, 'Being killed.'), 401: errors[401], 404: errors[404], 409: errors[409] },
  }),
  async (c) => {
    const ctr = await requireContainer(c, c.req.valid('param').id);
    if (!ACTIVE.has(ctr.status)) throw conflict(`Cannot kill container "${ctr.name}": it is ${ctr.status}`, 'container_not_running');
    return c.json(renderContainer(await stopContainer(c, ctr, 'SIGKILL', 0)), 202);
  },
);

containersApi.openapi(
  createRoute({
    method: 'delete',
    path: '/{id}',
    tags: ['containers'],
    summary: 'Remove a container',
    description: 'A running container is refused with 409 unless `force=true`, which kills it first.',
    security,
    request: { params: IdParam, query: z.object({ force: z.enum(['true', 'false']).default('false') }) },
    responses: { 204: { description: 'Removed.' }, 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409] },
  }),
  async (c) => {
    const db = c.var.platform.db;
    let ctr = await requireContainer(c, c.req.valid('param').id);
    if (ACTIVE.has(ctr.status)) {
      if (c.req.valid('query').force !== 'true') throw conflict(`Cannot remove container "${ctr.name}": it is ${ctr.status}; stop it first or pass force=true`, 'container_running');
      ctr = await stopContainer(c, ctr, 'SIGKILL', 0);
    }
    if (ctr.runnerId) await enqueueContainerJob(db, ctr, 'remove', {});
    // The name is free again at once; the runner cleans up behind.
    await markContainerRemoved(db, ctr.id);
    return c.body(null, 204);
  },
);

containersApi.openapi(
  createRoute({
    method: 'get',
    path: '/{id}/logs',
    tags: ['containers'],
    summary: "A container's output",
    description: 'text/plain so far, or Server-Sent Events (`Accept: text/event-stream` or `?follow=true`) following it until it ends, then an `end` event with its exit code.',
    security,
    request: {
      params: IdParam,
      query: z.object({ follow: z.enum(['true', 'false', '1', '0']).optional() }),
      headers: z.object({ 'last-event-id': z.string().regex(/^\d{0,18}$/, 'must be a log line id').optional() }),
    },
    responses: { 200: { description: 'The output.', content: { 'text/plain': { schema: z.string() }, 'text/event-stream': { schema: z.string() } } }, 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const ctr = await requireContainer(c, c.req.valid('param').id);
    const db = c.var.platform.db;
    const subject = { kind: 'container' as const, id: ctr.id };
    if (!wantsEvents(c.req.header('accept'), c.req.valid('query').follow)) return new Response(logText(db, subject), { headers: { 'content-type': 'text/plain; charset=utf-8' } });
    const ids = c.var.actingAccountIds;
    const stream = followLogs(db, subject, {
      afterId: Number(c.req.valid('header')['last-event-id'] || 0),
      checkEnded: async () => {
        const now = await findContainerFor(db, ids, ctr.id);
        if (now && !ENDED.has(now.status)) return undefined;
        return { status: now?.status ?? 'removed', exitCode: now?.exitCode ?? null, exitReason: now?.exitReason ?? null };
      },
    });
    return new Response(stream, { headers: SSE_HEADERS });
  },
);
