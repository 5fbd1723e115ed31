// Runners, for administrators: see the pool, and drain one (it finishes its jobs and claims no more).
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { listRunners, setRunnerStatus } from '../../db/queries/runners';
import type { Runner } from '../../db/schema';
import { requireAuth, type AuthEnv } from '../auth';
import { notFound } from '../core/errors';
import { errors, json, security } from './schemas';

const RunnerSchema = z
  .object({
    id: z.string(),
    hostname: z.string(),
    address: z.string(),
    status: z.enum(['active', 'draining', 'stopped', 'dead']),
    capacity: z.record(z.string(), z.unknown()),
    labels: z.record(z.string(), z.unknown()),
    version: z.string().nullable(),
    heartbeatAt: z.string(),
    startedAt: z.string(),
  })
  .openapi('Runner');

function renderRunner(r: Runner): z.infer<typeof RunnerSchema> {
  return {
    id: r.id,
    hostname: r.hostname,
    address: r.address,
    status: r.status,
    capacity: r.capacity as Record<string, unknown>,
    labels: r.labels as Record<string, unknown>,
    version: r.version,
    heartbeatAt: r.heartbeatAt.toISOString(),
    startedAt: r.startedAt.toISOString(),
  };
}

export const runnersApi = new OpenAPIHono<AuthEnv>();
runnersApi.use(requireAuth('admin'));

runnersApi.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags: ['runners'],
    summary: 'List runners (admin)',
    security,
    responses: { 200: json(z.object({ items: z.array(RunnerSchema) }).openapi('RunnerList'), 'Every runner.'), 401: errors[401], 403: errors[403] },
  }),
  async (c) => c.json({ items: (await listRunners(c.var.platform.db)).map(renderRunner) }, 200),
);

runnersApi.openapi(
  createRoute({
    method: 'post',
    path: '/{id}/drain',
    tags: ['runners'],
    summary: 'Drain a runner (admin)',
    description: 'The runner finishes the jobs it holds and claims no new ones.',
    security,
    request: { params: z.object({ id: z.string().max(200).openapi({ param: { name: 'id', in: 'path' } }) }) },
    responses: { 200: json(RunnerSchema, 'The runner, draining.'), 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.platform.db;
    if (!(await listRunners(db)).some((r) => r.id === id)) throw notFound(`Runner "${id}" not found`);
    await setRunnerStatus(db, id, 'draining');
    const r = (await listRunners(db)).find((x) => x.id === id)!;
    return c.json(renderRunner(r), 200);
  },
);
